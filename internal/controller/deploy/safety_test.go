package deploy_test

// Issue 14 ("fleetlb-controller is safe on a real cloud"), the deployer's part: each test is named
// after its row in docs/requirements.md (C1, C2, C6, C11) and runs against elbd over HTTP through
// the official SDK.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/common/ownership"
	"github.com/fleetlb/fleetlb/internal/controller/deploy"
	"github.com/fleetlb/fleetlb/internal/controller/model"
)

// calls counts the requests elbd received while f ran.
func (e *elbd) calls(f func()) (reads, writes int64) {
	r0, w0 := e.Reads.Load(), e.Writes.Load()
	f()
	return e.Reads.Load() - r0, e.Writes.Load() - w0
}

// listenersOn reads the listeners of the ELB on port (any protocol) through the SDK.
func listenersOn(t *testing.T, c elbclient.Client, elbID string, port int32) map[string]elbclient.Listener {
	t.Helper()
	ls, err := c.API(elbrules.ClassPerformance).ListListenersOnPort(context.Background(), elbID, port)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]elbclient.Listener{}
	for _, l := range ls {
		out[l.Protocol] = l
	}
	return out
}

func members(t *testing.T, c elbclient.Client, poolID string) []elbclient.Member {
	t.Helper()
	ms, err := c.API(elbrules.ClassPerformance).ListMembers(context.Background(), poolID)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// addVMs adds two hand-made members (no fleetlb name) to pool.
func addVMs(t *testing.T, c elbclient.Client, poolID string) {
	t.Helper()
	if _, err := c.API(elbrules.ClassPerformance).AddMembers(context.Background(), poolID, []elbclient.MemberSpec{
		{Name: "vm-1", Address: "127.10.1.201", Port: 8080, Weight: 10, SubnetID: "subnet-a1"},
		{Name: "vm-2", Address: "127.10.1.202", Port: 8080, Weight: 10, SubnetID: "subnet-a1"}}); err != nil {
		t.Fatal(err)
	}
}

// C1: an edit never cascades. Cluster A (cascade policy) created the listener on port 80, B and
// two VMs joined; A moves its Service to port 81: only A's members leave port 80.
func TestC1_CascadeOnlyOnDeletion(t *testing.T) {
	_, lbID, c := startDedicated(t)
	a, b := deploy.New(c, deploy.Options{}), deploy.New(c, deploy.Options{})
	wa := want(clusterA, lbID, 80, nodes(0, 2, 80))
	wa.Recycle = model.RecycleCascade
	apply(t, a, wa)
	apply(t, b, want(clusterB, lbID, 20, nodes(10, 2, 20)))
	l, _ := pool(t, c, lbID, 80)
	addVMs(t, c, l.DefaultPoolID)

	moved := wa
	moved.Listeners = []model.Listener{wa.Listeners[0]}
	moved.Listeners[0].Port = 81
	moved.PreviousPorts = []int32{80}
	res := apply(t, a, moved)
	if res.ListenersDeleted != 0 || res.MembersRemoved != 2 {
		t.Fatalf("port change under cascade: %+v", res)
	}
	_, ms := pool(t, c, lbID, 80)
	if s := deploy.WeightsByOwner(ms); len(ms) != 4 || s[clusterA.ClusterID] != 0 || s[clusterB.ClusterID] != 20 || s["vm-1"] != 10 || s["vm-2"] != 10 {
		t.Fatalf("port 80 after A moved to 81: %+v", ms)
	}
	if _, ms := pool(t, c, lbID, 81); deploy.WeightsByOwner(ms)[clusterA.ClusterID] != 80 {
		t.Fatalf("port 81: %+v", ms)
	}

	// Deleting A's Service later (cascade) reclaims its listener on port 81, not port 80, which
	// A created but left by the edit: B and the VMs keep serving there.
	res, err := a.Release(context.Background(), moved)
	if err != nil {
		t.Fatal(err)
	}
	if got := listenersOn(t, c, lbID, 81); len(got) != 0 || res.ListenersDeleted != 1 {
		t.Fatalf("cascade deletion left port 81: %+v (%+v)", got, res)
	}
	_, ms = pool(t, c, lbID, 80)
	if s := deploy.WeightsByOwner(ms); len(ms) != 4 || s[clusterB.ClusterID] != 20 || s["vm-1"] != 10 || s["vm-2"] != 10 {
		t.Fatalf("port 80 after A's Service (now on 81) was deleted with cascade: %+v", ms)
	}
}

// C2: a refused batch add (here elbd's members_per_pool quota of 4 on port 80's pool) does not
// stop the removals and weight changes of that pool, nor the other port; the refusal carries the
// numbers. Batches of more than 200 members are cut into calls of at most 200.
func TestC2_RefusedWriteBlocksNothingElse(t *testing.T) {
	e := startELBDWith(t, "quotas:\n  members_per_pool: 4\n")
	lbID := e.dedicated(false)
	c := e.client("SK-fleet-secret")
	d := deploy.New(c, deploy.Options{Backoff: time.Millisecond})
	two := func(n80, w80, n81 int) model.Desired {
		w := want(clusterA, lbID, w80, nodes(0, n80, w80))
		l81 := w.Listeners[0]
		l81.Port, l81.Members = 81, nodes(100, n81, 50)
		w.Listeners = append(w.Listeners, l81)
		return w
	}
	apply(t, d, two(3, 60, 1))

	// Port 80 goes from nodes 1-3 (weight 20 each) to nodes 2-6 (weight 30 / 5 = 6... ceil): node 1
	// removed, 2-3 reweighted, 4-6 added (refused); port 81 gains a member.
	next := two(0, 30, 2)
	next.Listeners[0].Members = nodes(0, 6, 30)[1:]
	_, err := d.Apply(context.Background(), next)
	var r *deploy.Refusal
	if !errors.As(err, &r) || r.Reason != deploy.ReasonMemberQuota {
		t.Fatalf("err %v, want refusal %s", err, deploy.ReasonMemberQuota)
	}
	for _, m := range []string{"wants 3 more members", "quota is 4", "pool holds 2", "so 2 fit"} {
		if !strings.Contains(r.Message, m) {
			t.Errorf("refusal %q does not say %q", r.Message, m)
		}
	}
	_, ms80 := pool(t, c, lbID, 80)
	if len(ms80) != 2 || ms80[0].Weight != 5 || ms80[1].Weight != 5 {
		t.Fatalf("port 80: removal and weight changes not applied: %+v", ms80)
	}
	if _, ms81 := pool(t, c, lbID, 81); len(ms81) != 2 {
		t.Fatalf("port 81 held back by port 80's refusal: %+v", ms81)
	}

	// 250 members on one port: two batch calls (200 + 50), elbd takes at most 200 per call.
	e = startELBD(t)
	lbID = e.dedicated(false)
	c = e.client("SK-fleet-secret")
	d = deploy.New(c, deploy.Options{})
	many := want(clusterA, lbID, 100, nil)
	for i := 0; i < 250; i++ {
		many.Listeners[0].Members = append(many.Listeners[0].Members, model.Member{Address: fmt.Sprintf("127.10.1.%d", 1+i%50), Port: int32(30000 + i), Weight: 1, SubnetID: "subnet-a1"})
	}
	_, w := e.calls(func() { apply(t, d, many) })
	if _, ms := pool(t, c, lbID, 80); len(ms) != 250 {
		t.Fatalf("250 members: %d in the pool", len(ms))
	}
	if w != 5 { // listener, pool, monitor, 2 batch adds
		t.Fatalf("%d writes for 250 members", w)
	}

	// The project's member quota (5): read with ListQuotaDetails, it says how many are used.
	e = startELBDWith(t, "quotas:\n  member: 5\n")
	lbID = e.dedicated(false)
	c = e.client("SK-fleet-secret")
	apply(t, deploy.New(c, deploy.Options{}), want(clusterA, lbID, 80, nodes(0, 3, 80)))
	if limit, used, err := c.ProjectMemberUsage(context.Background()); err != nil || limit != 5 || used != 3 {
		t.Fatalf("ListQuotaDetails: member %d used of %d (%v)", used, limit, err)
	}
	_, err = deploy.New(c, deploy.Options{}).Apply(context.Background(), want(clusterB, lbID, 20, nodes(10, 3, 20)))
	if !errors.As(err, &r) || r.Reason != deploy.ReasonMemberQuota {
		t.Fatalf("project quota: err %v", err)
	}
	for _, m := range []string{"wants 3 more members", "quota is 5 (member, per project)", "3 are used, so 2 fit"} {
		if !strings.Contains(r.Message, m) {
			t.Errorf("refusal %q does not say %q", r.Message, m)
		}
	}
}

// C6: the listener is found with the list filters and a resync with nothing to change makes no
// write and at most one read per Service port, however many listeners the ELB has.
func TestC6_FewerCalls(t *testing.T) {
	e, lbID, c := startDedicated(t)
	// Another Service of another cluster holds three listeners on the ELB.
	o := want(clusterB, lbID, 20, nodes(10, 2, 20))
	o.Service.Name = "other"
	for _, port := range []int32{81, 82} {
		l := o.Listeners[0]
		l.Port = port
		o.Listeners = append(o.Listeners, l)
	}
	o.Listeners[0].Port = 83
	apply(t, deploy.New(c, deploy.Options{}), o)

	d := deploy.New(c, deploy.Options{})
	r, w := e.calls(func() { apply(t, d, want(clusterA, lbID, 80, nodes(0, 3, 80))) })
	t.Logf("first bind of one port: %d reads, %d writes", r, w)
	if r > 3 || w != 4 {
		t.Errorf("first bind: %d reads (want ≤ 3: ELB, listeners on the port), %d writes (want listener, pool, monitor, members)", r, w)
	}
	r, w = e.calls(func() { apply(t, d, want(clusterA, lbID, 80, nodes(0, 3, 80))) })
	t.Logf("no-op resync of one port: %d reads, %d writes", r, w)
	if w != 0 || r > 1 {
		t.Errorf("no-op resync: %d reads, %d writes; want at most 1 read and no write", r, w)
	}
	// A weight change is one read and one write.
	r, w = e.calls(func() { apply(t, d, want(clusterA, lbID, 60, nodes(0, 3, 60))) })
	if w != 1 || r != 1 {
		t.Errorf("weight change: %d reads, %d writes", r, w)
	}
	// Drift by hand (a member deleted) is repaired on the next resync.
	l, ms := pool(t, c, lbID, 80)
	if err := c.API(elbrules.ClassPerformance).DeleteMembers(context.Background(), l.DefaultPoolID, []string{ms[0].ID}); err != nil {
		t.Fatal(err)
	}
	if res := apply(t, d, want(clusterA, lbID, 60, nodes(0, 3, 60))); res.MembersAdded != 1 {
		t.Fatalf("drift not repaired: %+v", res)
	}
}

// C11: TCP→UDP on one port releases the TCP listener's members and binds UDP; TCP and UDP on one
// port are two listeners; the creator may change its pool's algorithm and health check, another
// Service gets the R5 warning; a member-only release leaves the pool's monitor in place.
func TestC11_Lifecycle(t *testing.T) {
	_, lbID, c := startDedicated(t)
	a, b := deploy.New(c, deploy.Options{}), deploy.New(c, deploy.Options{})
	udp := model.Pool{Algorithm: "ROUND_ROBIN", HealthMonitor: &model.HealthMonitor{Type: "UDP_CONNECT", Delay: 5, Timeout: 3, MaxRetries: 3}}

	t.Run("ProtocolSwitch", func(t *testing.T) {
		wa := want(clusterA, lbID, 80, nodes(0, 2, 80))
		wa.Listeners[0].Port = 53
		apply(t, a, wa)
		toUDP := wa
		toUDP.Listeners = []model.Listener{{Port: 53, Protocol: "UDP", Members: nodes(0, 2, 80), Pool: udp}}
		toUDP.PreviousPorts = []int32{53}
		res := apply(t, a, toUDP)
		on := listenersOn(t, c, lbID, 53)
		if _, tcp := on["TCP"]; tcp || len(on) != 1 || res.ListenersDeleted != 1 {
			t.Fatalf("after TCP→UDP: listeners %+v, result %+v", on, res)
		}
		if ms := members(t, c, on["UDP"].DefaultPoolID); len(ms) != 2 {
			t.Fatalf("UDP members %+v", ms)
		}
		// Both: two listeners on port 53, both with members.
		both := toUDP
		both.Listeners = append(both.Listeners, model.Listener{Port: 53, Protocol: "TCP", Members: nodes(0, 2, 80), Pool: wa.Listeners[0].Pool})
		if res := apply(t, a, both); res.ListenerPorts[0] != 53 || len(res.ListenerPorts) != 1 {
			t.Fatalf("listener ports %v", res.ListenerPorts)
		}
		on = listenersOn(t, c, lbID, 53)
		if len(on) != 2 || len(members(t, c, on["TCP"].DefaultPoolID)) != 2 || len(members(t, c, on["UDP"].DefaultPoolID)) != 2 {
			t.Fatalf("TCP and UDP on 53: %+v", on)
		}
	})

	t.Run("CreatorChangesSettings", func(t *testing.T) {
		wa := want(clusterA, lbID, 80, nodes(0, 2, 80))
		apply(t, a, wa)
		apply(t, b, want(clusterB, lbID, 20, nodes(10, 2, 20)))
		changed := wa
		changed.Listeners = []model.Listener{wa.Listeners[0]}
		changed.Listeners[0].Pool = model.Pool{Algorithm: "LEAST_CONNECTIONS", HealthMonitor: &model.HealthMonitor{Type: "HTTP", Delay: 7, Timeout: 4, MaxRetries: 2, URLPath: "/healthz"}}
		res := apply(t, a, changed)
		l, _ := pool(t, c, lbID, 80)
		api := c.API(elbrules.ClassPerformance)
		p, err := api.GetPool(context.Background(), l.DefaultPoolID)
		if err != nil {
			t.Fatal(err)
		}
		hm, err := api.GetHealthMonitor(context.Background(), p.HealthMonitorID)
		if err != nil || p.Algorithm != "LEAST_CONNECTIONS" || hm.Type != "HTTP" || hm.Delay != 7 || hm.URLPath != "/healthz" || len(res.Warnings) != 0 {
			t.Fatalf("creator's change: pool %+v monitor %+v (%v), warnings %v", p, hm, err, res.Warnings)
		}
		// B asks for other settings: a warning, nothing changes.
		wb := want(clusterB, lbID, 20, nodes(10, 2, 20))
		wb.Listeners[0].Pool.Algorithm = "SOURCE_IP"
		res = apply(t, b, wb)
		if len(res.Warnings) != 1 || res.Warnings[0].Reason != deploy.WarnConfigDiffers {
			t.Fatalf("B's warnings %v", res.Warnings)
		}
		if p2, _ := api.GetPool(context.Background(), l.DefaultPoolID); p2.Algorithm != "LEAST_CONNECTIONS" {
			t.Fatalf("B changed the pool: %+v", p2)
		}

		// A leaves (member-only): B's members stay, with the pool's monitor.
		if _, err := a.Release(context.Background(), changed); err != nil {
			t.Fatal(err)
		}
		p3, err := api.GetPool(context.Background(), l.DefaultPoolID)
		if err != nil || p3.HealthMonitorID == "" {
			t.Fatalf("pool after A's release: %+v (%v)", p3, err)
		}
		if _, err := api.GetHealthMonitor(context.Background(), p3.HealthMonitorID); err != nil {
			t.Fatalf("monitor gone: %v", err)
		}
	})
}

// C3: the sweep removes the members named with this cluster's ID that no Service wants (a Service
// deleted while the controller was down, a port dropped), and the empty listeners its Services
// created; other clusters' and unmarked members stay.
func TestC3_OwnMembersOnlyEvenAfterACrash(t *testing.T) {
	e := startELBD(t)
	lbID := e.dedicated(false)
	union := e.shared()
	c := e.client("SK-fleet-secret")
	a, b := deploy.New(c, deploy.Options{}), deploy.New(c, deploy.Options{})
	two := want(clusterA, lbID, 80, nodes(0, 2, 80))
	l81 := two.Listeners[0]
	l81.Port = 81
	two.Listeners = append(two.Listeners, l81)
	apply(t, a, two)
	apply(t, b, want(clusterB, lbID, 20, nodes(10, 2, 20)))
	l, _ := pool(t, c, lbID, 80)
	addVMs(t, c, l.DefaultPoolID)
	gone := clusterA
	gone.Name = "gone"
	wu := want(gone, union, 50, nodes(20, 1, 50))
	wu.Class = elbrules.ClassUnion
	apply(t, a, wu)

	// Only Service shop/web on port 80 is still wanted (port 81 dropped, shop/gone deleted).
	wanted := func(context.Context) (deploy.Wanted, error) {
		return func(ref model.ServiceRef, elbID string, port int32, protocol string) bool {
			return ref == clusterA && elbID == lbID && port == 80 && protocol == "TCP"
		}, nil
	}
	res, err := a.Sweep(context.Background(), clusterA.ClusterID, wanted)
	if err != nil {
		t.Fatal(err)
	}
	if res.MembersRemoved != 3 || res.ListenersDeleted != 2 {
		t.Fatalf("sweep: %+v", res)
	}
	_, ms := pool(t, c, lbID, 80)
	if s := deploy.WeightsByOwner(ms); len(ms) != 6 || s[clusterA.ClusterID] != 80 || s[clusterB.ClusterID] != 20 || s["vm-1"] != 10 {
		t.Fatalf("port 80 after the sweep: %+v", ms)
	}
	if on := listenersOn(t, c, lbID, 81); len(on) != 0 {
		t.Fatalf("port 81 (created by A, empty) left: %+v", on)
	}
	if ls, err := c.API(elbrules.ClassUnion).ListListeners(context.Background(), union); err != nil || len(ls) != 0 {
		t.Fatalf("union ELB after the sweep: %+v %v", ls, err)
	}
	// Cluster B's sweep with nothing wanted touches only B's members.
	if _, err := b.Sweep(context.Background(), clusterB.ClusterID, func(context.Context) (deploy.Wanted, error) {
		return func(model.ServiceRef, string, int32, string) bool { return false }, nil
	}); err != nil {
		t.Fatal(err)
	}
	_, ms = pool(t, c, lbID, 80)
	if s := deploy.WeightsByOwner(ms); len(ms) != 4 || s[clusterA.ClusterID] != 80 || s[clusterB.ClusterID] != 0 {
		t.Fatalf("port 80 after B's sweep: %+v", ms)
	}
	// A sweep with everything in place writes nothing, and reads each ELB's members in one call
	// (v3 ListAllMembers by loadbalancer_id): the two ELB lists, then per ELB its listeners and its
	// members (the union ELB has no listener left).
	r, w := e.calls(func() {
		if _, err := a.Sweep(context.Background(), clusterA.ClusterID, wanted); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("idle sweep of 2 ELBs: %d reads, %d writes", r, w)
	if w != 0 || r > 5 {
		t.Fatalf("idle sweep: %d reads (want ≤ 5), %d writes", r, w)
	}
}

// C4: adopting a new cluster ID renames the members and marks in place: same member IDs, same
// weights, nothing removed or added; other clusters' members keep their names.
func TestC4_AdoptClusterIDRenamesInPlace(t *testing.T) {
	_, lbID, c := startDedicated(t)
	a := deploy.New(c, deploy.Options{})
	apply(t, a, want(clusterA, lbID, 80, nodes(0, 3, 80)))
	apply(t, deploy.New(c, deploy.Options{}), want(clusterB, lbID, 20, nodes(10, 1, 20)))
	_, before := pool(t, c, lbID, 80)
	const newID = "cluster-a-2026"
	if _, err := a.AdoptClusterID(context.Background(), clusterA.ClusterID, newID); err != nil {
		t.Fatal(err)
	}
	l, after := pool(t, c, lbID, 80)
	if len(after) != len(before) {
		t.Fatalf("members %d → %d", len(before), len(after))
	}
	for i := range before {
		x, y := before[i], after[i]
		ref, _, _ := ownership.ParseMemberName(x.Name)
		wantName := x.Name
		if ref.ClusterID == clusterA.ClusterID {
			wantName = strings.Replace(x.Name, clusterA.ClusterID, newID, 1)
		}
		if x.ID != y.ID || x.Weight != y.Weight || y.Name != wantName {
			t.Fatalf("member %+v became %+v", x, y)
		}
	}
	if m, ok := ownership.ParseMark(l.Description); !ok || m.ClusterID != newID {
		t.Fatalf("listener mark %q", l.Description)
	}
	// The new ID's Apply finds everything in place: no write.
	moved := want(clusterA, lbID, 80, nodes(0, 3, 80))
	moved.Service.ClusterID = newID
	if res := apply(t, deploy.New(c, deploy.Options{}), moved); res.Writes != 0 {
		t.Fatalf("Apply after adoption: %+v", res)
	}
}

// C2: a port refused by the checks (here R9: an HTTP listener made by hand on port 81) holds back
// no other port the Service is already bound to: port 80 still follows its Pods (a removed Pod
// leaves, the weights change). Nothing new is made while the Service is refused: no listener on
// its new port 82.
func TestC2_RefusedPortHoldsBackNoBoundPort(t *testing.T) {
	_, lbID, c := startDedicated(t)
	d := deploy.New(c, deploy.Options{})
	apply(t, d, want(clusterA, lbID, 60, nodes(0, 3, 60)))
	if _, err := c.API(elbrules.ClassPerformance).CreateListener(context.Background(), elbclient.ListenerSpec{
		LoadBalancerID: lbID, Name: "by-hand", Protocol: "HTTP", Port: 81}); err != nil {
		t.Fatal(err)
	}

	next := want(clusterA, lbID, 60, nodes(0, 2, 60))
	for _, port := range []int32{81, 82} {
		l := next.Listeners[0]
		l.Port = port
		next.Listeners = append(next.Listeners, l)
	}
	_, err := d.Apply(context.Background(), next)
	var r *deploy.Refusal
	if !errors.As(err, &r) || r.Reason != deploy.ReasonProtocolConflict || !strings.Contains(r.Message, "port 81") {
		t.Fatalf("err %v, want refusal %s naming port 81", err, deploy.ReasonProtocolConflict)
	}
	if _, ms := pool(t, c, lbID, 80); len(ms) != 2 || ms[0].Weight != 30 || ms[1].Weight != 30 {
		t.Fatalf("port 80 did not follow its Pods while port 81 was refused: %+v", ms)
	}
	if got := listenersOn(t, c, lbID, 82); len(got) != 0 {
		t.Fatalf("a refused Service made a listener on its new port 82: %+v", got)
	}

	// Moving port 80 to the refused port 81 keeps the working binding on 80 until the move can
	// be made (as a refused elb.id does): no traffic lost to a typo.
	moved := want(clusterA, lbID, 60, nodes(0, 2, 60))
	moved.Listeners[0].Port = 81
	moved.PreviousPorts = []int32{80}
	if _, err := d.Apply(context.Background(), moved); !errors.As(err, &r) || r.Reason != deploy.ReasonProtocolConflict {
		t.Fatalf("err %v, want refusal %s", err, deploy.ReasonProtocolConflict)
	}
	if _, ms := pool(t, c, lbID, 80); len(ms) != 2 {
		t.Fatalf("a refused port change released the working port 80: %+v", ms)
	}
}
