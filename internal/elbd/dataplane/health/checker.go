package health

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/time/rate"
)

// State is the rise/fall state machine of one member: it starts up (a new
// member gets traffic at once, as on HAProxy) and flips only after
// MaxRetriesDown consecutive failures or MaxRetries consecutive successes.
type State struct {
	up         bool
	succ, fail int
	rise, fall int
}

// NewState returns the state of a member that starts up.
func NewState(rise, fall int) *State {
	return &State{up: true, rise: max(rise, 1), fall: max(fall, 1)}
}

// Up reports the current state.
func (s *State) Up() bool { return s.up }

// Observe records a probe result and reports whether the state flipped.
func (s *State) Observe(ok bool) (changed bool) {
	if ok {
		s.fail = 0
		s.succ++
		if !s.up && s.succ >= s.rise {
			s.up, s.succ = true, 0
			return true
		}
		return false
	}
	s.succ = 0
	s.fail++
	if s.up && s.fail >= s.fall {
		s.up, s.fail = false, 0
		return true
	}
	return false
}

// Checker probes one member every Delay until stopped.
type Checker struct {
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	up     bool
	last   error
	// checked is set by the first verdict: a passed probe, or the failures
	// that take the member down (a probe this process could not run is no
	// result). Until then the member's status is INITIAL: a member whose
	// first probes failed but fewer than MaxRetriesDown times is not ONLINE
	// (E4, services/elb/v3/model/model_member.go operating_status), though it
	// still gets traffic, as a new member does.
	checked atomic.Bool
	// localErrors counts probes not run for want of a local resource.
	localErrors atomic.Int64
	localLogs   rate.Sometimes // their warnings, one per localErrorLogEvery
}

// Start begins probing member at addr (the monitor's port replaces its port
// when set). onChange is called, from the checker's goroutine, on every flip.
// The first probe runs at once.
func Start(m Monitor, addr netip.AddrPort, onChange func(up bool, cause error)) *Checker {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Checker{cancel: cancel, done: make(chan struct{}), up: true}
	c.localLogs.Interval = localErrorLogEvery
	target := m.Target(addr)
	go func() {
		defer close(c.done)
		st := NewState(m.MaxRetries, m.MaxRetriesDown)
		t := time.NewTicker(m.Delay)
		defer t.Stop()
		for {
			err := m.Probe(ctx, target)
			if ctx.Err() != nil {
				return
			}
			if IsLocalResourceError(err) {
				c.noteLocalError(target, err)
			} else {
				c.observe(st, err, onChange)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return c
}

// observe feeds one probe result to the state machine.
func (c *Checker) observe(st *State, err error, onChange func(up bool, cause error)) {
	changed := st.Observe(err == nil)
	c.mu.Lock()
	c.up, c.last = st.Up(), err
	c.mu.Unlock()
	if err == nil || !st.Up() {
		c.checked.Store(true)
	}
	if changed {
		onChange(st.Up(), err)
	}
}

// localErrorLogEvery rate-limits the log line of a checker that cannot probe.
const localErrorLogEvery = time.Minute

// noteLocalError records a probe that this process could not run: the
// member is not to blame, so its state stays as it is.
func (c *Checker) noteLocalError(target netip.AddrPort, err error) {
	c.localErrors.Add(1)
	c.localLogs.Do(func() {
		slog.Warn("health probe not run: this process is out of a local resource (descriptors, buffers, memory or ports); the member keeps its status",
			"target", target.String(), "err", err, "probes_not_run", c.localErrors.Load())
	})
}

// IsLocalResourceError reports whether err says this host or process ran out
// of something (descriptors, socket buffers, memory, local ports) rather than
// that the peer failed. The data plane asks it too, of its member sockets.
func IsLocalResourceError(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM) ||
		errors.Is(err, syscall.EADDRNOTAVAIL)
}

// Up reports the member's state and the last probe error.
func (c *Checker) Up() (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.up, c.last
}

// Checked reports whether the probes have given a verdict yet (a pass, or
// the member taken down).
func (c *Checker) Checked() bool { return c.checked.Load() }

// Stop ends probing and waits for the probe goroutine.
func (c *Checker) Stop() {
	c.cancel()
	<-c.done
}
