package nodeproxy

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// udpIdleTimeout ends a client's session after this long without traffic,
// like a conntrack entry expiring.
const udpIdleTimeout = 30 * time.Second

// udpListener relays datagrams: each client address gets a session bound to
// one backend, whose replies go back to that client from the node port.
type udpListener struct {
	p        *Proxy
	key      listenKey
	pc       net.PacketConn
	rr       picker
	mu       sync.Mutex
	sessions map[netip.AddrPort]*udpSession
	wg       sync.WaitGroup
	done     chan struct{}
}

type udpSession struct {
	backend netip.AddrPort
	conn    *net.UDPConn
	last    time.Time
}

func (p *Proxy) listenUDP(key listenKey, addr netip.AddrPort) (portListener, error) {
	pc, err := net.ListenPacket("udp", addr.String())
	if err != nil {
		return nil, err
	}
	l := &udpListener{p: p, key: key, pc: pc, sessions: map[netip.AddrPort]*udpSession{}, done: make(chan struct{})}
	l.wg.Add(2)
	go l.serve()
	go l.reap()
	return l, nil
}

func (l *udpListener) serve() {
	defer l.wg.Done()
	buf := make([]byte, 64*1024)
	for {
		n, from, err := l.pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		ua, ok := from.(*net.UDPAddr)
		if !ok {
			continue
		}
		s := l.session(ua.AddrPort())
		if s == nil {
			continue // no ready backend: drop, as kube-proxy would
		}
		_, _ = s.conn.Write(buf[:n])
	}
}

// session returns the client's session, opening one to a current backend.
// A session whose backend is no longer ready is replaced.
func (l *udpListener) session(client netip.AddrPort) *udpSession {
	backends := l.p.backends(l.key)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sessions == nil {
		return nil
	}
	if s := l.sessions[client]; s != nil {
		if slices.Contains(backends, s.backend) {
			s.last = time.Now()
			return s
		}
		_ = s.conn.Close()
		delete(l.sessions, client)
	}
	be, ok := l.rr.pick(backends)
	if !ok {
		return nil
	}
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(be))
	if err != nil {
		return nil
	}
	s := &udpSession{backend: be, conn: conn, last: time.Now()}
	l.sessions[client] = s
	l.wg.Add(1)
	go l.replies(client, s)
	return s
}

// replies relays the backend's datagrams back to the client until the session closes.
func (l *udpListener) replies(client netip.AddrPort, s *udpSession) {
	defer l.wg.Done()
	buf := make([]byte, 64*1024)
	to := net.UDPAddrFromAddrPort(client)
	for {
		n, err := s.conn.Read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. ICMP port unreachable from a stopped backend
		}
		_, _ = l.pc.WriteTo(buf[:n], to)
		l.mu.Lock()
		s.last = time.Now()
		l.mu.Unlock()
	}
}

func (l *udpListener) reap() {
	defer l.wg.Done()
	t := time.NewTicker(udpIdleTimeout / 3)
	defer t.Stop()
	for {
		select {
		case <-l.done:
			return
		case now := <-t.C:
			l.mu.Lock()
			for c, s := range l.sessions {
				if now.Sub(s.last) > udpIdleTimeout {
					_ = s.conn.Close()
					delete(l.sessions, c)
				}
			}
			l.mu.Unlock()
		}
	}
}

func (l *udpListener) close() {
	_ = l.pc.Close()
	close(l.done)
	l.mu.Lock()
	for _, s := range l.sessions {
		_ = s.conn.Close()
	}
	l.sessions = nil
	l.mu.Unlock()
	l.wg.Wait()
}
