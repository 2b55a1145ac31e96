package dataplane

import (
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/fleetlb/fleetlb/internal/elbd/dataplane/balance"
)

func (l *listener) acceptLoop(ln *net.TCPListener) {
	defer l.loops.Done()
	var backoff time.Duration
	for {
		c, err := ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors or similar: slow down, keep serving.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			l.dp.log.Warn("accept failed", "listener", l.id, "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		go l.handleTCP(c)
	}
}

// handleTCP connects a new client to a member, trying the next member when a
// connect fails, and closes the client at once when no member is usable.
func (l *listener) handleTCP(client *net.TCPConn) {
	p := l.pool.Load()
	if p == nil {
		reject(client)
		return
	}
	view := p.view.Load()
	var key uint64
	if view.needsKey {
		key = clientKey(client.RemoteAddr())
	}
	var triedBuf [8]int
	tried := triedBuf[:0]
	for attempt := 0; attempt < l.dp.attempts; attempt++ {
		i := view.picker.Pick(key, tried)
		if i < 0 {
			break
		}
		b := view.usable[i]
		conn, err := l.dp.dialer.Dial("tcp", b.dialAddr)
		if err == nil {
			l.proxy(client, conn.(*net.TCPConn), b)
			return
		}
		b.stats.failed.Add(1)
		l.stats.failed.Add(1)
		tried = append(tried, i)
	}
	reject(client)
}

// reject resets the client's connection so that it fails fast.
func reject(c *net.TCPConn) {
	_ = c.SetLinger(0)
	_ = c.Close()
}

func clientKey(a net.Addr) uint64 {
	var ip netip.Addr
	switch a := a.(type) {
	case *net.TCPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	case *net.UDPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	}
	b := ip.Unmap().As16()
	return balance.HashBytes(b[:])
}

// proxyConn is one client connection forwarded to one member.
type proxyConn struct {
	seq     uint64
	l       *listener
	b       *backend
	client  *net.TCPConn
	backend *net.TCPConn
	pending atomic.Int32 // directions still copying; the last one finishes
}

func (l *listener) proxy(client, backend *net.TCPConn, b *backend) {
	pc := &proxyConn{seq: l.dp.connSeq.Add(1), l: l, b: b, client: client, backend: backend}
	pc.pending.Store(2)
	b.stats.active.Add(1)
	b.stats.total.Add(1)
	l.stats.active.Add(1)
	l.stats.total.Add(1)
	l.dp.conns.add(pc)
	go pc.pipe(backend, client, true)
	pc.pipe(client, backend, false)
}

// pipe copies src to dst until src ends (then half-closes dst) or fails (then
// aborts both); see relay for how. The read deadline is the idle timeout:
// when it fires, the connection is closed only if neither side has sent data
// for that long.
func (pc *proxyConn) pipe(dst, src *net.TCPConn, upstream bool) {
	idle := pc.l.idleTimeout()
	_ = src.SetReadDeadline(time.Now().Add(idle))
	r, err := newRelay(dst, src)
	for err == nil {
		var n int64
		n, err = r.copy()
		if upstream {
			pc.b.stats.bytesIn.Add(n)
			pc.l.stats.bytesIn.Add(n)
		} else {
			pc.b.stats.bytesOut.Add(n)
			pc.l.stats.bytesOut.Add(n)
		}
		if !isTimeout(err) {
			break
		}
		quiet := min(quietFor(pc.client), quietFor(pc.backend))
		if quiet >= idle {
			break
		}
		_ = src.SetReadDeadline(time.Now().Add(idle - quiet))
		err = nil
	}
	if err == nil {
		// Half-close: tell dst that src is done, unless the other direction
		// has ended too, when both sockets are about to be closed anyway.
		if pc.pending.Load() > 1 {
			_ = dst.CloseWrite()
		}
	} else {
		pc.abort()
	}
	if pc.pending.Add(-1) > 0 {
		return // the other direction finishes the connection
	}
	_ = pc.client.Close()
	_ = pc.backend.Close()
	pc.b.stats.active.Add(-1)
	pc.l.stats.active.Add(-1)
	pc.l.dp.conns.remove(pc)
}

// abort ends both directions at once (an error, idleness or Close).
func (pc *proxyConn) abort() {
	_ = pc.client.Close()
	_ = pc.backend.Close()
}

func isTimeout(err error) bool {
	var ne net.Error
	return err != nil && errors.As(err, &ne) && ne.Timeout()
}
