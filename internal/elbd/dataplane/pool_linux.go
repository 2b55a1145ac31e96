package dataplane

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/fleetlb/fleetlb/internal/elbd/dataplane/balance"
	"github.com/fleetlb/fleetlb/internal/elbd/dataplane/health"
)

// backend is one member of one pool generation. It is immutable; its
// counters and health cell outlive it when the next Apply keeps the member.
type backend struct {
	id      string
	addr    netip.AddrPort
	raw     rawSockaddr  // addr for connect(2), built once
	udpAddr *net.UDPAddr // for UDP flows
	weight  int
	adminUp bool
	stats   *counters
	health  *healthCell // nil when the pool has no monitor
	// life is shared by every generation of this member in this pool, so
	// that connections opened on an earlier generation drain too (E7).
	life *memberLife
}

// memberLife is what the generations of one member of one pool share: the
// drain timeout of the pool's latest generation (0: none) and when an Apply
// took the member out of its pool (UnixNano, 0: in it). A connection keeps
// the backend of the generation it was opened on; the removal is stamped on
// the latest one, and so it must reach them all.
type memberLife struct {
	drain     atomic.Int64 // time.Duration
	removedAt atomic.Int64
}

// lifeKey names a member of a pool at an address (a changed address is a new member).
func lifeKey(poolID, memberID string, addr netip.AddrPort) string {
	return poolID + "/" + memberID + "/" + addr.String()
}

// drainExpired reports whether the member's established connections are to
// be closed at now (UnixNano): its pool drains connections, and the member
// was removed or has been failing its health checks for the drain timeout.
func (b *backend) drainExpired(now int64) bool {
	drain := b.life.drain.Load()
	if drain <= 0 {
		return false
	}
	if r := b.life.removedAt.Load(); r != 0 && now-r >= drain {
		return true
	}
	if b.health != nil {
		if d := b.health.downSince.Load(); d != 0 && now-d >= drain {
			return true
		}
	}
	return false
}

func (b *backend) usable() bool {
	return b.adminUp && b.weight > 0 && (b.health == nil || b.health.up.Load())
}

// healthCell is the health of one member under one monitor. Its checker keeps
// running across Applies that change neither the member's address nor the
// monitor, so a reconfiguration does not reset health.
type healthCell struct {
	key string
	up  atomic.Bool
	// downSince is when the member last went down (UnixNano), 0 while up.
	downSince atomic.Int64
	checker   *health.Checker
	// owner is the pool generation to rebuild when the state flips.
	owner atomic.Pointer[pool]
}

func cellKey(poolID string, m Member, mon *health.Monitor) string {
	return fmt.Sprintf("%s|%s|%s|%d|%+v", poolID, m.ID, m.Address, m.Port, *mon)
}

// pool is one generation of a pool's configuration. The hot path loads its
// view (the picker over the currently usable members) with one atomic read.
type pool struct {
	id       string
	cfg      Pool // what this generation was built from, to detect changes
	backends []*backend
	mu       sync.Mutex // serialises view rebuilds
	view     atomic.Pointer[poolView]
}

type poolView struct {
	picker   balance.Picker
	usable   []*backend
	needsKey bool // the picker hashes the client address
}

func mustPicker(p balance.Picker, err error) balance.Picker {
	if err != nil {
		panic(err)
	}
	return p
}

// rebuild recomputes the usable members and their picker; it runs after a
// configuration change or a health flip, never per connection.
func (p *pool) rebuild(log *slog.Logger) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v := &poolView{needsKey: p.cfg.Algorithm == balance.SourceIP}
	var ms []balance.Member
	for _, b := range p.backends {
		if b.usable() {
			v.usable = append(v.usable, b)
			ms = append(ms, balance.Member{Key: b.id, Weight: b.weight, Active: &b.stats.active})
		}
	}
	picker, err := balance.New(p.cfg.Algorithm, ms)
	if err != nil {
		// Validated in Apply; fall back to round robin rather than stop serving.
		log.Error("building the balancer failed, using ROUND_ROBIN", "pool", p.id, "err", err)
		picker = mustPicker(balance.New(balance.RoundRobin, ms))
	}
	v.picker = picker
	p.view.Store(v)
}
