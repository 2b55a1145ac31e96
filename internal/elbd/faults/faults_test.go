package faults_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
	"github.com/fleetlb/fleetlb/internal/elbd/faults"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// F6: elbd with a faults: section answers a seeded fraction of calls with each fault, over real
// HTTP through the official SDK (elbclient, one attempt per call so every fault is seen).

const faultsSection = `
faults:
  seed: 42
  busy: 0.1
  serverError: 0.1
  throttle: 0.1
  timeout: 0.05
  lostResponse: 0.1
  timeoutHold: 5s
  accessKeys: [AK1]
`

// outcome is what the client saw of one write and whether elbd did it.
type outcome struct {
	seen string // "ok", "409-busy", "500", "429", "unreachable"
	done bool
}

// run makes n description updates of one listener with key AK1 and returns what each came to,
// checked against the store after each call, and the injector's counts.
func run(t *testing.T, n int) ([]outcome, map[faults.Kind]int, string) {
	t.Helper()
	srv := elbdtest.Start(t, elbdtest.Config+faultsSection, elbdtest.Options{})
	sc := store.Scope{Family: store.FamilyV3, ProjectID: "p1"}
	lb, err := srv.Store.CreateLoadBalancer(sc, store.LoadBalancer{Name: "lb", VIPSubnetID: "subnet-a1", AdminStateUp: true})
	if err != nil {
		t.Fatal(err)
	}
	l, err := srv.Store.CreateListener(sc, store.Listener{LoadBalancerID: lb.ID, Name: "web", Protocol: "TCP", ProtocolPort: 80, AdminStateUp: true})
	if err != nil {
		t.Fatal(err)
	}
	// The client's timeout is well above a loaded machine's slowest honest reply (an honest reply
	// taken for an injected timeout breaks the counts) and well below timeoutHold.
	c, err := elbclient.New(elbclient.Config{Endpoint: srv.URL, ProjectID: "p1", AK: "AK1", SK: "SK1-secret",
		Timeout: 500 * time.Millisecond, Retry: elbclient.Retry{Attempts: 1}, QPS: 10000, Burst: 10000})
	if err != nil {
		t.Fatal(err)
	}
	api := c.API(elbrules.ClassPerformance)
	var out []outcome
	for i := range n {
		before, _ := srv.Store.GetListener(sc, l.ID)
		desc := fmt.Sprintf("d%d", i)
		err := api.UpdateListenerDescription(context.Background(), l.ID, desc)
		after, gerr := srv.Store.GetListener(sc, l.ID)
		if gerr != nil {
			t.Fatal(gerr)
		}
		o := outcome{done: after.Description == desc}
		if !o.done && after.Description != before.Description {
			t.Fatalf("call %d: the description is %q, neither the old %q nor the new %q", i, after.Description, before.Description, desc)
		}
		var ae *elbclient.APIError
		switch {
		case err == nil:
			o.seen = "ok"
		case !errors.As(err, &ae):
			t.Fatalf("call %d: %v is not an API error", i, err)
		case ae.StatusCode == 409 && ae.Code == "ELB.8907" && strings.Contains(ae.Message, "Invalid state PENDING_UPDATE of loadbalancer resource"):
			o.seen = string(faults.Busy)
		case ae.StatusCode == 500 && ae.Code == "ELB.0001":
			o.seen = string(faults.ServerError)
		case ae.StatusCode == 429 && ae.Code == "APIG.0308":
			o.seen = string(faults.Throttle)
		case errors.Is(err, elbclient.ErrUnreachable):
			o.seen = "unreachable"
		default:
			t.Fatalf("call %d: unexpected error %v", i, err)
		}
		// Only a successful call and a lost reply leave the write done.
		if o.seen != "ok" && o.seen != "unreachable" && o.done {
			t.Fatalf("call %d answered %s but the write was done", i, o.seen)
		}
		if o.seen == "ok" && !o.done {
			t.Fatalf("call %d answered 2xx but the write is not there", i)
		}
		out = append(out, o)
	}

	// Key AK2 is not in faults.accessKeys: none of its calls is faulted.
	c2, err := elbclient.New(elbclient.Config{Endpoint: srv.URL, ProjectID: "p2", AK: "AK2", SK: "SK2-secret", Retry: elbclient.Retry{Attempts: 1}, QPS: 10000, Burst: 10000})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if _, err := c2.ListLoadBalancers(context.Background()); err != nil {
			t.Fatalf("AK2 call %d: %v (a key outside faults.accessKeys was faulted)", i, err)
		}
	}
	inj := srv.Faults()
	got := inj.Injected()
	// The metric elbd_faults_injected_total{kind} says the same, for every kind.
	reg := prometheus.NewRegistry()
	reg.MustRegister(inj)
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 || mfs[0].GetName() != "elbd_faults_injected_total" || len(mfs[0].GetMetric()) != len(faults.Kinds) {
		t.Fatalf("metrics %v %v", mfs, err)
	}
	for _, m := range mfs[0].GetMetric() {
		k := faults.Kind(m.GetLabel()[0].GetValue())
		if int(m.GetCounter().GetValue()) != got[k] {
			t.Errorf("elbd_faults_injected_total{kind=%q} is %v, the injector counts %d", k, m.GetCounter().GetValue(), got[k])
		}
	}
	return out, got, inj.String()
}

func TestSeededFaultsOfEachKind(t *testing.T) {
	const n = 300
	first, injected, summary := run(t, n)
	t.Logf("%d writes: %s", n, summary)
	count := map[string]int{}
	for _, o := range first {
		k := o.seen
		if k == "unreachable" {
			// No reply: a timeout if the write was not done, a lost reply if it was.
			k = string(faults.Timeout)
			if o.done {
				k = string(faults.Lost)
			}
		}
		count[k]++
	}
	for _, k := range faults.Kinds {
		if count[string(k)] != injected[k] {
			t.Errorf("the client saw %d %q, the injector counts %d", count[string(k)], k, injected[k])
		}
		// 5-10% of 300 calls each: a kind that never came, or far too often, is a broken draw.
		if injected[k] < 5 || injected[k] > 60 {
			t.Errorf("%q injected %d times in %d calls; want about %d", k, injected[k], n, n/10)
		}
	}
	if count["ok"]+len(faults.Kinds) > n || count["ok"] < n/3 {
		t.Errorf("%d of %d calls went through", count["ok"], n)
	}

	// The same seed and the same calls in the same order: the same faults.
	second, _, _ := run(t, n)
	for i := range first {
		if first[i] != second[i] {
			t.Fatalf("call %d: %+v in the first run, %+v in the second (same seed)", i, first[i], second[i])
		}
	}
}
