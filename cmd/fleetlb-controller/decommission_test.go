package main

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/elbclient/elbtest"
	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/common/fleetops"
	"github.com/fleetlb/fleetlb/internal/common/fleetrecord"
	"github.com/fleetlb/fleetlb/internal/common/ownership"
	"github.com/fleetlb/fleetlb/internal/controller/reconciler"
	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
	"github.com/fleetlb/fleetlb/internal/testbed/localk8s"
	"github.com/fleetlb/fleetlb/internal/testbed/localk8s/k8stest"
	"github.com/fleetlb/fleetlb/internal/testbed/poll"
)

// service is a LoadBalancer Service of class (nil: none) with finalizers.
func service(name string, class *string, finalizers ...string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Finalizers: finalizers},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, LoadBalancerClass: class,
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}
}

// T16: `fleetlb-controller decommission --cluster-id retired` against elbd and a real cluster: the
// retired cluster's members on two ELBs are drained and removed with its records; the other
// cluster's member, the VM and the listeners stay; the Services this install bound are let go
// (their finalizer removed, so deleting one completes) and a Service of another class keeps its
// finalizer; a second run says nothing is left.
func TestDecommissionCommand(t *testing.T) {
	kube := k8stest.Start(t, localk8s.Options{Name: "retired", Nodes: 1})
	svcs := kube.Client().CoreV1().Services("default")
	otherClass := "other.example.com/lb"
	for _, s := range []*corev1.Service{
		service("bound", nil, reconciler.Finalizer),
		service("other-class", &otherClass, reconciler.Finalizer),
		service("unbound", nil),
	} {
		if _, err := svcs.Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	e := elbtest.Serve(t, elbdtest.Config, elbtest.Options{})
	t.Setenv("HUAWEICLOUD_SDK_AK", "AK1")
	t.Setenv("HUAWEICLOUD_SDK_SK", "SK1-secret")
	c := e.Client(t, elbclient.Config{ProjectID: "p1", AK: "AK1", SK: "SK1-secret"})
	ctx := context.Background()
	member := func(cluster, addr string) elbclient.MemberSpec {
		return elbclient.MemberSpec{Name: ownership.MemberName(ownership.ServiceRef{ClusterID: cluster, Namespace: "shop", Name: "web"}, 80),
			Address: addr, Port: 8080, Weight: 50, SubnetID: "subnet-a1"}
	}
	for i, name := range []string{"edge-1", "edge-2"} {
		lb := e.LoadBalancer(t, store.FamilyV3, "p1", store.LoadBalancer{Name: name, VIPSubnetID: "subnet-a1"})
		suffix := string(rune('1' + i))
		elbtest.HandMade(t, c.API(elbrules.ClassPerformance), elbclient.ListenerSpec{LoadBalancerID: lb.ID, Name: "web", Protocol: "TCP", Port: 80}, "web",
			member("retired", "127.10.1.1"+suffix), member("other", "127.10.1.2"+suffix),
			elbclient.MemberSpec{Name: "vm", Address: "127.10.1.3" + suffix, Port: 8080, Weight: 10, SubnetID: "subnet-a1"})
		ls, err := fleetops.Read(ctx, c, lb.ID, 80)
		if err != nil {
			t.Fatal(err)
		}
		if err := fleetops.Write(ctx, c, ls[0], fleetrecord.Record{ClusterID: "retired", Weight: 50, Heartbeat: time.Now(), InstallID: "r1"}); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"--cluster-id", "retired", "--elb-endpoint", e.URL, "--project-id", "p1", "--deregistration-delay", "200ms", "--kubeconfig", kube.Kubeconfig}
	var out, errb strings.Builder
	if err := decommission(ctx, args, &out, &errb); err != nil {
		t.Fatalf("decommission: %v\n%s", err, errb.String())
	}
	for _, want := range []string{"decommissioning cluster retired", "1 members of cluster retired set to weight 0", "waiting 200ms", "cluster retired decommissioned: 2 members removed from 2 listeners",
		"Service default/bound: finalizer fleetlb.io/elb-binding removed", "1 Services let go"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	all, err := fleetops.All(ctx, c)
	if err != nil || len(all) != 2 {
		t.Fatalf("listeners after: %v %v", all, err)
	}
	for _, l := range all {
		if len(l.OwnedBy("retired")) != 0 || len(l.OwnedBy("other")) != 1 || len(l.Members) != 2 || len(l.Records) != 0 {
			t.Errorf("%s after decommission: members %+v records %+v", l.Name(), l.Members, l.Records)
		}
	}
	for name, want := range map[string][]string{"bound": nil, "other-class": {reconciler.Finalizer}, "unbound": nil} {
		s, err := svcs.Get(ctx, name, metav1.GetOptions{})
		if err != nil || !slices.Equal(s.Finalizers, want) {
			t.Errorf("Service %s after decommission: finalizers %v (%v), want %v", name, s.Finalizers, err, want)
		}
	}
	if err := svcs.Delete(ctx, "bound", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.True(t, 10*time.Second, "the let-go Service is deleted", func() bool {
		_, err := svcs.Get(ctx, "bound", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	out.Reset()
	if err := decommission(ctx, args, &out, &errb); err != nil || !strings.Contains(out.String(), "nothing of cluster retired is left") ||
		!strings.Contains(out.String(), "0 Services let go") {
		t.Errorf("second run: %v %q", err, out.String())
	}
	// A retired cluster that is gone: the ELBs are done, and it says what is left.
	out.Reset()
	noKube := append(args[:len(args)-2:len(args)-2], "--kubeconfig", filepath.Join(t.TempDir(), "gone"))
	if err := decommission(ctx, noKube, &out, &errb); err != nil || !strings.Contains(out.String(), "the cluster's API cannot be reached") {
		t.Errorf("without the cluster: %v %q", err, out.String())
	}
	// Without the ELB settings it says what is missing.
	if err := decommission(ctx, []string{"--cluster-id", "retired"}, &out, &errb); err == nil || !strings.Contains(err.Error(), "--elb-endpoint and --project-id required") {
		t.Errorf("missing settings: %v", err)
	}
}
