package deploy

import (
	"context"
	"testing"
	"time"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/elbclient/fake"
	"github.com/fleetlb/fleetlb/internal/controller/model"
)

// clock is a hand-moved time for the drains of one or more deployers.
type clock struct{ t time.Time }

func (c *clock) now() time.Time                        { return c.t }
func (c *clock) advance(d time.Duration)               { c.t = c.t.Add(d) }
func drainingDeployer(f *fake.ELB, c *clock) *Deployer { d := newDeployer(f); d.now = c.now; return d }

// byAddress maps each member of cluster-a to its weight, by address.
func weightsOfA(ms []elbclient.Member) map[string]int {
	out := map[string]int{}
	for _, m := range ms {
		if owns(refA, m) {
			out[m.Address] = m.Weight
		}
	}
	return out
}

// T1: a member this cluster no longer wants (its Pod terminating, a scale-down) goes to weight 0
// and stays for the deregistration delay, then it is removed; other clusters' members and VMs are
// never touched; a restarted controller gives it a full delay again (never less); a member wanted
// again during its drain gets its weight back.
func TestT1_UnwantedMemberDrainsAtWeightZeroThenGoes(t *testing.T) {
	f := fake.New()
	lb := perfLB(f)
	c := &clock{t: time.Unix(1_000_000, 0)}
	a, b := drainingDeployer(f, c), drainingDeployer(f, c)
	const delay = 10 * time.Second
	want := func(n int) model.Desired {
		d := desired(refA, lb.ID, 90, members(1, n, 90))
		d.DeregistrationDelay = delay
		return d
	}
	mustApply(t, a, want(3))
	mustApply(t, b, desired(refB, lb.ID, 20, members(2, 2, 20)))
	pool := poolOf(t, f, lb.ID, 80)
	otherBefore := WeightsByOwner(f.Members(pool))["cluster-b"]

	// Scale 3 -> 2: 10.1.0.3 drains (weight 0), the two others share W = 90.
	res := mustApply(t, a, want(2))
	if w := weightsOfA(f.Members(pool)); len(w) != 3 || w["10.1.0.3"] != 0 || w["10.1.0.1"] != 45 || w["10.1.0.2"] != 45 {
		t.Fatalf("after the scale-down cluster-a's members are %v, want 10.1.0.3 kept at weight 0", w)
	}
	if res.Draining != 1 || res.DrainWait != delay || res.MembersRemoved != 0 {
		t.Fatalf("result %+v, want 1 member draining for %s and none removed", res, delay)
	}

	// Part-way: nothing to write, the time left is reported.
	c.advance(4 * time.Second)
	res = mustApply(t, a, want(2))
	if res.Writes != 0 || res.Draining != 1 || res.DrainWait != 6*time.Second {
		t.Fatalf("result 4 s into the drain %+v, want no write and 6 s left", res)
	}

	// A controller that restarted (new deployer, no memory) gives a full delay from now.
	restarted := drainingDeployer(f, c)
	if res = mustApply(t, restarted, want(2)); res.Draining != 1 || res.DrainWait != delay || res.Writes != 0 {
		t.Fatalf("after a restart: %+v, want the member kept for a full %s", res, delay)
	}

	// The first controller's delay ends: the member goes; cluster-b is untouched.
	c.advance(6 * time.Second)
	res = mustApply(t, a, want(2))
	if w := weightsOfA(f.Members(pool)); len(w) != 2 || res.MembersRemoved != 1 || res.Draining != 0 {
		t.Fatalf("after the delay: members %v, result %+v; want 10.1.0.3 removed", w, res)
	}
	if got := WeightsByOwner(f.Members(pool))["cluster-b"]; got != otherBefore {
		t.Fatalf("cluster-b's weight changed from %d to %d", otherBefore, got)
	}

	// Wanted again while draining: the weight comes back and the drain is forgotten.
	mustApply(t, a, want(1))
	c.advance(time.Second)
	mustApply(t, a, want(2))
	if w := weightsOfA(f.Members(pool)); w["10.1.0.2"] != 45 {
		t.Fatalf("a member wanted again during its drain has weight %d, want 45", w["10.1.0.2"])
	}
	c.advance(delay)
	if mustApply(t, a, want(2)); len(weightsOfA(f.Members(pool))) != 2 {
		t.Fatalf("members %v, want both kept", weightsOfA(f.Members(pool)))
	}
}

// T1: deleting a Service (member-only) drains its members before removing them, and the
// listener it created goes only after; an unfinished Release says how long is left.
func TestT1_ReleaseDrainsBeforeRemoving(t *testing.T) {
	f := fake.New()
	lb := perfLB(f)
	c := &clock{t: time.Unix(2_000_000, 0)}
	a := drainingDeployer(f, c)
	want := desired(refA, lb.ID, 80, members(1, 2, 80))
	want.DeregistrationDelay = 3 * time.Second
	mustApply(t, a, want)
	pool := poolOf(t, f, lb.ID, 80)

	rel, err := a.Release(context.Background(), want)
	if err != nil {
		t.Fatal(err)
	}
	if w := weightsOfA(f.Members(pool)); len(w) != 2 || w["10.1.0.1"] != 0 || w["10.1.0.2"] != 0 || rel.Draining != 2 || rel.DrainWait != 3*time.Second || rel.ListenersDeleted != 0 {
		t.Fatalf("first release: members %v, result %+v; want both at weight 0 for 3s, the listener kept", w, rel)
	}
	c.advance(3 * time.Second)
	if rel, err = a.Release(context.Background(), want); err != nil {
		t.Fatal(err)
	}
	if rel.Draining != 0 || rel.MembersRemoved != 2 || rel.ListenersDeleted != 1 || len(f.Listeners(lb.ID)) != 0 {
		t.Fatalf("release after the delay: %+v, listeners %+v; want the members and the listener gone", rel, f.Listeners(lb.ID))
	}
}
