package deploy_test

// Integration tests: the deployer through the real SDK client (internal/common/elbclient) against elbd's
// real API router and bbolt store over HTTP, with SDK-HMAC-SHA256 signing. Every assertion reads the
// ELB back through the SDK.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/elbclient/elbtest"
	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/common/ownership"
	"github.com/fleetlb/fleetlb/internal/controller/deploy"
	"github.com/fleetlb/fleetlb/internal/controller/model"
	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

const elbdConfig = `
credentials:
  - accessKey: AK-fleet
    secretKey: SK-fleet-secret
    projectID: proj1
` + elbdtest.VPCs

// elbd is elbd's API served over HTTP for one test.
type elbd struct {
	*elbtest.Server
	t *testing.T
	// loseResponse, when set, is asked for each request: true runs the handler but answers 503,
	// as when the response is lost on the way back.
	loseResponse func(r *http.Request) bool
	mu           sync.Mutex
}

func startELBD(t *testing.T) *elbd {
	t.Helper()
	return startELBDWith(t, "")
}

// startDedicated is how most tests begin: elbd, one dedicated load balancer (no IP-type
// backends) and a client with the fleet's key.
func startDedicated(t *testing.T) (*elbd, string, *elbclient.SDK) {
	t.Helper()
	e := startELBD(t)
	return e, e.dedicated(false), e.client("SK-fleet-secret")
}

// startELBDWith starts elbd with more configuration after elbdConfig (quotas, ...).
func startELBDWith(t *testing.T, more string) *elbd {
	t.Helper()
	e := &elbd{t: t}
	e.Server = elbtest.Serve(t, elbdConfig+more, elbtest.Options{Front: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			e.mu.Lock()
			lose := e.loseResponse != nil && e.loseResponse(r)
			e.mu.Unlock()
			if lose {
				h.ServeHTTP(httptest.NewRecorder(), r)
				http.Error(w, `{"error_code":"APIGW.0503","error_msg":"response lost (injected)"}`, http.StatusServiceUnavailable)
				return
			}
			h.ServeHTTP(w, r)
		})
	}})
	return e
}

func (e *elbd) client(sk string) *elbclient.SDK {
	e.t.Helper()
	return e.Client(e.t, elbclient.Config{Region: "local", ProjectID: "proj1", AK: "AK-fleet", SK: sk, Timeout: 10 * time.Second, QPS: 1000, Burst: 1000})
}

// dedicated creates a performance ELB in subnet-a1, as an operator would.
func (e *elbd) dedicated(ipTarget bool) string {
	e.t.Helper()
	return e.LoadBalancer(e.t, store.FamilyV3, "proj1", store.LoadBalancer{Name: "shared-elb", VIPSubnetID: "subnet-a1", IPTargetEnable: ipTarget}).ID
}

// shared creates a union (v2) ELB in subnet-a1.
func (e *elbd) shared() string {
	e.t.Helper()
	return e.LoadBalancer(e.t, store.FamilyV2, "proj1", store.LoadBalancer{Name: "shared-union", VIPSubnetID: "subnet-a1"}).ID
}

var (
	clusterA = model.ServiceRef{ClusterID: "2f6c3d1e-aaaa-4b0c-9d1e-000000000001", Namespace: "shop", Name: "web"}
	clusterB = model.ServiceRef{ClusterID: "2f6c3d1e-bbbb-4b0c-9d1e-000000000002", Namespace: "shop", Name: "web"}
)

// nodes: n node members 127.10.1.<base+i>:30080 in subnet-a1 sharing weight w (R3, one pod each).
func nodes(base, n, w int) []model.Member {
	var out []model.Member
	for i := 1; i <= n; i++ {
		out = append(out, model.Member{Address: fmt.Sprintf("127.10.1.%d", base+i), Port: 30080, Weight: (w + n - 1) / n, SubnetID: "subnet-a1", Pods: 1})
	}
	return out
}

func want(ref model.ServiceRef, elbID string, w int, ms []model.Member) model.Desired {
	return model.Desired{
		Service: ref, ELBID: elbID, Class: elbrules.ClassPerformance, Mode: model.ModeNode, Recycle: model.RecycleMemberOnly, Weight: w,
		Listeners: []model.Listener{{Port: 80, Protocol: "TCP", Members: ms,
			Pool: model.Pool{Algorithm: "ROUND_ROBIN", HealthMonitor: &model.HealthMonitor{Type: "TCP", Delay: 5, Timeout: 3, MaxRetries: 3}}}},
	}
}

func apply(t *testing.T, d *deploy.Deployer, w model.Desired) deploy.Result {
	t.Helper()
	res, err := d.Apply(context.Background(), w)
	if err != nil {
		t.Fatalf("Apply(%s): %v", w.Service.ClusterID, err)
	}
	return res
}

// pool reads the listener on port and its pool's members, through the SDK.
func pool(t *testing.T, c elbclient.Client, elbID string, port int32) (elbclient.Listener, []elbclient.Member) {
	t.Helper()
	ctx := context.Background()
	api := c.API(elbrules.ClassPerformance)
	ls, err := api.ListListeners(ctx, elbID)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		if l.Port == port {
			ms, err := api.ListMembers(ctx, l.DefaultPoolID)
			if err != nil {
				t.Fatal(err)
			}
			return l, ms
		}
	}
	t.Fatalf("no listener on port %d among %+v", port, ls)
	return elbclient.Listener{}, nil
}

func TestELBD_CheckAndTypedErrors(t *testing.T) {
	e := startELBD(t)
	ctx := context.Background()
	if err := e.client("SK-fleet-secret").Check(ctx); err != nil {
		t.Fatalf("Check with good keys: %v", err)
	}
	err := e.client("wrong-secret").Check(ctx)
	if !errors.Is(err, elbclient.ErrUnauthorized) || !strings.Contains(err.Error(), "HUAWEICLOUD_SDK_SK") {
		t.Fatalf("Check with a wrong SK: %v", err)
	}
	bad, err := elbclient.New(elbclient.Config{Endpoint: "http://127.0.0.1:1", ProjectID: "proj1", AK: "a", SK: "b", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.Check(ctx); !errors.Is(err, elbclient.ErrUnreachable) || !strings.Contains(err.Error(), "--elb-endpoint") {
		t.Fatalf("Check on a closed port: %v", err)
	}
	if _, err := elbclient.New(elbclient.Config{Endpoint: "elb.example.com", ProjectID: "p", AK: "a", SK: "b"}); err == nil {
		t.Fatal("an endpoint without a scheme was accepted")
	}
	if _, err := elbclient.New(elbclient.Config{Endpoint: e.URL, ProjectID: "p"}); err == nil || !strings.Contains(err.Error(), "HUAWEICLOUD_SDK_AK") {
		t.Fatalf("missing keys: %v", err)
	}

	c := e.client("SK-fleet-secret")
	if _, err := c.GetLoadBalancer(ctx, "6b1d7c8e-0000-0000-0000-000000000000"); !errors.Is(err, elbclient.ErrNotFound) {
		t.Fatalf("unknown ELB: %v", err)
	}
	lbID := e.dedicated(true)
	lb, err := c.GetLoadBalancer(ctx, lbID)
	if err != nil || lb.Class != elbrules.ClassPerformance || !lb.IPTargetEnable || lb.VIP == "" || lb.VPCID != "vpc-a" {
		t.Fatalf("GetLoadBalancer = %+v, %v", lb, err)
	}
	v3 := c.API(elbrules.ClassPerformance)
	spec := elbclient.ListenerSpec{LoadBalancerID: lbID, Protocol: "TCP", Port: 80}
	if _, err := v3.CreateListener(ctx, spec); err != nil {
		t.Fatal(err)
	}
	_, err = v3.CreateListener(ctx, spec)
	var ae *elbclient.APIError
	if !errors.Is(err, elbclient.ErrConflict) || !errors.As(err, &ae) || ae.StatusCode != 409 || ae.Code == "" || ae.RequestID == "" {
		t.Fatalf("duplicate listener: %v", err)
	}
	if c.Writes() != 2 {
		t.Fatalf("client counted %d writes, want 2", c.Writes())
	}
}

// S1: clusters A (80) and B (20) on one listener and one pool; a no-op re-apply writes nothing.
func TestELBD_S1TwoClustersOneListener(t *testing.T) {
	e := startELBD(t)
	lbID := e.dedicated(false)
	ca, cb := e.client("SK-fleet-secret"), e.client("SK-fleet-secret")
	a, b := deploy.New(ca, deploy.Options{}), deploy.New(cb, deploy.Options{})

	resA := apply(t, a, want(clusterA, lbID, 80, nodes(0, 2, 80)))
	resB := apply(t, b, want(clusterB, lbID, 20, nodes(10, 1, 20)))
	if resA.ListenersCreated != 1 || resB.ListenersCreated != 0 || resA.VIP == "" || !slices.Equal(resB.ListenerPorts, []int32{80}) {
		t.Fatalf("results A %+v B %+v", resA, resB)
	}
	l, ms := pool(t, ca, lbID, 80)
	if mark, ok := ownership.ParseMark(l.Description); !ok || !mark.MultiCluster || !mark.IsService(clusterA) {
		t.Fatalf("listener description %q", l.Description)
	}
	if w := deploy.WeightsByOwner(ms); len(ms) != 3 || w[clusterA.ClusterID] != 80 || w[clusterB.ClusterID] != 20 {
		t.Fatalf("members %+v", ms)
	}
	// One listener, one pool, on the ELB.
	ls, _ := ca.API(elbrules.ClassPerformance).ListListeners(context.Background(), lbID)
	if len(ls) != 1 {
		t.Fatalf("listeners %+v", ls)
	}

	serverBefore, clientBefore := e.Writes.Load(), ca.Writes()+cb.Writes()
	for i := 0; i < 3; i++ {
		ra := apply(t, a, want(clusterA, lbID, 80, nodes(0, 2, 80)))
		rb := apply(t, b, want(clusterB, lbID, 20, nodes(10, 1, 20)))
		if ra.Writes+rb.Writes != 0 || len(ra.Warnings)+len(rb.Warnings) != 0 {
			t.Fatalf("no-op re-apply: A %+v B %+v", ra, rb)
		}
	}
	if got := e.Writes.Load() - serverBefore; got != 0 {
		t.Fatalf("elbd received %d write requests on no-op re-applies", got)
	}
	if got := ca.Writes() + cb.Writes() - clientBefore; got != 0 {
		t.Fatalf("clients counted %d writes on no-op re-applies", got)
	}

	// A weight change is one batch-update call; B is untouched.
	res := apply(t, a, want(clusterA, lbID, 50, nodes(0, 2, 50)))
	if res.Writes != 1 || res.MembersUpdated != 2 {
		t.Fatalf("weight change %+v", res)
	}
	if _, ms := pool(t, ca, lbID, 80); deploy.WeightsByOwner(ms)[clusterA.ClusterID] != 50 || deploy.WeightsByOwner(ms)[clusterB.ClusterID] != 20 {
		t.Fatalf("members %+v", ms)
	}
}

// handMadeS3 is what an operator does on the ELB (here through the SDK): listener 80, a pool,
// two VM members with weights 10 and 10. No fleetlb marks.
func handMadeS3(t *testing.T, c elbclient.Client, lbID string) string {
	t.Helper()
	_, poolID := elbtest.HandMade(t, c.API(elbrules.ClassPerformance), elbclient.ListenerSpec{LoadBalancerID: lbID, Name: "vm-web", Protocol: "TCP", Port: 80}, "vm-pool",
		elbclient.MemberSpec{Name: "ecs-1", Address: "127.10.1.201", Port: 8080, Weight: 10, SubnetID: "subnet-a1"},
		elbclient.MemberSpec{Name: "ecs-2", Address: "127.10.1.202", Port: 8080, Weight: 10, SubnetID: "subnet-a1"})
	return poolID
}

// S3 and R7 member-only: a cluster attaches with 80 to a hand-made listener; VMs untouched; on
// release the VMs and the listener stay.
func TestELBD_S3AttachToHandMadeListener(t *testing.T) {
	_, lbID, c := startDedicated(t)
	handMadeS3(t, c, lbID)
	_, vms := pool(t, c, lbID, 80)

	a := deploy.New(c, deploy.Options{})
	w := want(clusterA, lbID, 80, nodes(0, 3, 80))
	w.Listeners[0].Pool.HealthMonitor = nil // the hand-made pool has none: no R5 warning
	res := apply(t, a, w)
	if res.ListenersCreated != 0 || res.MembersAdded != 3 || len(res.Warnings) != 0 {
		t.Fatalf("attach %+v", res)
	}
	l, ms := pool(t, c, lbID, 80)
	if l.Description != "" || l.Name != "vm-web" {
		t.Fatalf("hand-made listener changed: %+v", l)
	}
	sums := deploy.WeightsByOwner(ms)
	if sums["ecs-1"] != 10 || sums["ecs-2"] != 10 || sums[clusterA.ClusterID] != 81 { // ceil(80/3)=27 ×3
		t.Fatalf("weights %v", sums)
	}
	for _, vm := range vms {
		if !slices.Contains(ms, vm) {
			t.Fatalf("VM member %+v changed or went away: %+v", vm, ms)
		}
	}
	// A different health check wish is reported (R5), not applied.
	w.Listeners[0].Pool.HealthMonitor = &model.HealthMonitor{Type: "TCP", Delay: 5, Timeout: 3, MaxRetries: 3}
	res = apply(t, a, w)
	if res.Writes != 0 || len(res.Warnings) != 1 || res.Warnings[0].Reason != deploy.WarnConfigDiffers {
		t.Fatalf("R5: %+v", res)
	}

	rel, err := a.Release(context.Background(), w)
	if err != nil {
		t.Fatal(err)
	}
	l2, left := pool(t, c, lbID, 80)
	if rel.MembersRemoved != 3 || rel.ListenersDeleted != 0 || l2.ID != l.ID || !slices.Equal(left, vms) {
		t.Fatalf("release %+v left %+v", rel, left)
	}
}

// R7 both policies with two clusters and VMs.
func TestELBD_ReleasePolicies(t *testing.T) {
	_, lbID, c := startDedicated(t)
	a, b := deploy.New(c, deploy.Options{}), deploy.New(c, deploy.Options{})
	apply(t, a, want(clusterA, lbID, 80, nodes(0, 2, 80)))
	apply(t, b, want(clusterB, lbID, 20, nodes(10, 2, 20)))
	// A VM added by hand to the shared pool.
	l, _ := pool(t, c, lbID, 80)
	if _, err := c.API(elbrules.ClassPerformance).AddMembers(context.Background(), l.DefaultPoolID, []elbclient.MemberSpec{{Name: "ecs-1", Address: "127.10.1.201", Port: 8080, Weight: 5, SubnetID: "subnet-a1"}}); err != nil {
		t.Fatal(err)
	}

	// member-only by A (the creator): B's members and the VM stay, and so does the listener.
	if _, err := a.Release(context.Background(), want(clusterA, lbID, 80, nil)); err != nil {
		t.Fatal(err)
	}
	_, ms := pool(t, c, lbID, 80)
	if s := deploy.WeightsByOwner(ms); len(ms) != 3 || s[clusterA.ClusterID] != 0 || s[clusterB.ClusterID] != 20 || s["ecs-1"] != 5 {
		t.Fatalf("after member-only: %+v", ms)
	}

	// cascade by B: listener, pool, monitor and every member go.
	w := want(clusterB, lbID, 20, nil)
	w.Recycle = model.RecycleCascade
	res, err := b.Release(context.Background(), w)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := c.API(elbrules.ClassPerformance).ListListeners(context.Background(), lbID)
	if err != nil || len(ls) != 0 || res.ListenersDeleted != 1 {
		t.Fatalf("after cascade: listeners %+v (%v), result %+v", ls, err, res)
	}
	if _, err := c.API(elbrules.ClassPerformance).GetPool(context.Background(), l.DefaultPoolID); !errors.Is(err, elbclient.ErrNotFound) {
		t.Fatalf("pool still there: %v", err)
	}
	// Releasing again finds nothing and writes nothing.
	if res, err := b.Release(context.Background(), w); err != nil || res.Writes != 0 {
		t.Fatalf("second release %+v %v", res, err)
	}
}

// A member-only release by the creator when nobody else is left removes the listener too.
func TestELBD_LastCreatorReleaseRemovesListener(t *testing.T) {
	_, lbID, c := startDedicated(t)
	a := deploy.New(c, deploy.Options{})
	apply(t, a, want(clusterA, lbID, 80, nodes(0, 2, 80)))
	res, err := a.Release(context.Background(), want(clusterA, lbID, 80, nil))
	if err != nil {
		t.Fatal(err)
	}
	ls, _ := c.API(elbrules.ClassPerformance).ListListeners(context.Background(), lbID)
	if len(ls) != 0 || res.ListenersDeleted != 1 || res.MembersRemoved != 2 {
		t.Fatalf("release %+v, listeners left %+v", res, ls)
	}
}

// R9 (a listener of the same transport: HTTP takes TCP's port 80), R10, class and R11 refusals: nothing reaches the ELB as a write.
func TestELBD_Refusals(t *testing.T) {
	e := startELBD(t)
	noIP := e.dedicated(false)
	withIP := e.dedicated(true)
	c := e.client("SK-fleet-secret")
	if _, err := c.API(elbrules.ClassPerformance).CreateListener(context.Background(), elbclient.ListenerSpec{LoadBalancerID: noIP, Protocol: "HTTP", Port: 80}); err != nil {
		t.Fatal(err)
	}
	d := deploy.New(c, deploy.Options{})
	multiVPC := func(elbID, proto string) model.Desired {
		w := want(clusterA, elbID, 80, []model.Member{{Address: "127.20.1.5", Port: 8080, Weight: 80}})
		w.MultiVPC, w.Mode = true, model.ModePassThrough
		w.Listeners[0].Protocol = proto
		return w
	}
	union := want(clusterA, withIP, 80, nodes(0, 1, 80))
	union.Class = elbrules.ClassUnion
	cases := []struct {
		name     string
		desired  model.Desired
		reason   string
		mentions []string
	}{
		{"R9 protocol", want(clusterA, noIP, 80, nodes(0, 1, 80)), deploy.ReasonProtocolConflict, []string{"HTTP", "port 80"}},
		{"R10 unknown", want(clusterA, "0b6c7e1a-1111-2222-3333-444455556666", 80, nil), deploy.ReasonELBNotFound, []string{"kubernetes.io/elb.id", "0b6c7e1a"}},
		{"R10 missing", want(clusterA, "", 80, nil), deploy.ReasonELBNotFound, []string{"kubernetes.io/elb.id"}},
		{"class", union, deploy.ReasonELBClassMismatch, []string{"kubernetes.io/elb.class", "dedicated"}},
		{"R11 no IP targets", multiVPC(noIP, "TCP"), deploy.ReasonMultiVPCInvalid, []string{"IP-type backends"}},
		{"R11 UDP", multiVPC(withIP, "UDP"), deploy.ReasonMultiVPCInvalid, []string{"TCP"}},
	}
	before := e.Writes.Load()
	for _, tc := range cases {
		_, err := d.Apply(context.Background(), tc.desired)
		var r *deploy.Refusal
		if !errors.As(err, &r) || r.Reason != tc.reason {
			t.Errorf("%s: err %v, want refusal %s", tc.name, err, tc.reason)
			continue
		}
		for _, m := range tc.mentions {
			if !strings.Contains(r.Message, m) {
				t.Errorf("%s: %q does not mention %q", tc.name, r.Message, m)
			}
		}
	}
	if got := e.Writes.Load() - before; got != 0 {
		t.Fatalf("elbd received %d writes for refused Services", got)
	}
	// S2 on the right ELB: IP-type members from another VPC.
	apply(t, d, multiVPC(withIP, "TCP"))
	if _, ms := pool(t, c, withIP, 80); len(ms) != 1 || ms[0].SubnetID != "" || ms[0].Address != "127.20.1.5" {
		t.Fatalf("multivpc members %+v", ms)
	}
}

// A batch-add whose response is lost (elbd added the members, the client saw 503) is retried
// after re-reading the pool: no duplicates, and the next Apply is a no-op.
func TestELBD_LostResponseNoDuplicates(t *testing.T) {
	e, lbID, c := startDedicated(t)
	d := deploy.New(c, deploy.Options{Backoff: time.Millisecond})
	apply(t, d, want(clusterA, lbID, 80, nodes(0, 1, 80)))
	lost := 0
	e.mu.Lock()
	e.loseResponse = func(r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "/members/batch-add") && lost == 0 {
			lost++
			return true
		}
		return false
	}
	e.mu.Unlock()
	res := apply(t, d, want(clusterA, lbID, 80, nodes(0, 4, 80)))
	_, ms := pool(t, c, lbID, 80)
	if lost != 1 || len(ms) != 4 || deploy.WeightsByOwner(ms)[clusterA.ClusterID] != 80 {
		t.Fatalf("lost %d, result %+v, members %+v", lost, res, ms)
	}
	if res := apply(t, d, want(clusterA, lbID, 80, nodes(0, 4, 80))); res.Writes != 0 {
		t.Fatalf("not converged: %+v", res)
	}
}

// Two controllers reconcile one pool at the same time for 50 rounds: never a foreign member
// removed, never a duplicate.
func TestELBD_ConcurrentClusters(t *testing.T) {
	if testing.Short() {
		t.Skip("50 rounds over HTTP")
	}
	e := startELBD(t)
	lbID := e.dedicated(false)
	ca, cb := e.client("SK-fleet-secret"), e.client("SK-fleet-secret")
	a, b := deploy.New(ca, deploy.Options{Backoff: time.Millisecond}), deploy.New(cb, deploy.Options{Backoff: time.Millisecond})
	poolID := handMadeS3(t, ca, lbID)
	for round := 0; round < 50; round++ {
		na, nb := 1+round%4, 1+(round*3)%5
		wa, wb := want(clusterA, lbID, 80, nodes(0, na, 80)), want(clusterB, lbID, 20, nodes(100, nb, 20))
		wa.Listeners[0].Pool.HealthMonitor, wb.Listeners[0].Pool.HealthMonitor = nil, nil
		var wg sync.WaitGroup
		errs := make([]error, 2)
		wg.Add(2)
		go func() { defer wg.Done(); _, errs[0] = a.Apply(context.Background(), wa) }()
		go func() { defer wg.Done(); _, errs[1] = b.Apply(context.Background(), wb) }()
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		ms, err := ca.API(elbrules.ClassPerformance).ListMembers(context.Background(), poolID)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, m := range ms {
			k := fmt.Sprintf("%s:%d", m.Address, m.Port)
			if seen[k] {
				t.Fatalf("round %d: duplicate %s", round, k)
			}
			seen[k] = true
		}
		s := deploy.WeightsByOwner(ms)
		if len(ms) != 2+na+nb || s["ecs-1"] != 10 || s["ecs-2"] != 10 || s[clusterA.ClusterID] != na*((80+na-1)/na) || s[clusterB.ClusterID] != nb*((20+nb-1)/nb) {
			t.Fatalf("round %d: members %+v", round, ms)
		}
	}
}

// Union (shared ELB, v2 API): members one call each, in the ELB's subnet when the cluster names
// none; two clusters share a listener; no-op re-apply writes nothing; release leaves the other.
func TestELBD_UnionTwoClusters(t *testing.T) {
	e := startELBD(t)
	lbID := e.shared()
	c := e.client("SK-fleet-secret")
	a, b := deploy.New(c, deploy.Options{}), deploy.New(c, deploy.Options{})
	union := func(ref model.ServiceRef, base, n, w int) model.Desired {
		d := want(ref, lbID, w, nodes(base, n, w))
		d.Class = elbrules.ClassUnion
		for i := range d.Listeners[0].Members {
			d.Listeners[0].Members[i].SubnetID = ""
		}
		return d
	}
	// Asking for a dedicated ELB on a shared one is refused (the class check finds it through v2).
	wrong := union(clusterA, 0, 1, 80)
	wrong.Class = elbrules.ClassPerformance
	if _, err := a.Apply(context.Background(), wrong); err == nil || !strings.Contains(err.Error(), "shared ELB") {
		t.Fatalf("class mismatch: %v", err)
	}

	resA := apply(t, a, union(clusterA, 0, 3, 80))
	if resA.Writes != 3+3 || resA.MembersAdded != 3 { // listener, pool, monitor + one call per member
		t.Fatalf("A: %+v", resA)
	}
	apply(t, b, union(clusterB, 10, 2, 20))
	v2 := c.API(elbrules.ClassUnion)
	ls, err := v2.ListListeners(context.Background(), lbID)
	if err != nil || len(ls) != 1 {
		t.Fatalf("listeners %+v %v", ls, err)
	}
	ms, err := v2.ListMembers(context.Background(), ls[0].DefaultPoolID)
	if err != nil {
		t.Fatal(err)
	}
	s := deploy.WeightsByOwner(ms)
	if len(ms) != 5 || s[clusterA.ClusterID] != 81 || s[clusterB.ClusterID] != 20 {
		t.Fatalf("members %+v", ms)
	}
	for _, m := range ms {
		if m.SubnetID != "subnet-a1" {
			t.Fatalf("member %+v not in the ELB's subnet", m)
		}
	}
	before := e.Writes.Load()
	if r := apply(t, a, union(clusterA, 0, 3, 80)); r.Writes != 0 {
		t.Fatalf("no-op re-apply: %+v", r)
	}
	if r := apply(t, b, union(clusterB, 10, 2, 20)); r.Writes != 0 {
		t.Fatalf("no-op re-apply: %+v", r)
	}
	if e.Writes.Load() != before {
		t.Fatalf("elbd received %d writes on no-op re-applies", e.Writes.Load()-before)
	}
	// Weight change: one update call per member.
	if r := apply(t, a, union(clusterA, 0, 3, 50)); r.Writes != 3 || r.MembersUpdated != 3 {
		t.Fatalf("weight change: %+v", r)
	}
	if _, err := a.Release(context.Background(), union(clusterA, 0, 0, 0)); err != nil {
		t.Fatal(err)
	}
	ms, _ = v2.ListMembers(context.Background(), ls[0].DefaultPoolID)
	if s := deploy.WeightsByOwner(ms); len(ms) != 2 || s[clusterB.ClusterID] != 20 {
		t.Fatalf("after A's release: %+v", ms)
	}
}

// T3: a pool a Service creates on a dedicated ELB gets connection_drain with the Service's
// deregistration delay (at least the API's 10 s), read back through the SDK; none without a
// delay. T5: the members' operating status comes back with them (Result.Online).
func TestT3_PoolConnectionDrainFollowsTheDelay(t *testing.T) {
	e := startELBD(t)
	c := e.client("SK-fleet-secret")
	d := deploy.New(c, deploy.Options{})
	for _, tc := range []struct {
		delay time.Duration
		want  int32
	}{{45 * time.Second, 45}, {2 * time.Second, 10}, {0, 0}} {
		elbID := e.dedicated(true)
		w := want(clusterA, elbID, 10, nodes(0, 1, 10))
		w.DeregistrationDelay = tc.delay
		apply(t, d, w)
		l, _ := pool(t, c, elbID, 80)
		p, err := c.API(elbrules.ClassPerformance).GetPool(context.Background(), l.DefaultPoolID)
		if err != nil {
			t.Fatal(err)
		}
		if p.ConnectionDrain != tc.want {
			t.Errorf("delay %s: the pool's connection_drain is %d s, want %d", tc.delay, p.ConnectionDrain, tc.want)
		}
		if res := apply(t, d, w); len(res.Online) != 1 {
			t.Errorf("delay %s: Online %v, want the member's status", tc.delay, res.Online)
		}
	}
}
