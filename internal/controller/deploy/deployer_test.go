package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/elbclient/elbtest"
	"github.com/fleetlb/fleetlb/internal/common/elbclient/fake"
	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/common/ownership"
	"github.com/fleetlb/fleetlb/internal/controller/model"
)

var (
	refA = model.ServiceRef{ClusterID: "cluster-a", Namespace: "shop", Name: "web"}
	refB = model.ServiceRef{ClusterID: "cluster-b", Namespace: "shop", Name: "web"}
)

func newDeployer(c elbclient.Client) *Deployer {
	return New(c, Options{Backoff: time.Millisecond})
}

func perfLB(f *fake.ELB) *elbclient.LoadBalancer {
	return f.AddLoadBalancer(elbclient.LoadBalancer{Name: "elb", Class: elbrules.ClassPerformance, IPTargetEnable: true})
}

// perfSetup is how most tests begin: a fake ELB with one performance load balancer and a
// deployer in front of it.
func perfSetup() (*fake.ELB, *elbclient.LoadBalancer, *Deployer) {
	f := fake.New()
	return f, perfLB(f), newDeployer(f)
}

// members builds n members 10.<net>.0.i:30080 sharing weight w over n pods (R3 with one pod each).
func members(net, n, w int) []model.Member {
	var out []model.Member
	for i := 1; i <= n; i++ {
		out = append(out, model.Member{Address: fmt.Sprintf("10.%d.0.%d", net, i), Port: 30080, Weight: (w + n - 1) / n, SubnetID: "subnet-1", Pods: 1})
	}
	return out
}

func desired(ref model.ServiceRef, lbID string, w int, ms []model.Member) model.Desired {
	return model.Desired{
		Service: ref, ELBID: lbID, Class: elbrules.ClassPerformance, Mode: model.ModeNode, Recycle: model.RecycleMemberOnly, Weight: w,
		Listeners: []model.Listener{{
			Port: 80, Protocol: "TCP", Members: ms,
			Pool: model.Pool{Algorithm: "ROUND_ROBIN", HealthMonitor: &model.HealthMonitor{Type: "TCP", Delay: 5, Timeout: 3, MaxRetries: 3}},
		}},
	}
}

func mustApply(t *testing.T, d *Deployer, want model.Desired) Result {
	t.Helper()
	res, err := d.Apply(context.Background(), want)
	if err != nil {
		t.Fatalf("Apply(%s): %v", want.Service.ClusterID, err)
	}
	return res
}

// poolOf returns the default pool ID of the listener on port.
func poolOf(t *testing.T, f *fake.ELB, lbID string, port int32) string {
	t.Helper()
	for _, l := range f.Listeners(lbID) {
		if l.Port == port {
			if l.DefaultPoolID == "" {
				t.Fatalf("listener on port %d has no pool", port)
			}
			return l.DefaultPoolID
		}
	}
	t.Fatalf("no listener on port %d", port)
	return ""
}

// WeightsByOwner sums member weights per owner: the cluster ID of the member's ownership mark, or
// the name of a member without one. Exported for the package's external tests too.
func WeightsByOwner(ms []elbclient.Member) map[string]int {
	out := map[string]int{}
	for _, m := range ms {
		if r, _, ok := ownership.ParseMemberName(m.Name); ok {
			out[r.ClusterID] += m.Weight
		} else {
			out[m.Name] += m.Weight
		}
	}
	return out
}

func assertNoDuplicates(t *testing.T, ms []elbclient.Member) {
	t.Helper()
	seen := map[string]bool{}
	for _, m := range ms {
		k := memberKey(m.Address, m.Port)
		if seen[k] {
			t.Fatalf("member %s:%d is in the pool twice", m.Address, m.Port)
		}
		seen[k] = true
	}
}

func TestApplyCreatesMarkedListenerPoolMonitorAndMembers(t *testing.T) {
	f, lb, d := perfSetup()
	res := mustApply(t, d, desired(refA, lb.ID, 80, members(1, 2, 80)))

	if res.VIP != lb.VIP || !slices.Equal(res.ListenerPorts, []int32{80}) || res.ListenersCreated != 1 || res.MembersAdded != 2 {
		t.Fatalf("result = %+v", res)
	}
	ls := f.Listeners(lb.ID)
	if len(ls) != 1 || ls[0].Protocol != "TCP" || ls[0].Port != 80 {
		t.Fatalf("listeners = %+v", ls)
	}
	if m, ok := ownership.ParseMark(ls[0].Description); !ok || !m.MultiCluster || !m.IsService(refA) {
		t.Fatalf("listener description %q is not this Service's multi-cluster mark", ls[0].Description)
	}
	pool := f.Pool(ls[0].DefaultPoolID)
	if m, ok := ownership.ParseMark(pool.Description); !ok || !m.IsService(refA) || pool.Algorithm != "ROUND_ROBIN" || pool.Protocol != "TCP" || pool.HealthMonitorID == "" {
		t.Fatalf("pool = %+v", pool)
	}
	ms := f.Members(pool.ID)
	if len(ms) != 2 || WeightsByOwner(ms)["cluster-a"] != 80 {
		t.Fatalf("members = %+v", ms)
	}
	for _, m := range ms {
		if m.Name != "fleetlb/cluster-a/shop/web/80" {
			t.Errorf("member name %q, want the R13 mark", m.Name)
		}
	}
	// listener, pool, monitor, one batch add
	if res.Writes != 4 || f.Writes() != 4 {
		t.Errorf("writes = %d (client %d), want 4", res.Writes, f.Writes())
	}
}

func TestReapplyMakesZeroWrites(t *testing.T) {
	for _, class := range []elbrules.Class{elbrules.ClassPerformance, elbrules.ClassUnion} {
		t.Run(string(class), func(t *testing.T) {
			f := fake.New()
			lb := f.AddLoadBalancer(elbclient.LoadBalancer{Class: class})
			d := newDeployer(f)
			want := desired(refA, lb.ID, 80, members(1, 3, 80))
			want.Class = class
			if class == elbrules.ClassUnion {
				for i := range want.Listeners[0].Members {
					want.Listeners[0].Members[i].SubnetID = "" // the client fills in the ELB's subnet
				}
			}
			first := mustApply(t, d, want)
			if class == elbrules.ClassUnion && first.Writes != 3+3 {
				t.Errorf("union: %d writes, want 3 + one per member", first.Writes)
			}
			before := f.Writes()
			for i := 0; i < 3; i++ {
				if res := mustApply(t, d, want); res.Writes != 0 || len(res.Warnings) != 0 {
					t.Fatalf("re-apply %d: %+v", i, res)
				}
			}
			if f.Writes() != before {
				t.Fatalf("the ELB saw %d writes on no-op re-applies", f.Writes()-before)
			}
		})
	}
}

func TestWeightChangeIsOneBatchUpdate(t *testing.T) {
	f, lb, d := perfSetup()
	mustApply(t, d, desired(refA, lb.ID, 80, members(1, 2, 80)))
	res := mustApply(t, d, desired(refA, lb.ID, 20, members(1, 2, 20)))
	if res.Writes != 1 || res.MembersUpdated != 2 || f.WritesByOp()["UpdateMemberWeights"] != 1 {
		t.Fatalf("result %+v, ops %v", res, f.WritesByOp())
	}
	if w := WeightsByOwner(f.Members(poolOf(t, f, lb.ID, 80)))["cluster-a"]; w != 20 {
		t.Fatalf("cluster weight %d, want 20", w)
	}
}

// C2: removals (and weight changes) go before additions, so a refused addition holds back nothing.
func TestScalingRemovesBeforeAdding(t *testing.T) {
	f, lb, d := perfSetup()
	mustApply(t, d, desired(refA, lb.ID, 60, members(1, 3, 60)))
	var ops []string
	f.OnWrite = func(op string) { ops = append(ops, op) }
	// 3 nodes -> nodes 3..5: add 4,5; update 3's weight; remove 1,2.
	next := members(1, 5, 60)[2:]
	for i := range next {
		next[i].Weight = 20
	}
	res := mustApply(t, d, desired(refA, lb.ID, 60, next))
	if !slices.Equal(ops, []string{"DeleteMembers", "AddMembers"}) {
		t.Fatalf("write order %v, want remove before add (weights unchanged: 60/3 = 20)", ops)
	}
	if res.MembersAdded != 2 || res.MembersRemoved != 2 {
		t.Fatalf("result %+v", res)
	}
	ms := f.Members(poolOf(t, f, lb.ID, 80))
	if len(ms) != 3 || ms[0].Address != "10.1.0.3" {
		t.Fatalf("members %+v", ms)
	}
	// Scale to zero: members go, the listener this Service created stays while it is desired.
	mustApply(t, d, desired(refA, lb.ID, 60, nil))
	if ms := f.Members(poolOf(t, f, lb.ID, 80)); len(ms) != 0 {
		t.Fatalf("members after scale to 0: %+v", ms)
	}
}

// S1: two clusters, 80/20, one listener and one pool.
func TestTwoClustersShareOneListener(t *testing.T) {
	f := fake.New()
	lb := perfLB(f)
	a, b := newDeployer(f), newDeployer(f)
	mustApply(t, a, desired(refA, lb.ID, 80, members(1, 2, 80)))
	resB := mustApply(t, b, desired(refB, lb.ID, 20, members(2, 3, 20)))
	if resB.ListenersCreated != 0 || len(resB.Warnings) != 0 {
		t.Fatalf("cluster B result %+v", resB)
	}
	if n := len(f.Listeners(lb.ID)); n != 1 {
		t.Fatalf("%d listeners, want 1", n)
	}
	ms := f.Members(poolOf(t, f, lb.ID, 80))
	w := WeightsByOwner(ms)
	if len(ms) != 5 || w["cluster-a"] != 80 || w["cluster-b"] != 21 { // ceil(20/3)=7, 3 nodes
		t.Fatalf("members %+v, weights %v", ms, w)
	}
	// B scales down: A untouched.
	mustApply(t, b, desired(refB, lb.ID, 20, members(2, 1, 20)))
	if w := WeightsByOwner(f.Members(poolOf(t, f, lb.ID, 80))); w["cluster-a"] != 80 || w["cluster-b"] != 20 {
		t.Fatalf("weights %v", w)
	}
}

// handMade creates, as an operator, a listener on port 80 with a pool and two VM members 10+10 (S3).
func handMade(t *testing.T, f *fake.ELB, lbID, protocol string) (listener, pool string) {
	t.Helper()
	return elbtest.HandMade(t, f.API(elbrules.ClassPerformance), elbclient.ListenerSpec{LoadBalancerID: lbID, Name: "vm-web", Protocol: protocol, Port: 80}, "vms",
		elbclient.MemberSpec{Name: "vm-1", Address: "192.168.0.11", Port: 8080, Weight: 10, SubnetID: "subnet-1"},
		elbclient.MemberSpec{Name: "vm-2", Address: "192.168.0.12", Port: 8080, Weight: 10, SubnetID: "subnet-1"})
}

// S3: a cluster attaches to a hand-made listener; the VMs stay as they were.
func TestAttachToHandMadeListenerLeavesVMsAlone(t *testing.T) {
	f := fake.New()
	lb := perfLB(f)
	_, pool := handMade(t, f, lb.ID, "TCP")
	vmsBefore := f.Members(pool)
	d := newDeployer(f)
	want := desired(refA, lb.ID, 80, members(1, 2, 80))
	want.Listeners[0].Pool.HealthMonitor = nil
	res := mustApply(t, d, want)
	if res.ListenersCreated != 0 || res.MembersAdded != 2 || len(res.Warnings) != 0 {
		t.Fatalf("result %+v", res)
	}
	ms := f.Members(pool)
	w := WeightsByOwner(ms)
	if len(ms) != 4 || w["vm-1"] != 10 || w["vm-2"] != 10 || w["cluster-a"] != 80 {
		t.Fatalf("members %+v", ms)
	}
	if !slices.Equal(ms[:2], vmsBefore) {
		t.Fatalf("VM members changed: %+v -> %+v", vmsBefore, ms[:2])
	}
	if l := f.Listeners(lb.ID)[0]; l.Description != "" || l.Name != "vm-web" {
		t.Fatalf("the hand-made listener was changed: %+v", l)
	}
	// Release (member-only) removes the cluster's members only; the hand-made listener stays.
	rel, err := d.Release(context.Background(), want)
	if err != nil {
		t.Fatal(err)
	}
	if rel.MembersRemoved != 2 || rel.ListenersDeleted != 0 || !slices.Equal(f.Members(pool), vmsBefore) {
		t.Fatalf("release %+v left %+v", rel, f.Members(pool))
	}
}

// R5: the second Service's different wishes are reported, not applied.
func TestDifferentPoolConfigIsAWarningNotAChange(t *testing.T) {
	f := fake.New()
	lb := perfLB(f)
	mustApply(t, newDeployer(f), desired(refA, lb.ID, 80, members(1, 1, 80)))
	pool := poolOf(t, f, lb.ID, 80)
	before := *f.Pool(pool)

	want := desired(refB, lb.ID, 20, members(2, 1, 20))
	want.Listeners[0].Pool = model.Pool{Algorithm: "LEAST_CONNECTIONS", HealthMonitor: &model.HealthMonitor{Type: "HTTP", Delay: 10, Timeout: 5, MaxRetries: 2, URLPath: "/healthz"}}
	res := mustApply(t, newDeployer(f), want)
	if len(res.Warnings) != 1 || res.Warnings[0].Reason != WarnConfigDiffers {
		t.Fatalf("warnings %+v", res.Warnings)
	}
	msg := res.Warnings[0].Message
	for _, s := range []string{"ROUND_ROBIN", "LEAST_CONNECTIONS", "HTTP", "cluster-a"} {
		if !strings.Contains(msg, s) {
			t.Errorf("warning %q does not mention %s", msg, s)
		}
	}
	if after := *f.Pool(pool); after != before {
		t.Fatalf("pool changed: %+v -> %+v", before, after)
	}
	if res.MembersAdded != 1 || res.Writes != 1 {
		t.Fatalf("B's members should still be added: %+v", res)
	}
}

func refusal(t *testing.T, err error, reason string, mentions ...string) {
	t.Helper()
	var r *Refusal
	if !errors.As(err, &r) {
		t.Fatalf("err = %v, want a Refusal %s", err, reason)
	}
	if r.Reason != reason {
		t.Fatalf("refusal %q, want %s", r, reason)
	}
	for _, s := range mentions {
		if !strings.Contains(r.Message, s) {
			t.Errorf("refusal message %q does not mention %q", r.Message, s)
		}
	}
}

// R9: another protocol of the same transport on the port (HTTP takes TCP's port; UDP would not,
// C11); and nothing is half-applied when one of two ports is refused.
func TestProtocolConflictRefusesEveryPort(t *testing.T) {
	f := fake.New()
	lb := perfLB(f)
	handMade(t, f, lb.ID, "HTTP")
	before := f.Writes()
	want := desired(refA, lb.ID, 80, members(1, 1, 80))
	want.Listeners = append([]model.Listener{{Port: 443, Protocol: "TCP", Members: members(1, 1, 80)}}, want.Listeners...)
	res, err := newDeployer(f).Apply(context.Background(), want)
	refusal(t, err, ReasonProtocolConflict, "port 80", "HTTP", "TCP")
	if res.Writes != 0 || f.Writes() != before || len(f.Listeners(lb.ID)) != 1 {
		t.Fatalf("the ELB changed: %d writes, listeners %+v", res.Writes, f.Listeners(lb.ID))
	}
}

// R10 and the class check.
func TestUnknownOrMissingELBAndClassMismatch(t *testing.T) {
	f := fake.New()
	union := f.AddLoadBalancer(elbclient.LoadBalancer{Class: elbrules.ClassUnion})
	d := newDeployer(f)

	_, err := d.Apply(context.Background(), desired(refA, "no-such-elb", 80, nil))
	refusal(t, err, ReasonELBNotFound, "no-such-elb", "kubernetes.io/elb.id")
	_, err = d.Apply(context.Background(), desired(refA, "", 80, nil))
	refusal(t, err, ReasonELBNotFound, "kubernetes.io/elb.id")
	_, err = d.Apply(context.Background(), desired(refA, union.ID, 80, nil)) // asks for performance
	refusal(t, err, ReasonELBClassMismatch, "kubernetes.io/elb.class", "shared", `"union"`)
	if f.Writes() != 0 {
		t.Fatalf("%d writes", f.Writes())
	}
}

// R11: multivpc needs performance, IP-type backends and TCP; then members are IP-type.
func TestMultiVPC(t *testing.T) {
	f := fake.New()
	noIP := f.AddLoadBalancer(elbclient.LoadBalancer{Class: elbrules.ClassPerformance})
	ipLB := perfLB(f)
	union := f.AddLoadBalancer(elbclient.LoadBalancer{Class: elbrules.ClassUnion})
	d := newDeployer(f)
	mv := func(lbID string, class elbrules.Class, proto string) model.Desired {
		w := desired(refA, lbID, 80, members(1, 2, 80))
		w.Class, w.MultiVPC, w.Mode = class, true, model.ModePassThrough
		w.Listeners[0].Protocol = proto
		for i := range w.Listeners[0].Members {
			w.Listeners[0].Members[i].SubnetID = ""
		}
		return w
	}
	_, err := d.Apply(context.Background(), mv(union.ID, elbrules.ClassUnion, "TCP"))
	refusal(t, err, ReasonMultiVPCInvalid, "kubernetes.io/elb.multivpc", "performance")
	_, err = d.Apply(context.Background(), mv(ipLB.ID, elbrules.ClassPerformance, "UDP"))
	refusal(t, err, ReasonMultiVPCInvalid, "TCP", "UDP")
	_, err = d.Apply(context.Background(), mv(noIP.ID, elbrules.ClassPerformance, "TCP"))
	refusal(t, err, ReasonMultiVPCInvalid, "IP-type backends", noIP.ID)
	if f.Writes() != 0 {
		t.Fatalf("%d writes after refusals", f.Writes())
	}
	mustApply(t, d, mv(ipLB.ID, elbrules.ClassPerformance, "TCP"))
	for _, m := range f.Members(poolOf(t, f, ipLB.ID, 80)) {
		if m.SubnetID != "" {
			t.Fatalf("member %+v is not IP-type", m)
		}
	}
	// An instance-only pool cannot take IP-type members: refused before writing.
	f.SetPoolType(poolOf(t, f, ipLB.ID, 80), "instance")
	w := mv(ipLB.ID, elbrules.ClassPerformance, "TCP")
	w.Service = refB
	_, err = d.Apply(context.Background(), w)
	refusal(t, err, ReasonMultiVPCInvalid, "instance-type")
}

// R6: a listener owned by a Service without multicluster is not taken over.
func TestListenerOfNonMultiClusterServiceIsRefused(t *testing.T) {
	f := fake.New()
	lb := perfLB(f)
	api := f.API(elbrules.ClassPerformance)
	single := ownership.Mark{MultiCluster: false, ClusterID: "cluster-x", Namespace: "legacy", Service: "web"}
	if _, err := api.CreateListener(context.Background(), elbclient.ListenerSpec{LoadBalancerID: lb.ID, Protocol: "TCP", Port: 80, Description: ownership.FormatMark(single)}); err != nil {
		t.Fatal(err)
	}
	before := f.Writes()
	_, err := newDeployer(f).Apply(context.Background(), desired(refA, lb.ID, 80, members(1, 1, 80)))
	refusal(t, err, ReasonListenerNotShared, "legacy/web", "cluster-x", "kubernetes.io/elb.multicluster")
	if f.Writes() != before {
		t.Fatal("the ELB changed")
	}
}

// R6, the other way round: a Service without multicluster naming a shared listener's port.
func TestSharedListenersCheck(t *testing.T) {
	f, lb, d := perfSetup()
	mustApply(t, d, desired(refA, lb.ID, 80, members(1, 1, 80)))
	// A hand-made listener on 8080 holding cluster B's members counts as shared too.
	api := f.API(elbrules.ClassPerformance)
	l, _ := api.CreateListener(context.Background(), elbclient.ListenerSpec{LoadBalancerID: lb.ID, Protocol: "TCP", Port: 8080})
	p, _ := api.CreatePool(context.Background(), elbclient.PoolSpec{ListenerID: l.ID, Protocol: "TCP", Algorithm: "ROUND_ROBIN"})
	if _, err := api.AddMembers(context.Background(), p.ID, []elbclient.MemberSpec{{Name: ownership.MemberName(refB, 8080), Address: "10.2.0.1", Port: 1, Weight: 1, SubnetID: "s"}}); err != nil {
		t.Fatal(err)
	}
	before := f.Writes()
	shared, err := d.SharedListeners(context.Background(), lb.ID, []int32{80, 443, 8080})
	if err != nil {
		t.Fatal(err)
	}
	if len(shared) != 2 || shared[0].Port != 80 || shared[0].Creator != "cluster-a/shop/web" || shared[1].Port != 8080 || !strings.Contains(shared[1].Creator, "cluster-b") {
		t.Fatalf("shared = %+v", shared)
	}
	if shared, err := d.SharedListeners(context.Background(), lb.ID, []int32{443}); err != nil || len(shared) != 0 {
		t.Fatalf("port 443: %+v %v", shared, err)
	}
	if shared, err := d.SharedListeners(context.Background(), "nope", []int32{80}); err != nil || shared != nil {
		t.Fatalf("unknown ELB: %+v %v", shared, err)
	}
	if f.Writes() != before {
		t.Fatal("a read-only check wrote")
	}
}

func TestAddressAlreadyInPoolUnderAnotherNameIsWarned(t *testing.T) {
	f := fake.New()
	lb := perfLB(f)
	_, pool := handMade(t, f, lb.ID, "TCP")
	want := desired(refA, lb.ID, 80, []model.Member{
		{Address: "192.168.0.11", Port: 8080, Weight: 50, SubnetID: "subnet-1"}, // vm-1's address
		{Address: "10.1.0.1", Port: 30080, Weight: 50, SubnetID: "subnet-1"},
	})
	want.Listeners[0].Pool.HealthMonitor = nil
	res := mustApply(t, newDeployer(f), want)
	if len(res.Warnings) != 1 || res.Warnings[0].Reason != WarnAddressTaken || !strings.Contains(res.Warnings[0].Message, "vm-1") {
		t.Fatalf("warnings %+v", res.Warnings)
	}
	if w := WeightsByOwner(f.Members(pool)); w["vm-1"] != 10 || w["cluster-a"] != 50 {
		t.Fatalf("weights %v", w)
	}
}

// A lost response (the add happened, the caller saw 503) must not produce a duplicate.
func TestAmbiguousAddIsRereadNotDuplicated(t *testing.T) {
	for _, applied := range []bool{true, false} {
		for _, status := range []int{409, 503} {
			t.Run(fmt.Sprintf("%d/applied=%v", status, applied), func(t *testing.T) {
				f := fake.New()
				lb := perfLB(f)
				d := newDeployer(f)
				mustApply(t, d, desired(refA, lb.ID, 80, members(1, 1, 80)))
				f.Fail("AddMembers", 1, fake.StatusError("BatchCreateMembers", status), applied)
				res := mustApply(t, d, desired(refA, lb.ID, 80, members(1, 3, 80)))
				ms := f.Members(poolOf(t, f, lb.ID, 80))
				assertNoDuplicates(t, ms)
				if len(ms) != 3 || WeightsByOwner(ms)["cluster-a"] != 81 {
					t.Fatalf("members %+v (result %+v)", ms, res)
				}
				if got := f.WritesByOp()["AddMembers"]; applied && got != 2 || !applied && got != 3 {
					t.Fatalf("AddMembers calls %d", got)
				}
			})
		}
	}
}

func TestPersistentFailureIsReturned(t *testing.T) {
	f, lb, d := perfSetup()
	mustApply(t, d, desired(refA, lb.ID, 80, nil))
	f.Fail("AddMembers", 10, fake.StatusError("BatchCreateMembers", 503), false)
	_, err := d.Apply(context.Background(), desired(refA, lb.ID, 80, members(1, 1, 80)))
	if !errors.Is(err, elbclient.ErrServer) || f.WritesByOp()["AddMembers"] != 3 {
		t.Fatalf("err %v after %d attempts", err, f.WritesByOp()["AddMembers"])
	}
}

// An earlier Apply that stopped after creating the listener is completed, not duplicated.
func TestInterruptedCreationIsCompleted(t *testing.T) {
	f, lb, d := perfSetup()
	f.Fail("CreatePool", 1, fake.StatusError("CreatePool", 503), false)
	if _, err := d.Apply(context.Background(), desired(refA, lb.ID, 80, members(1, 1, 80))); err == nil {
		t.Fatal("expected the injected failure")
	}
	res := mustApply(t, d, desired(refA, lb.ID, 80, members(1, 1, 80)))
	if res.ListenersCreated != 0 || len(f.Listeners(lb.ID)) != 1 {
		t.Fatalf("listener created again: %+v", f.Listeners(lb.ID))
	}
	if p := f.Pool(poolOf(t, f, lb.ID, 80)); p.HealthMonitorID == "" || len(f.Members(p.ID)) != 1 {
		t.Fatalf("pool %+v not completed", p)
	}
	if res := mustApply(t, d, desired(refA, lb.ID, 80, members(1, 1, 80))); res.Writes != 0 || len(res.Warnings) != 0 {
		t.Fatalf("not converged: %+v", res)
	}
}

func TestPortLeavingTheServiceIsCleaned(t *testing.T) {
	f := fake.New()
	lb := perfLB(f)
	a, b := newDeployer(f), newDeployer(f)
	two := func(ref model.ServiceRef, net int) model.Desired {
		w := desired(ref, lb.ID, 50, members(net, 1, 50))
		w.Listeners = append(w.Listeners, model.Listener{Port: 8080, Protocol: "TCP", Members: members(net, 1, 50)})
		return w
	}
	mustApply(t, a, two(refA, 1))
	mustApply(t, b, two(refB, 2))
	// A drops port 8080 (its listener-port annotation still lists it): its members go; the
	// listener stays for B's members.
	dropped := func(ref model.ServiceRef, net int, previous ...int32) model.Desired {
		w := desired(ref, lb.ID, 50, members(net, 1, 50))
		w.PreviousPorts = previous
		return w
	}
	res := mustApply(t, a, dropped(refA, 1, 80, 8080))
	if res.MembersRemoved != 1 || res.ListenersDeleted != 0 {
		t.Fatalf("result %+v", res)
	}
	if w := WeightsByOwner(f.Members(poolOf(t, f, lb.ID, 8080))); w["cluster-a"] != 0 || w["cluster-b"] != 50 {
		t.Fatalf("port 8080 weights %v", w)
	}
	// B drops 8080 too: B did not create it, so it stays (empty; the creator's sweep removes it).
	mustApply(t, b, dropped(refB, 2, 80, 8080))
	if len(f.Listeners(lb.ID)) != 2 {
		t.Fatalf("listeners %+v", f.Listeners(lb.ID))
	}
	// A port A adds and drops alone goes at once.
	w := desired(refA, lb.ID, 50, members(1, 1, 50))
	w.Listeners = append(w.Listeners, model.Listener{Port: 9090, Protocol: "UDP", Members: []model.Member{{Address: "10.1.0.1", Port: 30053, Weight: 50, SubnetID: "s"}}})
	mustApply(t, a, w)
	res = mustApply(t, a, dropped(refA, 1, 80, 9090))
	if res.ListenersDeleted != 1 || res.MembersRemoved != 1 || len(f.Listeners(lb.ID)) != 2 {
		t.Fatalf("result %+v listeners %+v", res, f.Listeners(lb.ID))
	}
	if _, pools, _, monitors := f.Counts(); pools != 2 || monitors != 1 { // 8080 was created without a monitor
		t.Fatalf("%d pools %d monitors left", pools, monitors)
	}
}

// R7 member-only: other clusters and VMs stay; the listener goes with the last member only when
// this Service created it.
func TestReleaseMemberOnly(t *testing.T) {
	f := fake.New()
	lb := perfLB(f)
	a, b := newDeployer(f), newDeployer(f)
	mustApply(t, a, desired(refA, lb.ID, 80, members(1, 2, 80))) // A creates
	mustApply(t, b, desired(refB, lb.ID, 20, members(2, 2, 20)))
	pool := poolOf(t, f, lb.ID, 80)

	res, err := a.Release(context.Background(), desired(refA, lb.ID, 80, nil))
	if err != nil {
		t.Fatal(err)
	}
	ms := f.Members(pool)
	if res.MembersRemoved != 2 || res.ListenersDeleted != 0 || len(ms) != 2 || WeightsByOwner(ms)["cluster-b"] != 20 {
		t.Fatalf("release %+v left %+v", res, ms)
	}
	// B releases: B did not create the listener, so it stays.
	if _, err := b.Release(context.Background(), desired(refB, lb.ID, 20, nil)); err != nil {
		t.Fatal(err)
	}
	if l, p, m, _ := f.Counts(); l != 1 || p != 1 || m != 0 {
		t.Fatalf("counts %d %d %d", l, p, m)
	}
	// Release again is a no-op.
	if res, err := b.Release(context.Background(), desired(refB, lb.ID, 20, nil)); err != nil || res.Writes != 0 {
		t.Fatalf("second release %+v %v", res, err)
	}
	// A re-attaches to its own listener, then releases as the last one: all of it goes.
	mustApply(t, a, desired(refA, lb.ID, 80, members(1, 2, 80)))
	res, err = a.Release(context.Background(), desired(refA, lb.ID, 80, nil))
	if err != nil {
		t.Fatal(err)
	}
	if l, p, m, hm := f.Counts(); res.ListenersDeleted != 1 || l+p+m+hm != 0 {
		t.Fatalf("release %+v left %d listeners %d pools %d members %d monitors", res, l, p, m, hm)
	}
	// An unknown ELB is nothing to release.
	if _, err := a.Release(context.Background(), desired(refA, "gone", 80, nil)); err != nil {
		t.Fatal(err)
	}
}

// R7 cascade: the listener, pool, monitor and all members go, whoever owns them.
func TestReleaseCascade(t *testing.T) {
	f := fake.New()
	lb := perfLB(f)
	handMade(t, f, lb.ID, "TCP")
	a, b := newDeployer(f), newDeployer(f)
	mustApply(t, a, desired(refA, lb.ID, 80, members(1, 2, 80)))
	mustApply(t, b, desired(refB, lb.ID, 20, members(2, 2, 20)))
	// A single-cluster listener on another port must survive.
	single := ownership.Mark{ClusterID: "cluster-x", Namespace: "legacy", Service: "db"}
	if _, err := f.API(elbrules.ClassPerformance).CreateListener(context.Background(), elbclient.ListenerSpec{LoadBalancerID: lb.ID, Protocol: "TCP", Port: 5432, Description: ownership.FormatMark(single)}); err != nil {
		t.Fatal(err)
	}
	w := desired(refA, lb.ID, 80, nil)
	w.Recycle = model.RecycleCascade
	res, err := a.Release(context.Background(), w)
	if err != nil {
		t.Fatal(err)
	}
	ls := f.Listeners(lb.ID)
	if l, p, m, hm := f.Counts(); res.ListenersDeleted != 1 || l != 1 || p != 0 || m != 0 || hm != 0 || ls[0].Port != 5432 {
		t.Fatalf("release %+v left listeners %+v, %d pools %d members %d monitors", res, ls, p, m, hm)
	}
}

// guard fails the test when a deployer deletes a member that is not its cluster's.
type guard struct {
	*fake.ELB
	t   *testing.T
	ref model.ServiceRef
}

func (g guard) API(c elbrules.Class) elbclient.API { return guardAPI{API: g.ELB.API(c), g: g} }

type guardAPI struct {
	elbclient.API
	g guard
}

func (a guardAPI) DeleteMembers(ctx context.Context, poolID string, ids []string) error {
	for _, m := range a.g.Members(poolID) {
		if slices.Contains(ids, m.ID) && !owns(a.g.ref, m) {
			a.g.t.Errorf("cluster %s deletes member %q it does not own", a.g.ref.ClusterID, m.Name)
		}
	}
	return a.API.DeleteMembers(ctx, poolID, ids)
}

// Two clusters reconciling one pool at the same time, with VMs in it, through scaling and
// injected conflicts: no foreign member is ever removed, no duplicates, each converges.
func TestTwoClustersInterleaving(t *testing.T) {
	f := fake.New()
	lb := perfLB(f)
	_, pool := handMade(t, f, lb.ID, "TCP")
	a := newDeployer(guard{ELB: f, t: t, ref: refA})
	b := newDeployer(guard{ELB: f, t: t, ref: refB})
	for round := 0; round < 50; round++ {
		na, nb := 1+round%5, 1+(round*3)%4
		wa, wb := desired(refA, lb.ID, 80, members(1, na, 80)), desired(refB, lb.ID, 20, members(2, nb, 20))
		wa.Listeners[0].Pool.HealthMonitor, wb.Listeners[0].Pool.HealthMonitor = nil, nil
		if round%7 == 3 {
			f.Fail("AddMembers", 1, fake.StatusError("BatchCreateMembers", 503), true)
		}
		errs := make(chan error, 2)
		go func() { _, err := a.Apply(context.Background(), wa); errs <- err }()
		go func() { _, err := b.Apply(context.Background(), wb); errs <- err }()
		for i := 0; i < 2; i++ {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		ms := f.Members(pool)
		assertNoDuplicates(t, ms)
		w := WeightsByOwner(ms)
		if w["vm-1"] != 10 || w["vm-2"] != 10 || len(ms) != 2+na+nb {
			t.Fatalf("round %d: members %+v", round, ms)
		}
		if want := na * ((80 + na - 1) / na); w["cluster-a"] != want {
			t.Fatalf("round %d: cluster A weight %d, want %d", round, w["cluster-a"], want)
		}
	}
}

func TestInvalidDesiredIsRefused(t *testing.T) {
	f, lb, d := perfSetup()
	cases := []struct {
		mutate  func(*model.Desired)
		reason  string
		mention string
	}{
		{func(w *model.Desired) { w.Weight = 101 }, ReasonInvalidDesired, "kubernetes.io/elb.multicluster-loadbalancer-weight"},
		{func(w *model.Desired) { w.Recycle = "sometimes" }, ReasonInvalidDesired, "kubernetes.io/elb.multicluster-resource-recycle-policy"},
		{func(w *model.Desired) { w.Class = "fast" }, ReasonInvalidDesired, "kubernetes.io/elb.class"},
		{func(w *model.Desired) { w.Service.ClusterID = "" }, ReasonInvalidDesired, "--cluster-id"},
		{func(w *model.Desired) {
			w.Listeners = append(w.Listeners, model.Listener{Port: 80, Protocol: "TCP"})
		}, ReasonInvalidDesired, "TCP/80"},
	}
	for _, c := range cases {
		w := desired(refA, lb.ID, 80, members(1, 1, 80))
		c.mutate(&w)
		_, err := d.Apply(context.Background(), w)
		refusal(t, err, c.reason, c.mention)
	}
	if f.Writes() != 0 {
		t.Fatalf("%d writes", f.Writes())
	}
}

// Both clusters find no listener and create one at the same time: the ELB takes the first, the
// second gets 409, reads again and attaches.
func TestConcurrentListenerCreationAttaches(t *testing.T) {
	f := fake.New()
	lb := perfLB(f)
	a, b := newDeployer(f), newDeployer(f)
	var once bool
	f.OnWrite = func(op string) {
		if op == "CreateListener" && !once {
			once = true
			mustApply(t, b, desired(refB, lb.ID, 20, members(2, 1, 20))) // B wins the race
		}
	}
	res := mustApply(t, a, desired(refA, lb.ID, 80, members(1, 2, 80)))
	if res.ListenersCreated != 0 || res.MembersAdded != 2 || !slices.Equal(res.ListenerPorts, []int32{80}) {
		t.Fatalf("A: %+v", res)
	}
	ls := f.Listeners(lb.ID)
	if len(ls) != 1 {
		t.Fatalf("listeners %+v", ls)
	}
	if m, _ := ownership.ParseMark(ls[0].Description); !m.IsService(refB) {
		t.Fatalf("listener mark %q, want B's", ls[0].Description)
	}
	if w := WeightsByOwner(f.Members(ls[0].DefaultPoolID)); w["cluster-a"] != 80 || w["cluster-b"] != 20 {
		t.Fatalf("weights %v", w)
	}
}

func BenchmarkDiffMembers(b *testing.B) {
	const n = 1000
	var want []model.Member
	var have []elbclient.Member
	for i := 0; i < n; i++ {
		addr := fmt.Sprintf("10.%d.%d.%d", i/65536, (i/256)%256, i%256)
		want = append(want, model.Member{Address: addr, Port: 30080, Weight: 1 + i%100, SubnetID: "s"})
		have = append(have, elbclient.Member{ID: fmt.Sprint("m", i), Name: ownership.MemberName(refA, 80), Address: addr, Port: 30080, Weight: 1 + (i+1)%100, SubnetID: "s"})
		have = append(have, elbclient.Member{ID: fmt.Sprint("o", i), Name: ownership.MemberName(refB, 80), Address: addr, Port: 31080, Weight: 1, SubnetID: "s"})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := diffMembers(refA, 80, elbrules.ClassPerformance, "pool", want, have, drainClock{})
		if len(p.update) != n {
			b.Fatalf("%d updates", len(p.update))
		}
	}
}

// Turning multivpc on changes members from instance-type to IP-type: the ELB cannot change a
// member's subnet, so each is removed and added again (and the next Apply is a no-op).
func TestSubnetChangeReaddsMember(t *testing.T) {
	f, lb, d := perfSetup()
	mustApply(t, d, desired(refA, lb.ID, 80, members(1, 2, 80)))
	w := desired(refA, lb.ID, 80, members(1, 2, 80))
	w.MultiVPC = true
	for i := range w.Listeners[0].Members {
		w.Listeners[0].Members[i].SubnetID = ""
	}
	res := mustApply(t, d, w)
	if res.MembersRemoved != 2 || res.MembersAdded != 2 {
		t.Fatalf("result %+v", res)
	}
	ms := f.Members(poolOf(t, f, lb.ID, 80))
	if len(ms) != 2 || ms[0].SubnetID != "" || ms[1].SubnetID != "" {
		t.Fatalf("members %+v", ms)
	}
	if res := mustApply(t, d, w); res.Writes != 0 {
		t.Fatalf("not converged: %+v", res)
	}
}

// A member of this cluster's Service named for another port (left by a hand edit) is cleaned; a
// member of another Service of the same cluster is not touched.
func TestStrayOwnMembersAreCleaned(t *testing.T) {
	f, lb, d := perfSetup()
	mustApply(t, d, desired(refA, lb.ID, 80, members(1, 1, 80)))
	pool := poolOf(t, f, lb.ID, 80)
	other := model.ServiceRef{ClusterID: refA.ClusterID, Namespace: "shop", Name: "api"}
	if _, err := f.API(elbrules.ClassPerformance).AddMembers(context.Background(), pool, []elbclient.MemberSpec{
		{Name: ownership.MemberName(refA, 8080), Address: "10.1.0.9", Port: 30081, Weight: 5, SubnetID: "subnet-1"},
		{Name: ownership.MemberName(other, 80), Address: "10.1.0.8", Port: 30082, Weight: 5, SubnetID: "subnet-1"},
	}); err != nil {
		t.Fatal(err)
	}
	res := mustApply(t, d, desired(refA, lb.ID, 80, members(1, 1, 80)))
	if res.MembersRemoved != 1 {
		t.Fatalf("result %+v", res)
	}
	names := []string{}
	for _, m := range f.Members(pool) {
		names = append(names, m.Name)
	}
	if !slices.Equal(names, []string{ownership.MemberName(refA, 80), ownership.MemberName(other, 80)}) {
		t.Fatalf("members %v", names)
	}
}

// R7 member-only, race: the creator releases its emptied listener while another cluster attaches
// and adds a member. The other cluster's member is never deleted; the listener stays for it.
func TestReleaseMemberOnlyKeepsMemberAddedConcurrently(t *testing.T) {
	f := fake.New()
	lb := perfLB(f)
	a := newDeployer(guard{ELB: f, t: t, ref: refA})
	mustApply(t, a, desired(refA, lb.ID, 80, members(1, 2, 80))) // A creates
	pool := poolOf(t, f, lb.ID, 80)
	// B adds its member right after A removed its own and checked that the pool was empty, at
	// A's first write on the way to deleting the listener.
	added := false
	f.OnWrite = func(op string) {
		if added || op == "DeleteMembers" || op == "AddMembers" {
			return
		}
		added = true
		if _, err := f.API(elbrules.ClassPerformance).AddMembers(context.Background(), pool, []elbclient.MemberSpec{
			{Name: ownership.MemberName(refB, 80), Address: "10.2.0.1", Port: 30080, Weight: 20, SubnetID: "subnet-1"}}); err != nil {
			t.Error(err)
		}
	}
	_, _ = a.Release(context.Background(), desired(refA, lb.ID, 80, nil))
	f.OnWrite = nil
	if !added {
		t.Fatal("the release made no write after removing its members; the race was not exercised")
	}
	if ms := f.Members(pool); WeightsByOwner(ms)["cluster-b"] != 20 {
		t.Fatalf("cluster B's member was removed by A's member-only release: pool holds %+v", ms)
	}
	if len(f.Listeners(lb.ID)) != 1 {
		t.Fatal("the listener holding cluster B's member was deleted")
	}
}

// R7 cascade reclaims only what this Service is bound to on the ELB. A Service that never got a
// member into a listener (its Apply was refused, or its bound ELB was pointed elsewhere) must
// not wipe a listener shared by VMs and another cluster just because its port matches.
func TestReleaseCascadeLeavesListenersItNeverBoundTo(t *testing.T) {
	f := fake.New()
	lb := perfLB(f)
	_, pool := handMade(t, f, lb.ID, "TCP") // port 80, VMs vm-1 and vm-2
	mustApply(t, newDeployer(f), desired(refB, lb.ID, 20, members(2, 2, 20)))

	w := desired(refA, lb.ID, 80, nil)
	w.Recycle = model.RecycleCascade
	res, err := newDeployer(f).Release(context.Background(), w)
	if err != nil {
		t.Fatal(err)
	}
	if res.Writes != 0 || len(f.Listeners(lb.ID)) != 1 {
		t.Fatalf("cascade release by a Service with nothing on the ELB made %d writes; listeners left %+v", res.Writes, f.Listeners(lb.ID))
	}
	if w := WeightsByOwner(f.Members(pool)); w["cluster-b"] != 20 || w["vm-1"] != 10 || w["vm-2"] != 10 {
		t.Fatalf("pool after A's cascade release: %v, want cluster B 20 and both VMs 10", w)
	}
}

// C11: a release whose pool deletion is refused (someone attached between the read and the
// delete) gives the pool its health monitor back.
func TestC11_ReleaseNeverLeavesAPoolWithoutItsMonitor(t *testing.T) {
	f, lb, d := perfSetup()
	mustApply(t, d, desired(refA, lb.ID, 80, members(1, 2, 80)))
	poolID := poolOf(t, f, lb.ID, 80)
	f.Fail("DeletePool", 1, fake.StatusError("DeletePool", 409), false)
	if _, err := d.Release(context.Background(), desired(refA, lb.ID, 80, nil)); err != nil {
		t.Fatal(err)
	}
	p := f.Pool(poolID)
	if p == nil || p.HealthMonitorID == "" {
		t.Fatalf("pool %+v left without its monitor", p)
	}
	if _, _, _, monitors := f.Counts(); monitors != 1 {
		t.Fatalf("%d monitors", monitors)
	}
}
