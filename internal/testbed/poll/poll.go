// Package poll is the tests' one wait for something asynchronous (a data plane taking a change
// up, a cluster or a controller converging): check again and again until it holds or time runs
// out.
package poll

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Within calls check until it returns nil, at first every 10 ms, then less often, up to every
// 200 ms; after limit it fails the test with what and check's last error. check's context ends
// at the limit.
func Within(t testing.TB, limit time.Duration, what string, check func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	every := 10 * time.Millisecond
	for {
		last := check(ctx)
		if last == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not within %s: %v", what, limit, last)
		case <-time.After(every):
		}
		every = min(2*every, 200*time.Millisecond)
	}
}

// True is Within for a condition that only says whether it holds.
func True(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	Within(t, limit, what, func(context.Context) error {
		if cond() {
			return nil
		}
		return errors.New("not yet")
	})
}

// State is Within for a condition that says whether it holds and what it saw.
func State(t testing.TB, limit time.Duration, what string, cond func() (ok bool, state string)) {
	t.Helper()
	Within(t, limit, what, func(context.Context) error {
		if ok, state := cond(); !ok {
			return errors.New("last state: " + state)
		}
		return nil
	})
}
