package reconciler

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/elbclient/elbtest"
	"github.com/fleetlb/fleetlb/internal/common/elbclient/fake"
	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/controller/deploy"
	"github.com/fleetlb/fleetlb/internal/controller/model"
)

// The whole controller pipeline (annotations → model → reconciler → real Deployer) against the
// in-memory ELB, two clusters plus hand-made VM members. Behaviour against real API servers and
// elbd is tested in test/e2e; this pins how the controller's pieces fit together.

func memberSummary(elb *fake.ELB, poolID string) []string {
	var out []string
	for _, m := range elb.Members(poolID) {
		out = append(out, fmt.Sprintf("%s %s:%d w=%d", m.Name, m.Address, m.Port, m.Weight))
	}
	sort.Strings(out)
	return out
}

func TestPipelineTwoClustersAndVMs(t *testing.T) {
	ctx := context.Background()
	elb := fake.New()
	lb := elb.AddLoadBalancer(elbclient.LoadBalancer{ID: "5083f225-9bf8-48fa-9c8b-67bd9693c4c0", Class: elbrules.ClassPerformance})

	// S3: an operator makes listener 80, its pool and two VM members of weight 10 by hand.
	_, poolID := elbtest.HandMade(t, elb.API(elbrules.ClassPerformance), elbclient.ListenerSpec{LoadBalancerID: lb.ID, Name: "web", Protocol: "TCP", Port: 80}, "web",
		elbclient.MemberSpec{Name: "vm-1", Address: "192.168.9.1", Port: 80, Weight: 10, SubnetID: "subnet-vm"},
		elbclient.MemberSpec{Name: "vm-2", Address: "192.168.9.2", Port: 80, Weight: 10, SubnetID: "subnet-vm"})

	// Cluster A: Turbo-like (pass-through), weight 80, two ready Pods.
	a := newHarness(t, seedService("nginx", nil), readySlice("nginx", "10.0.0.1", "10.0.0.2"))
	a.r.Deployer = deploy.New(elb, deploy.Options{})
	// Cluster B: overlay (node mode), weight 20, one Pod on node-1.
	b := newHarness(t, seedService("nginx", map[string]string{model.AnnotationWeight: "20"}), readySlice("nginx", "10.1.0.7"),
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}, Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.168.1.11"}}}})
	b.r.Deployer = deploy.New(elb, deploy.Options{})
	b.r.Settings = model.Settings{ClusterID: "cluster-b", PodNetwork: model.PodNetworkOverlay, SubnetID: "subnet-1", DefaultWeight: 100}

	a.mustReconcile("nginx")
	b.mustReconcile("nginx")

	want := []string{
		"fleetlb/cluster-a/shop/nginx/80 10.0.0.1:80 w=40",
		"fleetlb/cluster-a/shop/nginx/80 10.0.0.2:80 w=40",
		"fleetlb/cluster-b/shop/nginx/80 192.168.1.11:30080 w=20",
		"vm-1 192.168.9.1:80 w=10",
		"vm-2 192.168.9.2:80 w=10",
	}
	if got := memberSummary(elb, poolID); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("pool members:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := len(elb.Listeners(lb.ID)); n != 1 {
		t.Errorf("%d listeners, want the one made by hand", n)
	}
	for _, h := range []*harness{a, b} {
		svc := h.get("nginx")
		if svc.Annotations[model.AnnotationListenerPort] != "80" || svc.Status.LoadBalancer.Ingress[0].IP != lb.VIP {
			t.Errorf("write-back %v %v", svc.Annotations, svc.Status.LoadBalancer)
		}
	}

	// A resync that finds the ELB as desired makes zero writes.
	before := elb.Writes()
	a.mustReconcile("nginx")
	b.mustReconcile("nginx")
	if w := elb.Writes(); w != before {
		t.Errorf("no-op resync made %d writes", w-before)
	}

	// Deleting A's Service (member-only) removes A's members only.
	if err := a.c.Delete(ctx, a.get("nginx")); err != nil {
		t.Fatal(err)
	}
	a.mustReconcile("nginx")
	want = []string{
		"fleetlb/cluster-b/shop/nginx/80 192.168.1.11:30080 w=20",
		"vm-1 192.168.9.1:80 w=10",
		"vm-2 192.168.9.2:80 w=10",
	}
	if got := memberSummary(elb, poolID); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after deleting cluster A's Service:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
