package console

import (
	"sync"
	"time"
)

// DefaultShareWindow is how far back the measured share of a listener looks.
const DefaultShareWindow = 30 * time.Second

// sampleEvery is the least time between two kept readings of a member's counter: the page polls
// every 2 s, several pages may poll at once.
const sampleEvery = time.Second

// reading is a member's count of forwarded connections at one time.
type reading struct {
	at    time.Time
	total int64
}

// shareWindow (O14) turns the data plane's per-member counters of forwarded connections (which only
// grow, and restart from 0 with elbd) into the number of new connections each member got within
// the last window: readings are kept per member, taken when a page asks (no goroutine runs
// meanwhile), and the oldest reading within the window is the baseline.
type shareWindow struct {
	mu       sync.Mutex
	window   time.Duration
	readings map[string][]reading
}

func newShareWindow(window time.Duration) *shareWindow {
	return &shareWindow{window: window, readings: map[string][]reading{}}
}

// recent records member id's total at now and returns how many connections it got since its
// baseline. ok is false on the first reading of a member created before the window (there is no
// baseline yet); a member created within the window counts from 0 at its creation, as the data
// plane does.
func (w *shareWindow) recent(id string, created, now time.Time, total int64) (n int64, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	rs := w.readings[id]
	if len(rs) > 0 && total < rs[len(rs)-1].total {
		rs = nil // the counter restarted (elbd restarted, or the member was rebuilt)
	}
	if len(rs) == 0 && now.Sub(created) <= w.window {
		rs = append(rs, reading{at: created, total: 0})
	}
	// Drop readings older than the window, but keep the newest of them as the baseline.
	cut := 0
	for cut+1 < len(rs) && now.Sub(rs[cut+1].at) >= w.window {
		cut++
	}
	rs = rs[cut:]
	if len(rs) == 0 || now.Sub(rs[len(rs)-1].at) >= sampleEvery {
		rs = append(rs, reading{at: now, total: total})
	}
	w.readings[id] = rs
	if !rs[0].at.Before(now) {
		return 0, false // the first reading is the baseline
	}
	return total - rs[0].total, true
}

// prune drops the readings of members not read for two windows (removed members, listeners no
// page shows any more).
func (w *shareWindow) prune(now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, rs := range w.readings {
		if now.Sub(rs[len(rs)-1].at) > 2*w.window {
			delete(w.readings, id)
		}
	}
}
