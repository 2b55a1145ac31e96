package elbclient_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// C5 holds for every call, not only the deployer's: the settings updates (C6, C11) and the
// ownership renames of --adopt-cluster-id (C4) wait out a busy 409 and back off a 429 like the
// rest, and the reads of the sweep and the quota check wait for the client-side rate limit.
func TestC5SettingsAndRenamesAreRetried(t *testing.T) {
	onEachFamily(t, func(t *testing.T, f *faults, c *elbclient.SDK, api elbclient.API, ctx context.Context, lb store.LoadBalancer) {
		l, err := api.CreateListener(ctx, elbclient.ListenerSpec{LoadBalancerID: lb.ID, Name: "web", Description: "mark", Protocol: "TCP", Port: 80})
		if err != nil {
			t.Fatal(err)
		}
		pool, err := api.CreatePool(ctx, elbclient.PoolSpec{ListenerID: l.ID, Name: "web", Description: "mark", Protocol: "TCP", Algorithm: "ROUND_ROBIN"})
		if err != nil {
			t.Fatal(err)
		}
		hm, err := api.CreateHealthMonitor(ctx, elbclient.HealthMonitorSpec{PoolID: pool.ID, Name: "web", Type: "TCP", Delay: 5, Timeout: 3, MaxRetries: 3})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := api.AddMembers(ctx, pool.ID, []elbclient.MemberSpec{{Name: "old-a", Address: "127.251.0.11", Port: 8080, Weight: 10, SubnetID: "subnet-nodes"}}); err != nil {
			t.Fatal(err)
		}
		ms, err := api.ListMembers(ctx, pool.ID)
		if err != nil || len(ms) != 1 {
			t.Fatalf("members %+v %v", ms, err)
		}

		writes := []struct {
			name string
			do   func() error
		}{
			{"UpdatePoolAlgorithm", func() error { return api.UpdatePoolAlgorithm(ctx, pool.ID, "LEAST_CONNECTIONS") }},
			{"UpdateHealthMonitor", func() error {
				return api.UpdateHealthMonitor(ctx, hm.ID, elbclient.HealthMonitorSpec{Type: "TCP", Delay: 7, Timeout: 4, MaxRetries: 2})
			}},
			{"UpdateListenerDescription", func() error { return api.UpdateListenerDescription(ctx, l.ID, "new-mark") }},
			{"UpdatePoolDescription", func() error { return api.UpdatePoolDescription(ctx, pool.ID, "new-mark") }},
			{"RenameMembers", func() error {
				return api.RenameMembers(ctx, pool.ID, []elbclient.MemberRename{{MemberID: ms[0].ID, Name: "new-a"}})
			}},
		}
		for _, w := range writes {
			before := c.Retries()
			f.do("429", "409-busy")
			if err := w.do(); err != nil {
				t.Fatalf("%s after a 429 and a busy 409: %v\n%s", w.name, err, f.log())
			}
			if got := c.Retries() - before; got != 2 {
				t.Errorf("%s: %d calls repeated, want 2 (the 429 and the busy 409)\n%s", w.name, got, f.log())
			}
		}

		// What the user sees: every change is on the ELB.
		p, err := api.GetPool(ctx, pool.ID)
		if err != nil || p.Algorithm != "LEAST_CONNECTIONS" || p.Description != "new-mark" {
			t.Errorf("pool %+v %v, want LEAST_CONNECTIONS and new-mark", p, err)
		}
		if h, err := api.GetHealthMonitor(ctx, hm.ID); err != nil || h.Delay != 7 || h.MaxRetries != 2 {
			t.Errorf("monitor %+v %v, want delay 7, max retries 2", h, err)
		}
		if ls, err := api.ListListeners(ctx, lb.ID); err != nil || len(ls) != 1 || ls[0].Description != "new-mark" {
			t.Errorf("listeners %+v %v, want one with new-mark", ls, err)
		}
		if ms, err := api.ListMembers(ctx, pool.ID); err != nil || len(ms) != 1 || ms[0].Name != "new-a" {
			t.Errorf("members %+v %v, want one named new-a", ms, err)
		}
	})
}

// The reads outside the deployer (listeners on a port, the sweep's inventory, the quota checks)
// wait for the client-side rate limit (--elb-qps, --elb-burst) like every other call: with a burst
// of 1 spent, none of them reaches the API within the caller's deadline.
func TestC5RateLimitHoldsEveryRead(t *testing.T) {
	reads := map[string]func(context.Context, *elbclient.SDK) error{
		"ListListenersOnPort": func(ctx context.Context, c *elbclient.SDK) error {
			_, err := c.API(elbrules.ClassPerformance).ListListenersOnPort(ctx, "lb-x", 80)
			return err
		},
		"ListListenersOnPort v2": func(ctx context.Context, c *elbclient.SDK) error {
			_, err := c.API(elbrules.ClassUnion).ListListenersOnPort(ctx, "lb-x", 80)
			return err
		},
		"ListLoadBalancers": func(ctx context.Context, c *elbclient.SDK) error { _, err := c.ListLoadBalancers(ctx); return err },
		"MemberQuota":       func(ctx context.Context, c *elbclient.SDK) error { _, _, err := c.MemberQuota(ctx); return err },
		"ProjectMemberUsage": func(ctx context.Context, c *elbclient.SDK) error {
			_, _, err := c.ProjectMemberUsage(ctx)
			return err
		},
	}
	for name, read := range reads {
		t.Run(name, func(t *testing.T) {
			f, c, _ := newFaulty(t, elbclient.Config{QPS: 1.0 / 60, Burst: 1})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := c.API(elbrules.ClassPerformance).ListListeners(ctx, "lb-x"); err != nil {
				t.Fatal(err)
			}
			f.do()
			err := read(ctx, c)
			if err == nil || !strings.Contains(err.Error(), "--elb-qps") {
				t.Errorf("%s with the burst spent: %v, want the rate limit named", name, err)
			}
			if log := f.log(); log != "" {
				t.Errorf("%s reached the API past the rate limit:\n%s", name, log)
			}
		})
	}
	// MembersOfLoadBalancer is v3 only: the interface has it through a type assertion.
	t.Run("MembersOfLoadBalancer", func(t *testing.T) {
		f, c, _ := newFaulty(t, elbclient.Config{QPS: 1.0 / 60, Burst: 1})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		api := c.API(elbrules.ClassPerformance)
		m, ok := api.(interface {
			MembersOfLoadBalancer(context.Context, string) (map[string][]elbclient.Member, error)
		})
		if !ok {
			t.Fatal("the v3 API has no MembersOfLoadBalancer")
		}
		if _, err := api.ListListeners(ctx, "lb-x"); err != nil {
			t.Fatal(err)
		}
		f.do()
		if _, err := m.MembersOfLoadBalancer(ctx, "lb-x"); err == nil || !strings.Contains(err.Error(), "--elb-qps") {
			t.Errorf("MembersOfLoadBalancer with the burst spent: %v, want the rate limit named", err)
		}
	})
}
