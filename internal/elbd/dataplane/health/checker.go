package health

import (
	"context"
	"net/netip"
	"sync"
	"time"
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
}

// Start begins probing member at addr (the monitor's port replaces its port
// when set). onChange is called, from the checker's goroutine, on every flip.
// The first probe runs at once.
func Start(m Monitor, addr netip.AddrPort, onChange func(up bool, cause error)) *Checker {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Checker{cancel: cancel, done: make(chan struct{}), up: true}
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
			changed := st.Observe(err == nil)
			c.mu.Lock()
			c.up, c.last = st.Up(), err
			c.mu.Unlock()
			if changed {
				onChange(st.Up(), err)
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

// Up reports the member's state and the last probe error.
func (c *Checker) Up() (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.up, c.last
}

// Stop ends probing and waits for the probe goroutine.
func (c *Checker) Stop() {
	c.cancel()
	<-c.done
}
