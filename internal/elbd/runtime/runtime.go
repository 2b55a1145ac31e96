// Package runtime connects elbd's store to its data plane: after every
// committed write (Sync) it reads a consistent snapshot of the store,
// translates it (Translate) and applies it to the data plane. It implements
// the API's DataPlane interface.
package runtime

import (
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/fleetlb/fleetlb/internal/elbd/dataplane"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Snapshotter is the part of *store.Store the runtime reads.
type Snapshotter interface {
	Snapshot() (store.Snapshot, error)
}

// Runtime keeps the data plane in step with the store.
type Runtime struct {
	src  Snapshotter
	dp   *dataplane.DataPlane
	log  *slog.Logger
	kick chan struct{} // buffered 1: Syncs during an apply coalesce into one
	stop chan struct{}
	done chan struct{}

	mu        sync.Mutex
	unserved  map[string]string // listener ID → why it is not served
	members   map[string]memberInfo
	lastErr   string
	closeOnce sync.Once
}

type memberInfo struct{ adminUp, monitored, used bool }

// New returns a runtime over src and dp and applies the store's current
// state before it returns, so statuses are right from the first request.
// Later Syncs are applied in the background, coalesced.
func New(src Snapshotter, dp *dataplane.DataPlane, log *slog.Logger) *Runtime {
	if log == nil {
		log = slog.Default()
	}
	r := &Runtime{
		src: src, dp: dp, log: log,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	r.apply()
	go r.loop()
	return r
}

// Sync asks for the store's state to be applied; it never blocks. The apply
// starts at once (or right after the one in progress) and takes milliseconds.
func (r *Runtime) Sync() {
	select {
	case r.kick <- struct{}{}:
	default: // an apply is already pending and will read the newest state
	}
}

// retryInterval is how often a configuration with problems (typically a
// VIP:port taken by another process) is applied again, so that a listener
// comes ONLINE once its port is free, without waiting for an API write.
var retryInterval = 5 * time.Second

func (r *Runtime) loop() {
	defer close(r.done)
	retry := time.NewTicker(retryInterval)
	defer retry.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-r.kick:
			r.apply()
		case <-retry.C:
			r.mu.Lock()
			failing := r.lastErr != ""
			r.mu.Unlock()
			if failing {
				r.apply()
			}
		}
	}
}

func (r *Runtime) apply() {
	snap, err := r.src.Snapshot()
	if err != nil {
		r.log.Error("reading the store for the data plane failed; traffic keeps the previous configuration", "err", err)
		return
	}
	cfg, unserved := Translate(snap)
	members := map[string]memberInfo{}
	monitored := map[string]bool{}
	for _, hm := range snap.HealthMonitors {
		monitored[hm.PoolID] = hm.AdminStateUp
	}
	adminUpPools := map[string]bool{}
	for _, p := range snap.Pools {
		adminUpPools[p.ID] = p.AdminStateUp
	}
	usedPools := map[string]bool{}
	for _, l := range cfg.Listeners {
		if l.Pool != nil {
			usedPools[l.Pool.ID] = true
		}
	}
	for _, m := range snap.Members {
		members[m.ID] = memberInfo{adminUp: m.AdminStateUp && adminUpPools[m.PoolID], monitored: monitored[m.PoolID], used: usedPools[m.PoolID]}
	}
	applyErr := r.dp.Apply(cfg)

	r.mu.Lock()
	r.unserved, r.members = unserved, members
	msg := ""
	if applyErr != nil {
		msg = applyErr.Error()
	}
	changed := msg != r.lastErr
	r.lastErr = msg
	r.mu.Unlock()
	// Problems are logged when they change, not on every write.
	if changed && applyErr != nil {
		for _, e := range unwrapJoined(applyErr) {
			r.log.Warn("data plane configuration problem", "err", e)
		}
	}
}

func unwrapJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// MemberStatus is the member's operating_status (E4): UNKNOWN when no
// listener uses its pool, NO_MONITOR when its pool has no (admin-up) health
// monitor, INITIAL until its first check result, OFFLINE when it is
// admin-down or fails its health checks, ONLINE when it passes them.
func (r *Runtime) MemberStatus(memberID string) string {
	if s := r.dp.MemberStatus(memberID); s != "" {
		return s
	}
	// Not (yet) known to the data plane, e.g. created after the last apply.
	r.mu.Lock()
	info, ok := r.members[memberID]
	r.mu.Unlock()
	switch {
	case !ok:
		return dataplane.StatusNoMonitor
	case !info.used:
		return dataplane.StatusUnknown
	case !info.adminUp:
		return dataplane.StatusOffline
	case info.monitored:
		return dataplane.StatusInitial // no check has run yet
	}
	return dataplane.StatusNoMonitor
}

// ListenerStatus is ONLINE when the listener serves VIP:port, OFFLINE when
// it cannot (port taken, protocol not served, admin-down); see ListenerError.
func (r *Runtime) ListenerStatus(listenerID string) string {
	r.mu.Lock()
	_, unserved := r.unserved[listenerID]
	r.mu.Unlock()
	if unserved {
		return dataplane.StatusOffline
	}
	if s := r.dp.ListenerStatus(listenerID); s != "" {
		return s
	}
	return dataplane.StatusOnline // created after the last apply: being bound now
}

// ListenerDataPlane says what serves the listener's traffic (dataplane.PathKernel, PathProxy
// or PathProxyLeastConn), "" while nothing does (OFFLINE, or not applied yet).
func (r *Runtime) ListenerDataPlane(listenerID string) string {
	if r.ListenerStatus(listenerID) != dataplane.StatusOnline {
		return ""
	}
	return r.dp.ListenerDataPlane(listenerID)
}

// ListenerError says why a listener is OFFLINE, or nil.
func (r *Runtime) ListenerError(listenerID string) error {
	r.mu.Lock()
	why, unserved := r.unserved[listenerID]
	r.mu.Unlock()
	if unserved {
		return errors.New(why)
	}
	return r.dp.ListenerError(listenerID)
}

// MemberCounters returns the member's traffic counters.
func (r *Runtime) MemberCounters(memberID string) dataplane.Counters {
	return r.dp.MemberCounters(memberID)
}

// ListenerCounters returns the listener's traffic counters.
func (r *Runtime) ListenerCounters(listenerID string) dataplane.Counters {
	return r.dp.ListenerCounters(listenerID)
}

// Collector collects the data plane's counters and health transitions (elbd's
// server registers it beside the API's metrics).
func (r *Runtime) Collector() prometheus.Collector { return r.dp.Collector() }

// MetricsHandler serves the data plane's metrics alone in the Prometheus text format.
func (r *Runtime) MetricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(r.Collector())
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// Close stops following the store and closes the data plane (its listeners,
// health checks and connections).
func (r *Runtime) Close() error {
	r.closeOnce.Do(func() {
		close(r.stop)
		<-r.done
	})
	return r.dp.Close()
}
