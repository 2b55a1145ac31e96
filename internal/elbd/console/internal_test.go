package console

import (
	"testing"
	"time"
)

// A session lasts its TTL after its last request, then is gone; sessions have distinct IDs and
// CSRF tokens.
func TestO10SessionExpiry(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ss := newSessions(time.Hour, func() time.Time { return now })
	a, b := ss.create("AK1", "p1"), ss.create("AK1", "p1")
	if a.id == b.id || a.csrf == b.csrf || a.id == a.csrf || len(a.id) != 64 {
		t.Fatalf("sessions %q/%q, tokens %q/%q: want distinct 64-hex values", a.id, b.id, a.csrf, b.csrf)
	}
	now = now.Add(59 * time.Minute)
	if s := ss.get(a.id); s == nil || s.project != "p1" {
		t.Fatal("a session used within its TTL is gone")
	}
	now = now.Add(59 * time.Minute) // 59 min after a's last use, 118 after b's
	if ss.get(a.id) == nil {
		t.Error("a session was not extended by its use")
	}
	if ss.get(b.id) != nil {
		t.Error("an idle session outlived its TTL")
	}
	if ss.get("guess") != nil {
		t.Error("an unknown ID has a session")
	}
}

// The measured count of a member is what it got within the window: from its creation when that
// is within the window, else from the first reading; a restarted counter counts from 0.
func TestO14ShareWindow(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w := newShareWindow(30 * time.Second)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

	// Created long ago: no baseline at the first reading.
	if _, ok := w.recent("old", at(-3600), at(0), 500); ok {
		t.Error("first reading of an old member measured something")
	}
	if n, ok := w.recent("old", at(-3600), at(2), 510); !ok || n != 10 {
		t.Errorf("old member at 2 s: %d %v, want 10", n, ok)
	}
	if n, _ := w.recent("old", at(-3600), at(20), 600); n != 100 {
		t.Errorf("old member at 20 s: %d, want 100", n)
	}
	// 40 s: the readings at 0 and 2 s left the window; the baseline is the newest of them (2 s).
	if n, _ := w.recent("old", at(-3600), at(40), 650); n != 140 {
		t.Errorf("old member at 40 s: %d, want 140 (since the 2 s reading)", n)
	}
	// 60 s: the 20 s reading is the baseline.
	if n, _ := w.recent("old", at(-3600), at(60), 650); n != 50 {
		t.Errorf("old member at 60 s: %d, want 50 (since the 20 s reading)", n)
	}

	// Created 5 s ago: counts from 0 at creation.
	if n, ok := w.recent("new", at(55), at(60), 7); !ok || n != 7 {
		t.Errorf("new member: %d %v, want 7 since its creation", n, ok)
	}
	// The counter went down (the member was rebuilt): that reading is the new baseline.
	if _, ok := w.recent("old", at(-3600), at(62), 3); ok {
		t.Error("a restarted counter was measured against the readings before the restart")
	}
	if n, ok := w.recent("old", at(-3600), at(64), 9); !ok || n != 6 {
		t.Errorf("after the restart: %d %v, want 6", n, ok)
	}

	// Members not read for two windows are forgotten.
	w.prune(at(200))
	if len(w.readings) != 0 {
		t.Errorf("%d members still kept after two idle windows", len(w.readings))
	}
}
