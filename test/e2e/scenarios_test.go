package e2e

import (
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fleetlb/fleetlb/internal/testbed/playground"
)

const (
	recyclePolicy = "kubernetes.io/elb.multicluster-resource-recycle-policy"
	s3Port        = 8080
)

// TestSameVPC plays, on one playground (clusters a: pod network vpc and b:
// overlay, in the ELBs' VPC): S1 in both weight modes, scaling under
// traffic, S3 (VMs on a listener made by hand, then clusters join), a's
// cascade Service edited under traffic (C1), deleting b's Service under
// member-only while traffic runs, and cascade.
func TestSameVPC(t *testing.T) {
	p, a, b := startTwoClusters(t, 1)
	ctx := deadline(t, 6*time.Minute)
	perf := p.Env.PerformanceELBID
	vip80 := p.Env.PerformanceELBVIP + ":80"

	svcA, svcB := seedS1(t, perf)
	s1 := []playground.Binding{{Cluster: a, Service: svcA, Weight: 80}, {Cluster: b, Service: svcB, Weight: 20}}

	ok := t.Run("S1 pass-through and node mode share one listener 80:20", func(t *testing.T) {
		// WaitPool compares the members with the source document's rules
		// computed here from the pods: a has one member per pod at
		// ceil(80/3) = 27, b one per node at ceil(20·k/3).
		ms := bindNginx(t, ctx, p, playground.ClassPerformance, perf, s1)
		for _, m := range playground.OwnedTargets(ms, p.Owners, "a") {
			if m.Port != 80 || m.Weight != 27 {
				t.Errorf("cluster a member %v: want a pod on port 80 with weight 27", m)
			}
		}
		rows := measure(t, ctx, p, vip80, ms, map[string]int{"a": 80, "b": 20})
		// b's effective weight depends on where the scheduler put the pods
		// (2+1: 14+7, 3+0: 20); WaitPool checked it against the placement.
		if ra := rowOf(rows, "a"); ra.Effective != 81 {
			t.Errorf("cluster a effective weight %d, want 81 (3 pods at ceil(80/3) = 27)", ra.Effective)
		}
		for _, bd := range s1 {
			svc, err := bd.Cluster.Client().CoreV1().Services("default").Get(ctx, "nginx", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if ing := svc.Status.LoadBalancer.Ingress; len(ing) != 1 || ing[0].IP != p.Env.PerformanceELBVIP {
				t.Errorf("cluster %s: Service status ingress %v, want the ELB VIP %s", bd.Cluster.Plan.Name, ing, p.Env.PerformanceELBVIP)
			}
		}
	})
	if !ok {
		t.FailNow()
	}

	t.Run("scale a 3→6 while traffic runs: no request fails", func(t *testing.T) {
		bg := playground.NewClient(vip80).Run()
		if err := playground.ScaleDeployment(ctx, a.Client(), "default", "nginx", 6); err != nil {
			bg.Stop()
			t.Fatal(err)
		}
		err := playground.WaitDeploymentReady(ctx, a.Client(), "default", "nginx", 90*time.Second)
		var ms []playground.Member
		if err == nil {
			ms, err = p.WaitPool(ctx, playground.PoolWait{Class: playground.ClassPerformance, ELBID: perf, Port: 80, Bindings: s1, Timeout: 90 * time.Second})
		}
		time.Sleep(time.Second) // traffic on the new members too
		during := bg.Stop()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("during the scale-out: %d requests, %d failed, answers by owner %v", during.Sent, during.Failed, during.ByOwner())
		if during.Failed > 0 || during.Sent == 0 {
			t.Errorf("%d of %d requests failed while scaling: %v", during.Failed, during.Sent, during.Errors)
		}
		rows := measure(t, ctx, p, vip80, ms, map[string]int{"a": 80, "b": 20})
		if ra := rowOf(rows, "a"); ra.Members != 6 || ra.Effective != 84 {
			t.Errorf("cluster a: %d members, effective weight %d; want 6 pods at ceil(80/6) = 14, 84 in all", ra.Members, ra.Effective)
		}
	})

	// S3 on its own listener: the operator creates it with two VMs first.
	var vmIDs []string
	var s3Pool string
	svcA3 := seed(t, "s3-cluster-a-with-ecs-weight-80.yaml", perf)
	svcA3.Name, svcA3.Spec.Ports[0].Port = "nginx-s3", s3Port
	svcB3 := seed(t, "s1-cluster-b-weight-20.yaml", perf)
	svcB3.Name, svcB3.Spec.Ports[0].Port = "nginx-s3", s3Port
	vip3 := p.Env.PerformanceELBVIP + ":" + strconv.Itoa(s3Port)
	vmWait := []string{"vm-1", "vm-2"}
	parent := t

	ok = t.Run("S3 VMs made by hand, then cluster a attaches with weight 80", func(t *testing.T) {
		l, err := p.ELB.CreateListenerWithPool(perf, s3Port, "ecs-"+strconv.Itoa(s3Port))
		if err != nil {
			t.Fatal(err)
		}
		s3Pool = l.PoolID
		for i, name := range []string{"vm-1", "vm-2"} {
			addr := p.Env.Plan.VMAddress(i + 1)
			vm, err := playground.StartVM(name, addr.String()+":"+strconv.Itoa(s3Port))
			if err != nil {
				t.Fatal(err)
			}
			parent.Cleanup(vm.Stop) // the VMs serve the later steps too
			m, err := p.ELB.AddMember(l.PoolID, name, addr.String(), s3Port, 10, p.Env.Plan.VMSubnet.ID)
			if err != nil {
				t.Fatal(err)
			}
			vmIDs = append(vmIDs, m.ID)
		}
		createService(t, ctx, a, svcA3)
		ms := waitPool(t, ctx, p, playground.PoolWait{Class: playground.ClassPerformance, ELBID: perf, Port: s3Port,
			Bindings: []playground.Binding{{Cluster: a, Service: svcA3, Weight: 80}}, Others: vmWait})
		checkVMsUntouched(t, ms, vmIDs)
		rows := measure(t, ctx, p, vip3, ms, map[string]int{"a": 80, "vm-1": 10, "vm-2": 10})
		if ra := rowOf(rows, "a"); ra.Effective != 84 {
			t.Errorf("cluster a effective weight %d, want 84 (6 pods at 14)", ra.Effective)
		}
	})
	if !ok {
		t.FailNow()
	}

	ok = t.Run("S3 cluster b joins with weight 20", func(t *testing.T) {
		createService(t, ctx, b, svcB3)
		ms := waitPool(t, ctx, p, playground.PoolWait{Class: playground.ClassPerformance, ELBID: perf, Port: s3Port,
			Bindings: []playground.Binding{{Cluster: a, Service: svcA3, Weight: 80}, {Cluster: b, Service: svcB3, Weight: 20}}, Others: vmWait})
		checkVMsUntouched(t, ms, vmIDs)
		measure(t, ctx, p, vip3, ms, map[string]int{"a": 80, "b": 20, "vm-1": 10, "vm-2": 10})
	})
	if !ok {
		t.FailNow()
	}

	// Issue 14, C1 end to end: cluster a's Service (cascade policy) moves to another port, then to
	// another ELB, while cluster b and the two VMs serve port 8080: their members stay and no
	// request to 8080 fails. Then a comes back, for the steps below.
	ok = t.Run("C1 a (cascade) changes its port and re-points its ELB; b and the VMs keep serving", func(t *testing.T) {
		const moved = s3Port + 1
		union := p.Env.UnionELBID
		edit := func(t *testing.T, f func(*corev1.Service)) {
			t.Helper()
			for range 10 {
				svc, err := a.Client().CoreV1().Services("default").Get(ctx, svcA3.Name, metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				f(svc)
				if _, err = a.Client().CoreV1().Services("default").Update(ctx, svc, metav1.UpdateOptions{}); err == nil {
					return
				} else if !apierrors.IsConflict(err) {
					t.Fatal(err)
				}
			}
			t.Fatal("updating a's Service kept conflicting")
		}
		stay := []playground.Binding{{Cluster: b, Service: svcB3, Weight: 20}}
		aBinding := []playground.Binding{{Cluster: a, Service: svcA3, Weight: 80}}
		edit(t, func(s *corev1.Service) { s.Annotations[recyclePolicy] = "cascade" })
		time.Sleep(time.Second) // the controller sees the policy before the edits

		bg := playground.NewClient(vip3).Run()
		step := func(t *testing.T, what string, f func(*corev1.Service), wait ...playground.PoolWait) {
			t.Helper()
			bg.Mark()
			edit(t, f)
			for _, w := range wait {
				if w.Timeout == 0 {
					w.Timeout = 90 * time.Second
				}
				if _, err := p.WaitPool(ctx, w); err != nil {
					t.Fatalf("%s: %v", what, err)
				}
			}
			time.Sleep(time.Second)
			got := bg.Since()
			t.Logf("%s: %d requests to port %d, %d failed, answers by owner %v", what, got.Sent, s3Port, got.Failed, got.ByOwner())
			if got.Failed > 0 || got.Sent == 0 {
				t.Errorf("%s: %d of %d requests to port %d failed: %v", what, got.Failed, got.Sent, s3Port, got.Errors)
			}
		}
		defer bg.Stop()
		step(t, "a's port 8080 → 8081", func(s *corev1.Service) { s.Spec.Ports[0].Port = moved },
			playground.PoolWait{Class: playground.ClassPerformance, ELBID: perf, Port: s3Port, Bindings: stay, Others: vmWait},
			playground.PoolWait{Class: playground.ClassPerformance, ELBID: perf, Port: moved, Bindings: aBinding})
		step(t, "a's kubernetes.io/elb.id → the shared ELB", func(s *corev1.Service) {
			s.Annotations["kubernetes.io/elb.id"], s.Annotations["kubernetes.io/elb.class"] = union, playground.ClassUnion
		}, playground.PoolWait{Class: playground.ClassUnion, ELBID: union, Port: moved, Bindings: aBinding},
			playground.PoolWait{Class: playground.ClassPerformance, ELBID: perf, Port: s3Port, Bindings: stay, Others: vmWait})
		if err := waitListenerGone(ctx, p, playground.ClassPerformance, perf, moved, 60*time.Second); err != nil {
			t.Errorf("a's own listener %d on the old ELB: %v", moved, err)
		}
		ms, err := p.WaitPool(ctx, playground.PoolWait{Class: playground.ClassPerformance, ELBID: perf, Port: s3Port, Bindings: stay, Others: vmWait, Timeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		checkVMsUntouched(t, ms, vmIDs)
		after := bg.Since()
		if after.ByOwner()["a"] > 0 {
			t.Errorf("a still answered on port %d after it left: %v", s3Port, after.ByOwner())
		}
		// a comes back to port 8080 of the dedicated ELB (member-only again).
		step(t, "a back on 8080", func(s *corev1.Service) {
			s.Spec.Ports[0].Port = s3Port
			s.Annotations["kubernetes.io/elb.id"], s.Annotations["kubernetes.io/elb.class"] = perf, playground.ClassPerformance
			s.Annotations[recyclePolicy] = "member-only"
		}, playground.PoolWait{Class: playground.ClassPerformance, ELBID: perf, Port: s3Port,
			Bindings: append(aBinding, stay...), Others: vmWait})
		if err := waitListenerGone(ctx, p, playground.ClassUnion, union, moved, 60*time.Second); err != nil {
			t.Errorf("a's listener %d on the shared ELB: %v", moved, err)
		}
	})
	if !ok {
		t.FailNow()
	}

	t.Run("member-only: deleting b's Service under traffic removes only b's members", func(t *testing.T) {
		bg := playground.NewClient(vip3).Run()
		if err := b.Client().CoreV1().Services("default").Delete(ctx, svcB3.Name, metav1.DeleteOptions{}); err != nil {
			bg.Stop()
			t.Fatal(err)
		}
		ms, err := p.WaitNoMembersOf(ctx, playground.ClassPerformance, perf, s3Port, "b", 60*time.Second)
		if err == nil {
			err = waitServiceGone(ctx, b, "default", svcB3.Name, 30*time.Second)
		}
		drain := bg.Since()
		bg.Mark()
		time.Sleep(2 * time.Second)
		after := bg.Since()
		bg.Stop()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("while b left: %d requests, %d failed; after: %d requests, %d failed, by owner %v",
			drain.Sent, drain.Failed, after.Sent, after.Failed, after.ByOwner())
		if drain.Failed > 0 {
			t.Errorf("%d requests failed while b's members drained: %v", drain.Failed, drain.Errors)
		}
		if after.Failed > 0 || after.Sent == 0 || after.ByOwner()["b"] > 0 {
			t.Errorf("after the drain: %d of %d failed, %d answered by b; want none failed and none from b",
				after.Failed, after.Sent, after.ByOwner()["b"])
		}
		checkVMsUntouched(t, ms, vmIDs)
		ms = waitPool(t, ctx, p, playground.PoolWait{Class: playground.ClassPerformance, ELBID: perf, Port: s3Port,
			Bindings: []playground.Binding{{Cluster: a, Service: svcA3, Weight: 80}}, Others: vmWait})
		measure(t, ctx, p, vip3, ms, map[string]int{"a": 80, "vm-1": 10, "vm-2": 10})
	})

	t.Run("cascade: deleting a's Service removes the listener and its pool", func(t *testing.T) {
		svc, err := a.Client().CoreV1().Services("default").Get(ctx, svcA3.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		svc.Annotations[recyclePolicy] = "cascade"
		if _, err := a.Client().CoreV1().Services("default").Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // let the controller see the policy before the deletion
		if err := a.Client().CoreV1().Services("default").Delete(ctx, svcA3.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := waitListenerGone(ctx, p, playground.ClassPerformance, perf, s3Port, 60*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := waitServiceGone(ctx, a, "default", svcA3.Name, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		if _, err := p.ELB.Members(playground.ClassPerformance, s3Pool); err == nil {
			t.Errorf("pool %s of the cascaded listener still exists", s3Pool)
		}
		// The S1 listener is another listener: untouched.
		ms := waitPool(t, ctx, p, playground.PoolWait{Class: playground.ClassPerformance, ELBID: perf, Port: 80, Bindings: s1})
		measure(t, ctx, p, vip80, ms, map[string]int{"a": 80, "b": 20})
	})
}

// TestSharedELB plays S1 on the shared (union, API v2) ELB, where both
// clusters' members are nodes on the node port, even cluster a's whose pods
// have VPC addresses (R3).
func TestSharedELB(t *testing.T) {
	p, a, b := startTwoClusters(t, 1)
	ctx := deadline(t, 4*time.Minute)
	union := p.Env.UnionELBID
	svcA, svcB := seedS1(t, union)
	for _, svc := range []*corev1.Service{svcA, svcB} {
		svc.Annotations["kubernetes.io/elb.class"] = playground.ClassUnion
	}
	ms := bindNginx(t, ctx, p, playground.ClassUnion, union,
		[]playground.Binding{{Cluster: a, Service: svcA, Weight: 80}, {Cluster: b, Service: svcB, Weight: 20}})
	nodeA := netip.MustParsePrefix(a.Plan.NodeCIDR)
	for _, m := range playground.OwnedTargets(ms, p.Owners, "a") {
		if addr, err := netip.ParseAddr(m.Address); err != nil || !nodeA.Contains(addr) || m.Port == 80 {
			t.Errorf("cluster a member %v on the shared ELB: want a node of %s on the node port", m, nodeA)
		}
	}
	measure(t, ctx, p, p.Env.UnionELBVIP+":80", ms, map[string]int{"a": 80, "b": 20})
	// The shared ELB was busy (PENDING_*) after each write, as the real one is (E2): the two
	// controllers met its 409s and got through them (C5).
	log, err := os.ReadFile(filepath.Join(p.LogDir, "elbd.log"))
	if err != nil {
		t.Fatal(err)
	}
	busy := 0
	for _, line := range strings.Split(string(log), "\n") {
		if strings.Contains(line, "path=/v2/") && strings.Contains(line, "status=409") {
			busy++
		}
	}
	if busy == 0 {
		t.Error("no v2 write met a busy shared load balancer (409); is elbd running with --provisioning-delay?")
	}
	t.Logf("%d v2 writes met a busy shared load balancer and were repeated", busy)
}

// checkVMsUntouched asserts the hand-made VM members are still there with
// their IDs and weights (R13).
func checkVMsUntouched(t *testing.T, ms []playground.Member, ids []string) {
	t.Helper()
	byID := map[string]playground.Member{}
	for _, m := range ms {
		byID[m.ID] = m
	}
	for _, id := range ids {
		m, ok := byID[id]
		if !ok || m.Weight != 10 {
			t.Errorf("VM member %s: present %v, weight %d; want it untouched with weight 10", id, ok, m.Weight)
		}
	}
}

// TestSeparateVPCs plays S2: cluster b in another VPC than the ELB, both
// Services with kubernetes.io/elb.multivpc, so b's members are IP-type.
func TestSeparateVPCs(t *testing.T) {
	p, a, b := startTwoClusters(t, 2)
	ctx := deadline(t, 4*time.Minute)
	perf := p.Env.PerformanceELBID
	svcA := seed(t, "s2-cluster-a-multivpc-weight-80.yaml", perf)
	svcB := seed(t, "s2-cluster-b-multivpc-weight-20.yaml", perf)
	ms := bindNginx(t, ctx, p, playground.ClassPerformance, perf,
		[]playground.Binding{{Cluster: a, Service: svcA, Weight: 80}, {Cluster: b, Service: svcB, Weight: 20}})
	vpc2 := netip.MustParsePrefix(b.Plan.Subnet.CIDR)
	for _, m := range ms {
		if p.Owners.Of(m) != "b" {
			continue
		}
		if m.SubnetID != "" {
			t.Errorf("cluster b member %s:%d has subnet %q; a cross-VPC member must be IP-type (no subnet)", m.Address, m.Port, m.SubnetID)
		}
		if addr, err := netip.ParseAddr(m.Address); err != nil || !vpc2.Contains(addr) {
			t.Errorf("cluster b member %s is not in b's subnet %s of %s", m.Address, vpc2, b.Plan.Subnet.VPCID)
		}
	}
	measure(t, ctx, p, p.Env.PerformanceELBVIP+":80", ms, map[string]int{"a": 80, "b": 20})
}
