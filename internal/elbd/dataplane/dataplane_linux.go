package dataplane

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fleetlb/fleetlb/internal/elbd/dataplane/balance"
	"github.com/fleetlb/fleetlb/internal/elbd/dataplane/health"
)

// Options tune the data plane; zero values pick the defaults.
type Options struct {
	Logger *slog.Logger
	// AcceptLoops is the number of TCP event loops, each with its own
	// SO_REUSEPORT socket of every TCP listener, and of SO_REUSEPORT read
	// loops per UDP listener. Default: GOMAXPROCS.
	AcceptLoops int
	// DialTimeout bounds one connect to a member. Default 2 s.
	DialTimeout time.Duration
	// ConnectAttempts is how many members a new TCP connection tries before
	// it is closed. Default 3.
	ConnectAttempts int
	// MaxUDPFlows caps the live UDP flows (one socket each) of all UDP
	// listeners; a datagram from a new client above it is dropped. Default:
	// half of the soft RLIMIT_NOFILE, so that UDP never takes every descriptor.
	MaxUDPFlows int
	// Kernel serves TCP and UDP listeners with nftables rules in the current
	// network namespace (K1) instead of the proxy, but for LEAST_CONNECTIONS
	// pools, which need the proxy's connection counts. When the table cannot
	// be created, New logs why and every listener runs on the proxy.
	Kernel bool
}

// DataPlane serves the listeners of the last applied Config.
type DataPlane struct {
	log      *slog.Logger
	opts     Options
	engine   *engine // TCP; nil when it could not start
	attempts int
	udpFlows udpFlowLimit // live UDP flows, capped at opts.MaxUDPFlows
	// healthTransitions counts the health checker's verdict changes: [0] to down, [1] to up.
	healthTransitions [2]atomic.Uint64

	mu            sync.Mutex // guards everything below; never taken per connection
	closed        bool
	listeners     map[string]*listener
	pools         map[string]*pool
	usedPools     map[string]bool // pools some listener forwards to
	cells         map[string]*healthCell
	memberStats   map[string]*counters
	lives         map[string]*memberLife // by lifeKey
	listenerStats map[string]*counters
	bg            sync.WaitGroup // checker stops and listener shutdowns
	kern          kernelState    // the kernel data plane; its nft is nil with the proxy alone
}

// New returns a data plane that serves nothing until Apply.
func New(opts Options) *DataPlane {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.AcceptLoops <= 0 {
		opts.AcceptLoops = runtime.GOMAXPROCS(0)
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 2 * time.Second
	}
	if opts.ConnectAttempts <= 0 {
		opts.ConnectAttempts = 3
	}
	if opts.MaxUDPFlows <= 0 {
		opts.MaxUDPFlows = defaultMaxUDPFlows()
	}
	dp := &DataPlane{
		log:           opts.Logger,
		opts:          opts,
		attempts:      min(opts.ConnectAttempts, 8),
		listeners:     map[string]*listener{},
		pools:         map[string]*pool{},
		cells:         map[string]*healthCell{},
		memberStats:   map[string]*counters{},
		lives:         map[string]*memberLife{},
		listenerStats: map[string]*counters{},
	}
	dp.udpFlows.logs.Interval = udpFlowLimitLogEvery
	e, err := newEngine(dp, opts.AcceptLoops)
	if err != nil {
		dp.log.Error("the TCP engine cannot start: TCP listeners will be OFFLINE", "err", err)
	}
	dp.engine = e
	if opts.Kernel {
		dp.startKernel()
	}
	return dp
}

// Apply reconciles the data plane to cfg: it binds new listeners, closes
// removed ones, and swaps pools atomically. Established connections are never
// cut: connections to removed members or of removed listeners finish on their
// own or after their listener's idle timeout. Apply is idempotent. It returns
// the problems it found (bad listeners, pools or monitors, ports that cannot
// be bound); everything else is applied regardless.
func (dp *DataPlane) Apply(cfg Config) error {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	if dp.closed {
		return errors.New("data plane is closed")
	}
	var errs []error

	// Pools: keep a generation whose configuration did not change.
	pools := map[string]*pool{}
	cells := map[string]*healthCell{}
	memberStats := map[string]*counters{}
	lives := map[string]*memberLife{}
	poolCfgs := append([]Pool(nil), cfg.Pools...)
	for _, l := range cfg.Listeners {
		if l.Pool != nil {
			poolCfgs = append(poolCfgs, *l.Pool)
		}
	}
	for _, pc := range poolCfgs {
		if _, done := pools[pc.ID]; done {
			continue
		}
		p, err := dp.buildPool(pc, cells, memberStats, lives)
		if err != nil {
			errs = append(errs, err)
		}
		pools[pc.ID] = p
	}
	for key, c := range dp.cells {
		if _, kept := cells[key]; !kept {
			dp.stopChecker(c)
		}
	}
	markRemoved(dp.pools, pools, time.Now().UnixNano())
	dp.pools, dp.cells, dp.memberStats, dp.lives = pools, cells, memberStats, lives
	dp.usedPools = map[string]bool{}
	for _, l := range cfg.Listeners {
		if l.Pool != nil {
			dp.usedPools[l.Pool.ID] = true
		}
	}

	// Listeners: close removed or re-addressed ones first, so that a port
	// moving from one listener to another can be bound in the same Apply.
	want := map[string]Listener{}
	addrs := map[string]netip.AddrPort{}
	for _, l := range cfg.Listeners {
		addr, err := l.validate()
		if err != nil {
			errs = append(errs, err)
		}
		want[l.ID], addrs[l.ID] = l, addr
	}
	for id, cur := range dp.listeners {
		l, ok := want[id]
		if !ok || cur.addr != addrs[id] || cur.protocol != l.Protocol || cur.bindErr != nil || cur.kernel != dp.inKernel(l) {
			dp.closeListener(cur)
			delete(dp.listeners, id)
		}
	}
	listenerStats := map[string]*counters{}
	for _, l := range cfg.Listeners {
		stats := dp.listenerStats[l.ID]
		if stats == nil {
			stats = &counters{}
		}
		listenerStats[l.ID] = stats
		cur := dp.listeners[l.ID]
		if cur == nil {
			cur = &listener{dp: dp, id: l.ID, addr: addrs[l.ID], protocol: l.Protocol, stats: stats, kernel: dp.inKernel(l), reserved: -1}
			cur.configure(l, pools)
			switch {
			case cur.addr.IsValid() && cur.kernel:
				cur.bindErr = cur.bindKernel()
			case cur.addr.IsValid():
				cur.bindErr = cur.bind(dp.opts.AcceptLoops)
			default:
				cur.bindErr = errors.New("invalid listener configuration")
			}
			if cur.bindErr != nil && cur.addr.IsValid() {
				errs = append(errs, cur.bindErr)
				dp.log.Error("listener cannot be served", "listener", l.ID, "address", cur.addr.String(), "protocol", l.Protocol, "err", cur.bindErr)
			} else if cur.bindErr == nil {
				dp.log.Info("listener serving", "listener", l.ID, "address", cur.addr.String(), "protocol", l.Protocol, "dataplane", dp.pathOf(cur))
			}
			dp.listeners[l.ID] = cur
			continue
		}
		cur.configure(l, pools)
	}
	dp.listenerStats = listenerStats
	if err := dp.syncKernel(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// buildPool returns the pool generation for cfg: the current one when cfg did
// not change, else a new one that reuses counters and health cells by member.
func (dp *DataPlane) buildPool(cfg Pool, cells map[string]*healthCell, memberStats map[string]*counters, lives map[string]*memberLife) (*pool, error) {
	var errs []error
	if cfg.Algorithm != "" && cfg.Algorithm != balance.RoundRobin && cfg.Algorithm != balance.LeastConnections && cfg.Algorithm != balance.SourceIP {
		errs = append(errs, fmt.Errorf("pool %s: lb_algorithm %q is not supported, using ROUND_ROBIN: use ROUND_ROBIN, LEAST_CONNECTIONS or SOURCE_IP", cfg.ID, cfg.Algorithm))
		cfg.Algorithm = balance.RoundRobin
	}
	if cfg.Monitor != nil {
		if err := cfg.Monitor.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("pool %s: %w; members are not monitored", cfg.ID, err))
			cfg.Monitor = nil
		}
	}
	old := dp.pools[cfg.ID]
	if old != nil && reflect.DeepEqual(old.cfg, cfg) {
		for _, b := range old.backends {
			memberStats[b.id] = b.stats
			lives[lifeKey(cfg.ID, b.id, b.addr)] = b.life
			if b.health != nil {
				cells[b.health.key] = b.health
			}
		}
		return old, errors.Join(errs...)
	}
	p := &pool{id: cfg.ID, cfg: cfg}
	for _, m := range cfg.Members {
		ip, err := netip.ParseAddr(m.Address)
		if err != nil || m.Port < 1 || m.Port > 65535 {
			errs = append(errs, fmt.Errorf("pool %s: member %s has address %q port %d, which cannot be served: give an IP address and a port 1-65535", cfg.ID, m.ID, m.Address, m.Port))
			continue
		}
		addr := netip.AddrPortFrom(ip.Unmap(), uint16(m.Port))
		stats := dp.memberStats[m.ID]
		if stats == nil {
			stats = &counters{}
		}
		memberStats[m.ID] = stats
		key := lifeKey(cfg.ID, m.ID, addr)
		life := dp.lives[key]
		if life == nil {
			life = &memberLife{}
		}
		life.drain.Store(int64(cfg.Drain))
		lives[key] = life
		b := &backend{
			id: m.ID, addr: addr, raw: newRawSockaddr(addr), udpAddr: net.UDPAddrFromAddrPort(addr),
			weight: m.Weight, adminUp: m.AdminUp, stats: stats, life: life,
		}
		if cfg.Monitor != nil {
			b.health = dp.cell(cellKey(cfg.ID, m, cfg.Monitor), *cfg.Monitor, addr, m.ID, cells)
		}
		p.backends = append(p.backends, b)
	}
	for _, b := range p.backends {
		if b.health != nil {
			b.health.owner.Store(p)
		}
	}
	p.rebuild(dp.log)
	return p, errors.Join(errs...)
}

// markRemoved stamps the members of the old pool generations that the new
// ones no longer have (same ID and address), so that their connections drain
// (E7). A member kept across generations is not stamped.
func markRemoved(old, cur map[string]*pool, now int64) {
	for id, op := range old {
		kept := map[string]netip.AddrPort{}
		if np := cur[id]; np != nil {
			if np == op {
				continue
			}
			for _, b := range np.backends {
				kept[b.id] = b.addr
			}
		}
		for _, b := range op.backends {
			if addr, ok := kept[b.id]; (!ok || addr != b.addr) && b.life.removedAt.Load() == 0 {
				b.life.removedAt.Store(now)
			}
		}
	}
}

// cell returns the running health cell for key, or starts one.
func (dp *DataPlane) cell(key string, mon health.Monitor, addr netip.AddrPort, memberID string, cells map[string]*healthCell) *healthCell {
	if c := cells[key]; c != nil {
		return c
	}
	if c := dp.cells[key]; c != nil {
		cells[key] = c
		return c
	}
	c := &healthCell{key: key}
	c.up.Store(true)
	c.checker = health.Start(mon, addr, func(up bool, cause error) {
		c.up.Store(up)
		if up {
			dp.healthTransitions[1].Add(1)
		} else {
			dp.healthTransitions[0].Add(1)
		}
		if up {
			c.downSince.Store(0)
		} else {
			c.downSince.Store(time.Now().UnixNano())
		}
		if up {
			dp.log.Info("member is up", "member", memberID, "address", addr.String())
		} else {
			dp.log.Warn("member is down", "member", memberID, "address", addr.String(), "monitor", mon.Type, "err", cause)
		}
		if p := c.owner.Load(); p != nil {
			p.rebuild(dp.log)
		}
		dp.kickKernel()
	})
	cells[key] = c
	return c
}

func (dp *DataPlane) stopChecker(c *healthCell) {
	dp.bg.Add(1)
	go func() {
		defer dp.bg.Done()
		c.checker.Stop()
	}()
}

func (dp *DataPlane) closeListener(l *listener) {
	dp.log.Info("listener closed", "listener", l.id, "address", l.addr.String(), "protocol", l.protocol)
	// The sockets close now, so that a listener bound later in the same
	// Apply can take the port; UDP read loops and flows end in the background.
	l.closeSockets()
	dp.bg.Add(1)
	go func() {
		defer dp.bg.Done()
		l.finish()
	}()
}

// Close stops every listener, health checker and connection, and waits.
func (dp *DataPlane) Close() error {
	dp.mu.Lock()
	if dp.closed {
		dp.mu.Unlock()
		return nil
	}
	dp.closed = true
	for id, l := range dp.listeners {
		dp.closeListener(l)
		delete(dp.listeners, id)
	}
	for _, c := range dp.cells {
		dp.stopChecker(c)
	}
	dp.mu.Unlock()
	dp.bg.Wait()
	dp.stopKernel()
	if dp.engine != nil {
		dp.engine.stop()
	}
	return nil
}

// ListenerStatus is ONLINE when the listener serves its VIP:port, OFFLINE
// when it cannot (see ListenerError), and "" for an unknown listener.
func (dp *DataPlane) ListenerStatus(id string) string {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	l := dp.listeners[id]
	switch {
	case l == nil:
		return ""
	case l.bindErr != nil:
		return StatusOffline
	}
	return StatusOnline
}

// ListenerError says why a listener is OFFLINE, or nil.
func (dp *DataPlane) ListenerError(id string) error {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	if l := dp.listeners[id]; l != nil {
		return l.bindErr
	}
	return nil
}

// MemberStatus is the operating status of a member (E4): UNKNOWN when no
// listener uses its pool, OFFLINE when it is admin-down, NO_MONITOR when its
// pool has no health monitor, INITIAL until its first check result, then
// ONLINE or OFFLINE; "" for an unknown member.
func (dp *DataPlane) MemberStatus(id string) string {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	for _, p := range dp.pools {
		for _, b := range p.backends {
			if b.id != id {
				continue
			}
			switch {
			case !dp.usedPools[p.id]:
				return StatusUnknown
			case !b.adminUp:
				return StatusOffline
			case b.health == nil:
				return StatusNoMonitor
			case !b.health.checker.Checked():
				return StatusInitial
			case b.health.up.Load():
				return StatusOnline
			}
			return StatusOffline
		}
	}
	return ""
}

// MemberCounters returns a member's counters (zero for an unknown member).
func (dp *DataPlane) MemberCounters(id string) Counters {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	dp.readKernelCounters()
	if c := dp.memberStats[id]; c != nil {
		return c.snapshot()
	}
	return Counters{}
}

// ListenerCounters returns a listener's counters (zero for an unknown one).
func (dp *DataPlane) ListenerCounters(id string) Counters {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	dp.readKernelCounters()
	if c := dp.listenerStats[id]; c != nil {
		return c.snapshot()
	}
	return Counters{}
}
