package dataplane

import (
	"testing"
	"time"
)

// E7 (services/elb/v3/model/model_connection_drain.go): a removed member's connections are closed
// at the drain timeout however many times its pool changed since they were opened. Here m1's
// weight changes between the connections' start and m0's removal, so m0's connection was opened
// on an earlier pool generation than the one m0 is removed from.
func TestConnectionDrainOfAMemberRemovedAfterOtherChanges(t *testing.T) {
	const drain = 1500 * time.Millisecond
	dp := newTestDataPlane(t)
	pool, _ := tcpPool(t, 204, "ROUND_ROBIN", 1, 1)
	pool.Drain = drain
	l := tcpListener("l", 204, pool)
	apply(t, dp, Config{Listeners: []Listener{l}})
	conns := twoConns(t, "127.50.0.204:8080")

	// Another change to the pool: m1's weight.
	reweighted := *pool
	reweighted.Members = append([]Member(nil), pool.Members...)
	reweighted.Members[1].Weight = 2
	l.Pool = &reweighted
	apply(t, dp, Config{Listeners: []Listener{l}})

	// m0 leaves the pool.
	removed := reweighted
	removed.Members = reweighted.Members[1:]
	l.Pool = &removed
	apply(t, dp, Config{Listeners: []Listener{l}})
	removedAt := time.Now()
	if err := conns["m0"].alive(); err != nil {
		t.Fatalf("the removed member's connection broke at once: %v", err)
	}
	time.Sleep(drain + time.Second - time.Since(removedAt))
	if err := conns["m0"].alive(); err == nil {
		t.Fatalf("the removed member's connection is still up %s after the %s drain (it was opened before an earlier change to the pool)", time.Since(removedAt).Round(time.Millisecond), drain)
	}
	if err := conns["m1"].alive(); err != nil {
		t.Fatalf("the kept member's connection was cut: %v", err)
	}
}
