package dataplane

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// listener serves one VIP:port for one protocol with several SO_REUSEPORT
// sockets, each with its own accept (TCP) or read (UDP) loop.
type listener struct {
	dp       *DataPlane
	id       string
	addr     netip.AddrPort
	protocol string
	stats    *counters
	idle     atomic.Int64 // idle timeout in nanoseconds
	pool     atomic.Pointer[pool]
	bindErr  error
	// kernel: served by nftables rules (K1); reserved is the socket that
	// holds its TCP port meanwhile (-1: none).
	kernel   bool
	reserved int
	// transparent: the kernel keeps the client's address (Listener.TransparentClientIP).
	transparent bool

	tcp   []tcpSocket // one per event loop
	udp   []*net.UDPConn
	flows flowTable
	loops sync.WaitGroup
}

// configure points the listener at its pool generation and idle timeout.
func (l *listener) configure(cfg Listener, pools map[string]*pool) {
	l.idle.Store(int64(cfg.idleTimeout()))
	l.transparent = cfg.TransparentClientIP
	var p *pool
	if cfg.Pool != nil {
		p = pools[cfg.Pool.ID]
	}
	l.pool.Store(p)
}

func (l *listener) idleTimeout() time.Duration { return time.Duration(l.idle.Load()) }

// bind opens the listener's sockets and starts its loops. It first binds one
// socket without SO_REUSEPORT, so that a port already used by anyone (even
// another SO_REUSEPORT user) is reported instead of silently shared.
func (l *listener) bind(loops int) error {
	network := "tcp"
	if l.protocol == ProtocolUDP {
		network = "udp"
	}
	addr := l.addr.String()
	if err := probeExclusive(network, addr); err != nil {
		return fmt.Errorf("%s %s cannot be bound (is another listener or process using it?): %w", l.protocol, addr, err)
	}
	if l.protocol == ProtocolTCP {
		return l.bindTCP()
	}
	lc := net.ListenConfig{Control: controlListen}
	for i := 0; i < loops; i++ {
		pc, err := lc.ListenPacket(context.Background(), network, addr)
		if err != nil {
			l.closeSockets()
			return fmt.Errorf("%s %s cannot be bound: %w", l.protocol, addr, err)
		}
		l.udp = append(l.udp, pc.(*net.UDPConn))
	}
	for _, pc := range l.udp {
		l.loops.Add(1)
		go l.readLoop(pc)
	}
	return nil
}

func probeExclusive(network, addr string) error {
	if network == "udp" {
		pc, err := net.ListenPacket(network, addr)
		if err != nil {
			return err
		}
		return pc.Close()
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return err
	}
	return ln.Close()
}

// errLoopEnded is why a TCP listener cannot be bound when every event loop
// has stopped (their epoll_wait failed, which the log says).
var errLoopEnded = errors.New("every TCP event loop has stopped")

// tcpSocket is a listening socket registered with one event loop.
type tcpSocket struct {
	lp *loop
	fd int
}

// bindTCP opens one SO_REUSEPORT socket per event loop; the kernel spreads
// new connections over them.
func (l *listener) bindTCP() error {
	e := l.dp.engine
	if e == nil {
		return fmt.Errorf("TCP %s cannot be served: %w", l.addr, ErrEngine)
	}
	for _, lp := range e.loops {
		fd, err := listenTCP(l.addr)
		if err != nil {
			l.closeSockets()
			return fmt.Errorf("TCP %s cannot be bound: %w", l.addr, err)
		}
		if !lp.call(func() { err = lp.register(fd, &lsock{fd: fd, l: l}, unix.EPOLLIN) }) {
			// The loop has stopped: a socket on it would get a share of the
			// clients and accept none. The other loops serve.
			_ = unix.Close(fd)
			continue
		}
		if err != nil {
			_ = unix.Close(fd)
			l.closeSockets()
			return fmt.Errorf("TCP %s cannot be bound: %w", l.addr, err)
		}
		l.tcp = append(l.tcp, tcpSocket{lp: lp, fd: fd})
	}
	if len(l.tcp) == 0 {
		return fmt.Errorf("TCP %s cannot be served: %w", l.addr, errLoopEnded)
	}
	return nil
}

func (l *listener) closeSockets() {
	for _, s := range l.tcp {
		// A loop that has ended closed its listening sockets as it did.
		s.lp.call(func() { s.lp.closeFD(s.fd) })
	}
	l.tcp = nil
	if l.reserved >= 0 {
		_ = unix.Close(l.reserved)
		l.reserved = -1
	}
	for _, pc := range l.udp {
		_ = pc.Close()
	}
}

// finish ends what outlives a listener's closed sockets: its UDP read loops,
// then its UDP flows (whose sockets the replies go out of). Established TCP
// connections drain on their own.
func (l *listener) finish() {
	l.loops.Wait()
	l.flows.closeAll()
}
