package nodeproxy

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"
)

const dialTimeout = 3 * time.Second

// tcpListener forwards each accepted connection to one backend.
type tcpListener struct {
	p    *Proxy
	key  listenKey
	ln   net.Listener
	rr   picker
	mu   sync.Mutex
	conn map[net.Conn]struct{}
	wg   sync.WaitGroup
}

func (p *Proxy) listenTCP(key listenKey, addr netip.AddrPort) (portListener, error) {
	ln, err := net.Listen("tcp", addr.String())
	if err != nil {
		return nil, err
	}
	l := &tcpListener{p: p, key: key, ln: ln, conn: map[net.Conn]struct{}{}}
	l.wg.Add(1)
	go l.serve()
	return l, nil
}

func (l *tcpListener) serve() {
	defer l.wg.Done()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			l.forward(c)
		}()
	}
}

// forward connects c to a backend, trying each once, and copies both ways.
// With no backend the client gets a reset, as kube-proxy's reject rule gives.
func (l *tcpListener) forward(c net.Conn) {
	if !l.track(c) {
		return
	}
	defer l.untrack(c)
	backends := l.p.backends(l.key)
	var be net.Conn
	for range backends {
		addr, _ := l.rr.pick(backends)
		var err error
		be, err = net.DialTimeout("tcp", addr.String(), dialTimeout)
		if err == nil {
			break
		}
	}
	if be == nil {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		return
	}
	if !l.track(be) {
		return
	}
	defer l.untrack(be)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(be, c)
	go pipe(c, be)
	<-done
	<-done
}

// track registers a connection so close can end it; false once closing.
func (l *tcpListener) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		_ = c.Close()
		return false
	}
	l.conn[c] = struct{}{}
	return true
}

func (l *tcpListener) untrack(c net.Conn) {
	_ = c.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.conn, c)
}

func (l *tcpListener) close() {
	_ = l.ln.Close()
	l.mu.Lock()
	for c := range l.conn {
		_ = c.Close()
	}
	l.conn = nil
	l.mu.Unlock()
	l.wg.Wait()
}
