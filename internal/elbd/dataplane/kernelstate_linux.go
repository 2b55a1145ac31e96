package dataplane

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fleetlb/fleetlb/internal/elbd/dataplane/balance"
)

// kernelState is the DataPlane's side of the kernel data plane (K1-K5, K7):
// which listeners it serves, each member's connection mark, and the counters
// last read from the kernel. Guarded by DataPlane.mu.
type kernelState struct {
	nft       *nft          // nil: every listener runs on the proxy
	kick      chan struct{} // health flips ask for a reprogram (buffered 1)
	stop      chan struct{}
	done      chan struct{}
	marks     map[string]uint32 // lifeKey → mark
	nextMark  uint32
	firstMark uint32                 // nextMark at start: its block of 2^16 marks filters conntrack dumps
	usable    map[uint32]*backend    // members that got new connections after the last program
	stats     map[uint32][]*counters // mark → member and listener counters
	seen      map[uint32]kernelCount // counts at the last read
	readAt    time.Time              // last read, to bound the reads a busy scrape makes
	timers    map[uint32]*time.Timer // drains in progress, by mark
}

// kernelReadEvery bounds how often counters are read from the kernel: every
// read lists the named counters and dumps conntrack.
const kernelReadEvery = 200 * time.Millisecond

// startKernel creates elbd's table; on failure every listener runs on the proxy.
func (dp *DataPlane) startKernel() {
	k, err := openNFT()
	if err != nil {
		dp.log.Error("the kernel data plane cannot start: every listener runs on the proxy", "err", err)
		return
	}
	// Marks start at a random multiple of 2^16, so that flows a killed elbd
	// left in conntrack are not counted as this one's.
	first := uint32(rand.IntN(1<<15)+1) << 16
	dp.kern = kernelState{
		nft: k, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		nextMark: first, firstMark: first,
		marks: map[string]uint32{}, usable: map[uint32]*backend{}, stats: map[uint32][]*counters{},
		seen: map[uint32]kernelCount{}, timers: map[uint32]*time.Timer{},
	}
	dp.log.Info("kernel data plane: TCP and UDP listeners are served by nftables rules", "table", "inet "+kernelTable)
	go dp.kernelLoop()
}

// kernelLoop reprograms the rules after health flips, coalesced.
func (dp *DataPlane) kernelLoop() {
	defer close(dp.kern.done)
	for {
		select {
		case <-dp.kern.stop:
			return
		case <-dp.kern.kick:
			dp.mu.Lock()
			if !dp.closed {
				if err := dp.syncKernel(); err != nil {
					dp.log.Error("reprogramming the kernel data plane after a health change", "err", err)
				}
			}
			dp.mu.Unlock()
		}
	}
}

// kickKernel asks for the rules to follow the members' health now; it never blocks.
func (dp *DataPlane) kickKernel() {
	if dp.kern.kick == nil {
		return
	}
	select {
	case dp.kern.kick <- struct{}{}:
	default:
	}
}

// stopKernel deletes elbd's table (K6). Established flows keep their NAT in
// conntrack and end on their own.
func (dp *DataPlane) stopKernel() {
	if dp.kern.nft == nil {
		return
	}
	close(dp.kern.stop)
	<-dp.kern.done
	dp.mu.Lock()
	for _, t := range dp.kern.timers {
		t.Stop()
	}
	dp.mu.Unlock()
	if err := dp.kern.nft.close(); err != nil {
		dp.log.Error("deleting the kernel data plane's table", "err", err)
	}
}

// inKernel reports whether the listener is served by nftables rules.
// LEAST_CONNECTIONS needs each member's open connections at every choice,
// which a rule cannot see, so those listeners stay on the proxy.
func (dp *DataPlane) inKernel(l Listener) bool {
	return dp.kern.nft != nil && (l.Pool == nil || l.Pool.Algorithm != balance.LeastConnections)
}

// Data plane names, as ListenerDataPlane and the logs give them.
const (
	PathKernel = "kernel"
	PathProxy  = "proxy"
	// PathProxyLeastConn: --dataplane kernel, but the pool is LEAST_CONNECTIONS.
	PathProxyLeastConn = "proxy (LEAST_CONNECTIONS is served by the proxy, not the kernel)"
)

func (dp *DataPlane) pathOf(l *listener) string {
	switch {
	case l.kernel:
		return PathKernel
	case dp.kern.nft != nil:
		return PathProxyLeastConn
	}
	return PathProxy
}

// ListenerDataPlane says what serves a listener: PathKernel, PathProxy or
// PathProxyLeastConn; "" for an unknown listener.
func (dp *DataPlane) ListenerDataPlane(id string) string {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	if l := dp.listeners[id]; l != nil {
		return dp.pathOf(l)
	}
	return ""
}

// bindKernel checks that nobody uses the listener's VIP:port and, for TCP,
// keeps it bound (not listening): no other process can take it, and while the
// pool has no usable member the kernel refuses clients with a reset at once.
func (l *listener) bindKernel() error {
	network := "tcp"
	if l.protocol == ProtocolUDP {
		network = "udp"
	}
	if err := probeExclusive(network, l.addr.String()); err != nil {
		return fmt.Errorf("%s %s cannot be bound (is another listener or process using it?): %w", l.protocol, l.addr, err)
	}
	if l.protocol != ProtocolTCP {
		return nil
	}
	sa, domain := sockaddr(l.addr)
	fd, err := unix.Socket(domain, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err == nil {
		// SO_REUSEADDR, as the proxy's sockets: the TIME_WAIT connections
		// of a proxy listener on this port do not block the port.
		if err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err == nil {
			err = unix.Bind(fd, sa)
		}
		if err != nil {
			_ = unix.Close(fd)
		}
	}
	if err != nil {
		return fmt.Errorf("TCP %s cannot be reserved: %w", l.addr, err)
	}
	l.reserved = fd
	return nil
}

// markOf returns the member's connection mark, the same for as long as the
// member keeps its pool and address.
func (dp *DataPlane) markOf(poolID string, b *backend) uint32 {
	key := lifeKey(poolID, b.id, b.addr)
	if m, ok := dp.kern.marks[key]; ok {
		return m
	}
	dp.kern.nextMark++
	dp.kern.marks[key] = dp.kern.nextMark
	return dp.kern.nextMark
}

// syncKernel programs the kernel listeners' usable members in one batch (K4)
// and deals with the flows of members that no longer get new connections (K5).
func (dp *DataPlane) syncKernel() error {
	if dp.kern.nft == nil {
		return nil
	}
	ids := make([]string, 0, len(dp.listeners))
	for id, l := range dp.listeners {
		if l.kernel && l.bindErr == nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var ls []kernelListener
	keep := map[uint32]bool{}
	usable := map[uint32]*backend{}
	stats := map[uint32][]*counters{}
	marks := map[string]uint32{}
	for _, id := range ids {
		l := dp.listeners[id]
		kl := kernelListener{vip: l.addr, proto: unix.IPPROTO_TCP, keepClient: l.transparent}
		if l.protocol == ProtocolUDP {
			kl.proto = unix.IPPROTO_UDP
		}
		if p := l.pool.Load(); p != nil {
			kl.hashSrc = p.cfg.Algorithm == balance.SourceIP
			for _, b := range p.backends {
				mark := dp.markOf(p.id, b)
				marks[lifeKey(p.id, b.id, b.addr)] = mark
				keep[mark] = true
				stats[mark] = append(stats[mark], b.stats, l.stats)
				if b.usable() && b.addr.Addr().Is4() == l.addr.Addr().Is4() {
					kl.members = append(kl.members, kernelMember{mark: mark, addr: b.addr, weight: b.weight})
					usable[mark] = b
				}
			}
		}
		ls = append(ls, kl)
	}
	// Count what the members leaving did before their counters go.
	for mark := range dp.kern.stats {
		if !keep[mark] {
			dp.kern.readAt = time.Time{}
			dp.readKernelCounters()
			break
		}
	}
	if err := dp.kern.nft.program(ls, keep); err != nil {
		return err
	}
	for mark, b := range dp.kern.usable {
		if usable[mark] == nil {
			dp.endFlows(mark, b)
		}
	}
	for mark := range usable {
		if t := dp.kern.timers[mark]; t != nil {
			t.Stop() // back before its drain ended: its flows stay
			delete(dp.kern.timers, mark)
		}
	}
	dp.kern.usable, dp.kern.stats, dp.kern.marks = usable, stats, marks
	for mark := range dp.kern.seen {
		if !keep[mark] {
			delete(dp.kern.seen, mark)
		}
	}
	return nil
}

// endFlows deals with the established flows of a member that gets no new
// connections any more (K5). A member failing its health checks loses them at
// once, or after its pool's drain timeout (connection_drain). A removed member
// keeps them unless its pool drains, as with the proxy (E7). Admin-down or
// weight 0 members keep them.
func (dp *DataPlane) endFlows(mark uint32, b *backend) {
	down := b.health != nil && !b.health.up.Load()
	drain := time.Duration(b.life.drain.Load())
	removed := b.life.removedAt.Load() != 0
	switch {
	case down && drain <= 0:
		if err := flushFlows(mark); err != nil {
			dp.log.Error("flushing the flows of a failed member", "member", b.id, "address", b.addr.String(), "err", err)
		}
	case (down || removed) && drain > 0:
		if dp.kern.timers[mark] != nil {
			return
		}
		dp.kern.timers[mark] = time.AfterFunc(drain, func() {
			dp.mu.Lock()
			delete(dp.kern.timers, mark)
			dp.mu.Unlock()
			if !b.drainExpired(time.Now().UnixNano()) {
				return
			}
			if err := flushFlows(mark); err != nil {
				dp.log.Error("flushing the flows of a drained member", "member", b.id, "address", b.addr.String(), "err", err)
			}
		})
	}
}

// readKernelCounters adds what the kernel counted since the last read to the
// members' and listeners' counters, which the API and the metrics read (K7).
func (dp *DataPlane) readKernelCounters() {
	if dp.kern.nft == nil || time.Since(dp.kern.readAt) < kernelReadEvery {
		return
	}
	dp.kern.readAt = time.Now()
	first := dp.kern.firstMark
	counts, err := dp.kern.nft.counts(first&markBlockMask, (dp.kern.nextMark^first)&markBlockMask == 0)
	if err != nil {
		dp.log.Warn("reading the kernel data plane's counters", "err", err)
	}
	for mark, now := range counts {
		targets := dp.kern.stats[mark]
		if targets == nil {
			continue
		}
		was := dp.kern.seen[mark]
		if now.conns < was.conns || now.bytesIn < was.bytesIn || now.bytesOut < was.bytesOut {
			was = kernelCount{active: was.active} // counters re-created
		}
		for _, c := range targets {
			c.total.Add(int64(now.conns - was.conns))
			c.bytesIn.Add(int64(now.bytesIn - was.bytesIn))
			c.bytesOut.Add(int64(now.bytesOut - was.bytesOut))
			c.active.Add(now.active - was.active)
		}
		dp.kern.seen[mark] = now
	}
}
