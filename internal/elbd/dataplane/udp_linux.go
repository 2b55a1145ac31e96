package dataplane

import (
	"errors"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fleetlb/fleetlb/internal/elbd/dataplane/balance"
	"github.com/fleetlb/fleetlb/internal/elbd/dataplane/health"
	"golang.org/x/time/rate"
)

// maxDatagram is the largest UDP payload.
const maxDatagram = 65535

var datagramPool = sync.Pool{New: func() any { b := make([]byte, maxDatagram); return &b }}

// flow is one UDP client address forwarded to one member over a connected
// socket; replies go back out of the listener socket the client wrote to, so
// their source is VIP:port.
type flow struct {
	l      *listener
	b      *backend
	sock   *net.UDPConn // listener socket
	client netip.AddrPort
	conn   *net.UDPConn // connected to the member
	last   atomic.Int64 // unix nanoseconds of the last datagram either way
	done   atomic.Bool
}

// readLoop reads client datagrams from one listener socket.
func (l *listener) readLoop(sock *net.UDPConn) {
	defer l.loops.Done()
	bp := datagramPool.Get().(*[]byte)
	defer datagramPool.Put(bp)
	buf := *bp
	for {
		n, client, err := sock.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. a stale ICMP error; the socket still works
		}
		client = netip.AddrPortFrom(client.Addr().Unmap(), client.Port())
		l.forward(sock, client, buf[:n])
	}
}

// forward sends one client datagram to the client's member.
func (l *listener) forward(sock *net.UDPConn, client netip.AddrPort, payload []byte) {
	// Two tries: a flow can end (idle, or its member went down) between
	// finding it and writing to it; the datagram then opens a new flow.
	for try := 0; try < 2; try++ {
		f := l.flowFor(sock, client)
		if f == nil {
			return // no usable member, or too many flows: the datagram is dropped
		}
		f.last.Store(time.Now().UnixNano())
		_, err := f.conn.Write(payload)
		if err == nil {
			f.b.stats.bytesIn.Add(int64(len(payload)))
			l.stats.bytesIn.Add(int64(len(payload)))
			return
		}
		if errors.Is(err, net.ErrClosed) {
			f.end() // normally done already; the flow must be forgotten before the retry
			continue
		}
		// The member refused (ICMP unreachable) or is gone: end the flow so
		// that the client's next datagram picks a member again.
		f.b.stats.failed.Add(1)
		l.stats.failed.Add(1)
		f.end()
		return
	}
}

// flowFor returns the client's live flow, or opens one. Without connection
// drain, a flow whose member failed its health checks ends here, so that the
// client fails over, and a member only taken out (removed, weight 0) keeps
// its flows until they idle. With drain (E7), a flow of a removed or
// unhealthy member carries on until the drain timeout, then ends here.
func (l *listener) flowFor(sock *net.UDPConn, client netip.AddrPort) *flow {
	if f := l.flows.get(client); f != nil && !f.done.Load() {
		keep := !f.b.healthDown()
		if f.b.life.drain.Load() > 0 {
			keep = !f.b.drainExpired(time.Now().UnixNano())
		}
		if keep {
			return f
		}
		f.end()
	}
	return l.newFlow(sock, client)
}

func (l *listener) newFlow(sock *net.UDPConn, client netip.AddrPort) *flow {
	p := l.pool.Load()
	if p == nil {
		return nil
	}
	view := p.view.Load()
	var key uint64
	if view.needsKey {
		ip := client.Addr().As16()
		key = balance.HashBytes(ip[:])
	}
	if !l.dp.udpFlows.acquire(l.dp.log, l.dp.opts.MaxUDPFlows) {
		return nil
	}
	var triedBuf [8]int
	tried := triedBuf[:0]
	for attempt := 0; attempt < l.dp.attempts; attempt++ {
		i := view.picker.Pick(key, tried)
		if i < 0 {
			break
		}
		b := view.usable[i]
		conn, err := net.DialUDP("udp", nil, b.udpAddr)
		if health.IsLocalResourceError(err) {
			l.dp.udpFlows.noteLocalError(l.dp.log, err)
			break // our shortage, not the member's failure: no other member would do better
		}
		if err != nil {
			b.stats.failed.Add(1)
			l.stats.failed.Add(1)
			tried = append(tried, i)
			continue
		}
		f := &flow{l: l, b: b, sock: sock, client: client, conn: conn}
		f.last.Store(time.Now().UnixNano())
		if !l.flows.put(f) {
			_ = conn.Close() // the listener is closing
			break
		}
		b.stats.active.Add(1)
		b.stats.total.Add(1)
		l.stats.active.Add(1)
		l.stats.total.Add(1)
		go f.replies()
		return f
	}
	l.dp.udpFlows.release()
	return nil
}

// replies forwards the member's datagrams to the client until the flow has
// been idle for the listener's idle timeout. It waits for readability without
// holding a buffer (RawConn.Read), so idle flows cost no datagram buffer.
func (f *flow) replies() {
	rc, err := f.conn.SyscallConn()
	if err != nil {
		f.end()
		return
	}
	idle := f.l.idleTimeout()
	_ = f.conn.SetReadDeadline(time.Now().Add(idle))
	for {
		var bp *[]byte
		var n int
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			bp = datagramPool.Get().(*[]byte)
			n, rerr = syscall.Read(int(fd), *bp)
			if rerr == syscall.EAGAIN {
				datagramPool.Put(bp)
				bp = nil
				return false // wait for the next datagram
			}
			return true
		})
		if err == nil && rerr != nil {
			err = rerr
		}
		if err != nil {
			if bp != nil {
				datagramPool.Put(bp)
			}
			if isTimeout(err) {
				last := time.Unix(0, f.last.Load())
				if time.Since(last) < idle {
					_ = f.conn.SetReadDeadline(last.Add(idle))
					continue
				}
			} else if errors.Is(err, syscall.ECONNREFUSED) {
				f.b.stats.failed.Add(1)
				f.l.stats.failed.Add(1)
			}
			f.end()
			return
		}
		f.last.Store(time.Now().UnixNano())
		_, werr := f.sock.WriteToUDPAddrPort((*bp)[:n], f.client)
		datagramPool.Put(bp)
		if werr != nil {
			if errors.Is(werr, net.ErrClosed) {
				f.end()
				return
			}
			continue
		}
		f.b.stats.bytesOut.Add(int64(n))
		f.l.stats.bytesOut.Add(int64(n))
	}
}

// end forgets the flow and closes its member socket, once.
func (f *flow) end() {
	if f.done.Swap(true) {
		return
	}
	f.l.flows.remove(f)
	_ = f.conn.Close()
	f.l.dp.udpFlows.release()
	f.b.stats.active.Add(-1)
	f.l.stats.active.Add(-1)
}

// flowTable maps client addresses to flows; sharded to keep read loops on
// different sockets from contending.
type flowTable struct {
	shards [32]struct {
		mu     sync.Mutex
		m      map[netip.AddrPort]*flow
		closed bool
	}
}

func (t *flowTable) shard(a netip.AddrPort) int {
	ip := a.Addr().As16()
	return int((uint32(ip[15]) ^ uint32(ip[14])<<8 ^ uint32(a.Port())) % uint32(len(t.shards)))
}

func (t *flowTable) get(a netip.AddrPort) *flow {
	s := &t.shards[t.shard(a)]
	s.mu.Lock()
	f := s.m[a]
	s.mu.Unlock()
	return f
}

func (t *flowTable) put(f *flow) bool {
	s := &t.shards[t.shard(f.client)]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.m == nil {
		s.m = make(map[netip.AddrPort]*flow)
	}
	s.m[f.client] = f
	return true
}

func (t *flowTable) remove(f *flow) {
	s := &t.shards[t.shard(f.client)]
	s.mu.Lock()
	if s.m[f.client] == f {
		delete(s.m, f.client)
	}
	s.mu.Unlock()
}

// closeAll ends every flow and refuses new ones.
func (t *flowTable) closeAll() {
	var all []*flow
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		s.closed = true
		for _, f := range s.m {
			all = append(all, f)
		}
		s.mu.Unlock()
	}
	for _, f := range all {
		f.end()
	}
}

// healthDown reports whether the member failed its health checks. Admin-down,
// weight 0 and removal are not "down": they only stop new flows.
func (b *backend) healthDown() bool {
	return b.health != nil && !b.health.up.Load()
}

// udpFlowLimit caps the live UDP flows of a data plane. Each flow holds a
// socket, and datagrams from new (possibly spoofed) client addresses are free
// to send: without a cap they would take every descriptor of the process,
// and health probes and TCP accepts would fail with them.
type udpFlowLimit struct {
	live    atomic.Int64
	dropped atomic.Int64   // datagrams from new clients dropped at the cap
	logs    rate.Sometimes // its warnings, at most one per udpFlowLimitLogEvery
}

// udpFlowLimitLogEvery rate-limits the log lines of a flood.
const udpFlowLimitLogEvery = 10 * time.Second

// defaultMaxUDPFlows is half of the soft RLIMIT_NOFILE at start: UDP flows
// may use half of the descriptors, the rest stays for TCP, health probes and
// listeners.
func defaultMaxUDPFlows() int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < 2 {
		return 512
	}
	return int(min(lim.Cur/2, math.MaxInt32))
}

// acquire takes a flow slot, or counts the datagram as dropped.
func (u *udpFlowLimit) acquire(log *slog.Logger, limit int) bool {
	if u.live.Add(1) <= int64(limit) {
		return true
	}
	u.live.Add(-1)
	n := u.dropped.Add(1)
	u.logs.Do(func() {
		log.Warn("UDP flows are at their cap: datagrams from new clients are dropped; raise elbd's open-files limit (ulimit -n; the cap is half of it) or lower the UDP listeners' keepalive_timeout so idle flows end sooner",
			"max_udp_flows", limit, "dropped_total", n)
	})
	return false
}

func (u *udpFlowLimit) release() { u.live.Add(-1) }

// noteLocalError logs a flow that could not get a socket for want of a local
// resource (the member is not charged).
func (u *udpFlowLimit) noteLocalError(log *slog.Logger, err error) {
	u.logs.Do(func() {
		log.Warn("a UDP flow cannot be opened: this process is out of descriptors or buffers; the datagram is dropped", "err", err)
	})
}

func isTimeout(err error) bool {
	var ne net.Error
	return err != nil && errors.As(err, &ne) && ne.Timeout()
}
