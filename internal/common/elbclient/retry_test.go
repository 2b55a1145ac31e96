package elbclient_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/elbclient/elbtest"
	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/controller/deploy"
	"github.com/fleetlb/fleetlb/internal/controller/model"
	elbdfaults "github.com/fleetlb/fleetlb/internal/elbd/faults"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// C5 busy, throttled, slow: elbd's real API over HTTP through the official SDK, with a handler
// in front that injects what the real API does to a fleet: 429 throttling, 409 while the load
// balancer is PENDING_UPDATE, and replies lost after the write was done.

const (
	project = "p1"
	ak, sk  = "AK-RETRY", "SK-retry-secret"
	cfgText = `
credentials:
  - {accessKey: AK-RETRY, secretKey: SK-retry-secret, projectID: p1}
vpcs:
  - id: vpc-1
    cidr: 127.0.0.0/8
    subnets:
      - {id: subnet-vip, cidr: 127.250.0.0/24}
      - {id: subnet-nodes, cidr: 127.251.0.0/24}
`
)

type faults struct{ *elbdfaults.Injector }

func (f *faults) do(script ...elbdfaults.Kind) { f.Script(script...) }
func (f *faults) log() string                  { return f.Log() }

func newFaulty(t *testing.T, cfg elbclient.Config) (*faults, *elbclient.SDK, *store.Store) {
	t.Helper()
	h, st := elbtest.Handler(t, cfgText)
	f := &faults{&elbdfaults.Injector{Next: h}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg.Endpoint, cfg.ProjectID, cfg.AK, cfg.SK = srv.URL, project, ak, sk
	if cfg.Retry.Base == 0 {
		cfg.Retry = elbclient.Retry{Base: time.Millisecond, Max: 5 * time.Millisecond, BusyWait: 10 * time.Second}
	}
	c, err := elbclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f, c, st
}

// onEachFamily runs body once per API family (a subtest named after the class) against a fresh
// elbd behind the fault injector, holding one load balancer of that family: ctx names it
// (WithLoadBalancer) and api is the client of its class.
func onEachFamily(t *testing.T, body func(t *testing.T, f *faults, c *elbclient.SDK, api elbclient.API, ctx context.Context, lb store.LoadBalancer)) {
	for _, family := range []store.Family{store.FamilyV3, store.FamilyV2} {
		class := elbrules.ClassPerformance
		if family == store.FamilyV2 {
			class = elbrules.ClassUnion
		}
		t.Run(string(class), func(t *testing.T) {
			f, c, st := newFaulty(t, elbclient.Config{})
			lb, err := st.CreateLoadBalancer(store.Scope{Family: family, ProjectID: project},
				store.LoadBalancer{Name: "lb", VIPSubnetID: "subnet-vip", AdminStateUp: true})
			if err != nil {
				t.Fatal(err)
			}
			body(t, f, c, c.API(class), elbclient.WithLoadBalancer(context.Background(), lb.ID), lb)
		})
	}
}

func TestC5BusyThrottledSlow(t *testing.T) {
	onEachFamily(t, func(t *testing.T, f *faults, c *elbclient.SDK, api elbclient.API, ctx context.Context, lb store.LoadBalancer) {

		// Throttled: three 429s, then the listener is made, once.
		f.do("429", "429", "429")
		l, err := api.CreateListener(ctx, elbclient.ListenerSpec{LoadBalancerID: lb.ID, Name: "web", Description: "mark", Protocol: "TCP", Port: 80})
		if err != nil {
			t.Fatalf("create after 429s: %v\n%s", err, f.log())
		}
		if got := c.Retries(); got != 3 {
			t.Errorf("%d retries after three 429s, want 3", got)
		}

		// Busy: a 409 while the load balancer is PENDING_UPDATE is waited out (its status is
		// read until ACTIVE), then the write is repeated.
		f.do("409-busy")
		pool, err := api.CreatePool(ctx, elbclient.PoolSpec{ListenerID: l.ID, Name: "web", Description: "mark", Protocol: "TCP", Algorithm: "ROUND_ROBIN"})
		if err != nil {
			t.Fatalf("create while busy: %v\n%s", err, f.log())
		}
		if reads := strings.Count(f.log(), "GET "); reads < 3 {
			t.Errorf("the load balancer's status was read %d times, want until ACTIVE (3):\n%s", reads, f.log())
		}

		// Lost replies: each create is done by elbd but answered 502; the client looks it up
		// and makes no duplicate.
		f.do("lost")
		hm, err := api.CreateHealthMonitor(ctx, elbclient.HealthMonitorSpec{PoolID: pool.ID, Name: "web", Type: "TCP", Delay: 5, Timeout: 3, MaxRetries: 3})
		if err != nil || hm.ID == "" {
			t.Fatalf("monitor with a lost reply: %+v %v\n%s", hm, err, f.log())
		}
		if p, err := api.GetPool(ctx, pool.ID); err != nil || p.HealthMonitorID != hm.ID {
			t.Errorf("pool %+v %v, want monitor %s", p, err, hm.ID)
		}
		f.do("lost")
		l2, err := api.CreateListener(ctx, elbclient.ListenerSpec{LoadBalancerID: lb.ID, Name: "dns", Description: "mark", Protocol: "UDP", Port: 53})
		if err != nil {
			t.Fatalf("listener with a lost reply: %v\n%s", err, f.log())
		}
		f.do("lost")
		p2, err := api.CreatePool(ctx, elbclient.PoolSpec{ListenerID: l2.ID, Name: "dns", Description: "mark", Protocol: "UDP", Algorithm: "ROUND_ROBIN"})
		if err != nil || p2.ID == "" {
			t.Fatalf("pool with a lost reply: %+v %v\n%s", p2, err, f.log())
		}
		members := []elbclient.MemberSpec{
			{Name: "a", Address: "127.251.0.11", Port: 8080, Weight: 10, SubnetID: "subnet-nodes"},
			{Name: "b", Address: "127.251.0.12", Port: 8080, Weight: 10, SubnetID: "subnet-nodes"},
		}
		f.do("lost", "lost", "429", "409-busy")
		if _, err := api.AddMembers(ctx, pool.ID, members); err != nil {
			t.Fatalf("members with lost replies, throttled and busy: %v\n%s", err, f.log())
		}
		ls, err := api.ListListeners(ctx, lb.ID)
		if err != nil || len(ls) != 2 {
			t.Errorf("listeners %+v %v, want exactly 2 (no duplicate)", ls, err)
		}
		ms, err := api.ListMembers(ctx, pool.ID)
		if err != nil || len(ms) != 2 {
			t.Errorf("members %+v %v, want exactly 2 (no duplicate)", ms, err)
		}

		// Deleting with a lost reply: the repeat finds nothing, which is success.
		f.do("lost")
		if err := api.DeleteMembers(ctx, pool.ID, []string{ms[0].ID}); err != nil {
			t.Errorf("delete with a lost reply: %v\n%s", err, f.log())
		}

		// A real conflict (port taken, load balancer ACTIVE) is returned at once, unrepeated.
		f.do()
		_, err = api.CreateListener(ctx, elbclient.ListenerSpec{LoadBalancerID: lb.ID, Name: "again", Protocol: "TCP", Port: 80})
		if !errors.Is(err, elbclient.ErrConflict) {
			t.Fatalf("port taken: %v", err)
		}
		if n := strings.Count(f.log(), "POST "); n != 1 {
			t.Errorf("a real conflict was repeated (%d POSTs):\n%s", n, f.log())
		}
	})
}

// Retries are bounded: an API that keeps throttling is given up on after Retry.Attempts calls,
// with the 429 in the error.
func TestC5RetriesAreBounded(t *testing.T) {
	f, c, st := newFaulty(t, elbclient.Config{Retry: elbclient.Retry{Attempts: 4, Base: time.Millisecond, Max: time.Millisecond}})
	lb, err := st.CreateLoadBalancer(store.Scope{Family: store.FamilyV3, ProjectID: project},
		store.LoadBalancer{Name: "lb", VIPSubnetID: "subnet-vip", AdminStateUp: true})
	if err != nil {
		t.Fatal(err)
	}
	f.do("429", "429", "429", "429", "429", "429")
	_, err = c.API(elbrules.ClassPerformance).CreateListener(context.Background(), elbclient.ListenerSpec{LoadBalancerID: lb.ID, Name: "web", Protocol: "TCP", Port: 80})
	if !errors.Is(err, elbclient.ErrThrottled) || !strings.Contains(err.Error(), "APIG.0308") {
		t.Fatalf("err = %v", err)
	}
	if n := strings.Count(f.log(), "POST "); n != 4 {
		t.Errorf("%d calls, want 4:\n%s", n, f.log())
	}
}

// The client-side rate limit (--elb-qps, --elb-burst) holds every call: with a burst of 2 and one
// call per minute, a third call cannot be made within the caller's deadline, and says why.
func TestC5ClientSideRateLimit(t *testing.T) {
	f, c, _ := newFaulty(t, elbclient.Config{QPS: 1.0 / 60, Burst: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	api := c.API(elbrules.ClassPerformance)
	for i := range 3 {
		_, err := api.ListListeners(ctx, "lb-x")
		if i < 2 && err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
		if i == 2 && (err == nil || !strings.Contains(err.Error(), "--elb-qps")) {
			t.Fatalf("third call: %v, want the rate limit named", err)
		}
	}
	if n := strings.Count(f.log(), "GET "); n != 2 {
		t.Errorf("%d calls reached the API, want 2", n)
	}
	if _, err := elbclient.New(elbclient.Config{Endpoint: "http://127.0.0.1:1", ProjectID: "p", AK: "a", SK: "s", QPS: -1}); err == nil {
		t.Error("a negative --elb-qps must be refused")
	}
}

// C5 against elbd's real busy window (--provisioning-delay, E2): a shared ELB is PENDING_* for a
// while after every write and refuses the next one with 409. The deployer's whole Apply (listener,
// pool, monitor, one CreateMember per member on v2) gets through by waiting for ACTIVE; nothing is
// made twice, and a no-op Apply afterwards writes nothing.
func TestC5ElbdBusyWindow(t *testing.T) {
	h, st := elbtest.BusyHandler(t, cfgText, 150*time.Millisecond)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := elbclient.New(elbclient.Config{Endpoint: srv.URL, ProjectID: project, AK: ak, SK: sk,
		Retry: elbclient.Retry{Attempts: 10, Base: 50 * time.Millisecond, Max: 200 * time.Millisecond, BusyWait: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	lb, err := st.CreateLoadBalancer(store.Scope{Family: store.FamilyV2, ProjectID: project},
		store.LoadBalancer{Name: "shared", VIPSubnetID: "subnet-vip", AdminStateUp: true})
	if err != nil {
		t.Fatal(err)
	}
	d := deploy.New(c, deploy.Options{})
	want := model.Desired{
		Service: model.ServiceRef{ClusterID: "cluster-a", Namespace: "shop", Name: "web"},
		ELBID:   lb.ID, Class: elbrules.ClassUnion, Mode: model.ModeNode, Recycle: model.RecycleMemberOnly, Weight: 80,
		Listeners: []model.Listener{{Port: 80, Protocol: "TCP", Pool: model.Pool{Algorithm: "ROUND_ROBIN",
			HealthMonitor: &model.HealthMonitor{Type: "TCP", Delay: 5, Timeout: 3, MaxRetries: 3}}}},
	}
	for i := range 4 {
		want.Listeners[0].Members = append(want.Listeners[0].Members,
			model.Member{Address: fmt.Sprintf("127.251.0.%d", 11+i), Port: 30080, Weight: 20, SubnetID: "subnet-nodes"})
	}
	ctx := context.Background()
	res, err := d.Apply(ctx, want)
	if err != nil {
		t.Fatalf("apply through the busy window: %v", err)
	}
	if c.Retries() == 0 {
		t.Fatal("no busy 409 was met: the test proves nothing")
	}
	t.Logf("first bind: %d writes, %d calls repeated after a busy 409", res.Writes, c.Retries())
	api := c.API(elbrules.ClassUnion)
	ls, err := api.ListListeners(ctx, lb.ID)
	if err != nil || len(ls) != 1 {
		t.Fatalf("listeners %+v %v, want 1", ls, err)
	}
	ms, err := api.ListMembers(ctx, ls[0].DefaultPoolID)
	if err != nil || len(ms) != 4 {
		t.Fatalf("members %+v %v, want 4", ms, err)
	}
	if p, err := api.GetPool(ctx, ls[0].DefaultPoolID); err != nil || p.HealthMonitorID == "" {
		t.Errorf("pool %+v %v: no health monitor", p, err)
	}
	again, err := d.Apply(ctx, want)
	if err != nil || again.Writes != 0 {
		t.Errorf("no-op apply: %d writes, %v", again.Writes, err)
	}
}
