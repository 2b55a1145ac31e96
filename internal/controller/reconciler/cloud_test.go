package reconciler_test

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/controller/deploy"
	"github.com/fleetlb/fleetlb/internal/controller/model"
	"github.com/fleetlb/fleetlb/internal/controller/reconciler"
	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
	"github.com/fleetlb/fleetlb/internal/elbd/faults"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
	"github.com/fleetlb/fleetlb/internal/testbed/localk8s"
	"github.com/fleetlb/fleetlb/internal/testbed/localk8s/k8stest"
)

// Issue "fleetlb-controller is safe on a real cloud" (C5, C7-C10, C12): one real cluster, elbd's
// API over HTTP through the official SDK, one subtest per point, named after it.

// cloudConfig is elbd's configuration for one cluster (elbdtest.ClusterCloud) with this
// package's credentials.
func cloudConfig(nodeCIDR string, podCIDRs []string) string {
	return elbdtest.ClusterCloud(ak, sk, project, nodeCIDR, podCIDRs)
}

// podCIDRs are the Pod ranges the cluster gave its nodes, in node order.
func podCIDRs(t *testing.T, k *kube) []string {
	t.Helper()
	nodes, err := k.cs.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range nodes.Items {
		if n.Spec.PodCIDR == "" {
			t.Fatalf("node %s has no Pod range", n.Name)
		}
		out = append(out, n.Spec.PodCIDR)
	}
	return out
}

// noMark checks that the Service carries nothing of this controller: no finalizer, no
// condition, no ingress, no written annotation.
func noMark(k *kube, name string) func(context.Context) error {
	return func(ctx context.Context) error {
		s, err := k.cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, c := range s.Status.Conditions {
			if c.Type == reconciler.ConditionBound {
				return fmt.Errorf("condition %+v", c)
			}
		}
		if len(s.Finalizers) != 0 || len(s.Status.LoadBalancer.Ingress) != 0 || s.Annotations[model.AnnotationListenerPort] != "" {
			return fmt.Errorf("finalizers %v, ingress %v, listener-port %q", s.Finalizers, s.Status.LoadBalancer.Ingress, s.Annotations[model.AnnotationListenerPort])
		}
		return nil
	}
}

func TestSafeOnARealCloud(t *testing.T) {
	c := k8stest.StartMany(t, localk8s.Options{Name: "cloud", Nodes: 2})[0]
	// Two controllers on one cluster: "plain" runs as the source document has it (no class),
	// "classy" with --load-balancer-class and --ingress-ip-mode=VIP.
	plain := &kube{name: "plain", c: c, cs: c.Client(), id: "cluster-plain", top: t}
	classy := &kube{name: "classy", c: c, cs: c.Client(), id: "cluster-classy", top: t}
	e, inj := startFaultyELBD(t, cloudConfig(c.Options().NodeCIDR, podCIDRs(t, plain)))
	lb := e.lb(t, "cloud", true)
	const class = "example.com/fleetlb"
	// "subnets" has no --subnet-id and VPC Pod addresses: each member's subnet is found (C7).
	subnets := &kube{name: "subnets", c: c, cs: c.Client(), id: "cluster-subnets", top: t}
	const classC7 = "example.com/c7"
	plain.startWith(t, e, nil)
	subnets.startWith(t, e, func(o *reconciler.Options) {
		o.LoadBalancerClass, o.SubnetID, o.PodNetwork = classC7, "", model.PodNetworkVPC
	})
	classy.startWith(t, e, func(o *reconciler.Options) { o.LoadBalancerClass, o.IngressIPMode = class, "VIP" })
	http80 := corev1.ContainerPort{Name: "http", ContainerPort: 80, Protocol: corev1.ProtocolTCP}
	const wait = 60 * time.Second
	plain.deployment(t, "web", 2, http80)

	owners := func(port int32, want ...string) func(context.Context) error {
		return func(ctx context.Context) error {
			_, ms, err := e.pool(ctx, lb.ID, port)
			if err != nil {
				return err
			}
			var got []string
			for _, m := range ms {
				if c := clusterOf(m); c != "" && !strings.Contains(strings.Join(got, " "), c) {
					got = append(got, c)
				}
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				return fmt.Errorf("port %d has members of %v, want %v (%s)", port, got, want, summary(ms))
			}
			return nil
		}
	}

	t.Run("C8 a Service of another load balancer class is never touched", func(t *testing.T) {
		other := "cce.io/elb" // the cloud's own controller
		plain.create(t, seedService(t, "s1-cluster-a-weight-80.yaml", "web", lb.ID, func(s *corev1.Service) { s.Spec.Ports[0].Port = 81 }))
		plain.create(t, seedService(t, "s1-cluster-a-weight-80.yaml", "web-classy", lb.ID, func(s *corev1.Service) {
			s.Spec.Ports[0].Port, s.Spec.LoadBalancerClass = 82, ptrTo(class)
			s.Spec.Selector = map[string]string{"app": "web"}
		}))
		plain.create(t, seedService(t, "s1-cluster-a-weight-80.yaml", "web-cce", lb.ID, func(s *corev1.Service) {
			s.Spec.Ports[0].Port, s.Spec.LoadBalancerClass = 83, &other
			s.Spec.Selector = map[string]string{"app": "web"}
		}))
		// No class: the controller without --load-balancer-class binds it, the other never.
		eventually(t, wait, "no class: plain only", owners(81, "cluster-plain"))
		// Its class: only the controller started with --load-balancer-class binds it.
		eventually(t, wait, "class "+class+": classy only", owners(82, "cluster-classy"))
		eventually(t, wait, "bound by classy", wantCondition(plain, "web-classy", reconciler.ReasonBound))
		// Another controller's class: nobody touches the ELB or the Service.
		time.Sleep(3 * time.Second) // more than one resync of both controllers
		if l, _, err := e.pool(context.Background(), lb.ID, 83); err != nil || l != nil {
			t.Errorf("a listener was made for a Service of class %s: %+v %v", other, l, err)
		}
		eventually(t, wait, "nothing written on the "+other+" Service", noMark(plain, "web-cce"))
		// Both controllers share the finalizer's name: neither released the other's Service.
		evs, err := plain.cs.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs.Items {
			if ev.Reason == reconciler.ReasonReleased || ev.Reason == reconciler.ReasonReleaseFailed {
				t.Errorf("%s %s: %s (a controller released the other class's binding)", ev.InvolvedObject.Name, ev.Reason, ev.Message)
			}
		}
	})

	t.Run("C5 busy, throttled, slow", func(t *testing.T) {
		// Every other write is throttled, refused while busy, or has its reply lost.
		inj.Every("429", "", "409-busy", "", "lost", "")
		defer inj.Every()
		plain.deployment(t, "busy", 3, http80)
		plain.create(t, seedService(t, "s1-cluster-a-weight-80.yaml", "busy", lb.ID, func(s *corev1.Service) { s.Spec.Ports[0].Port = 85 }))
		eventually(t, wait, "bound through the faults", wantCondition(plain, "busy", reconciler.ReasonBound))
		eventually(t, wait, "one member per node running a Pod, none twice", func(ctx context.Context) error {
			pods, err := plain.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=busy"})
			if err != nil {
				return err
			}
			nodes := map[string]bool{}
			for _, p := range pods.Items {
				if p.Spec.NodeName != "" && p.Status.PodIP != "" {
					nodes[p.Spec.NodeName] = true
				}
			}
			_, ms, err := e.pool(ctx, lb.ID, 85)
			if err != nil {
				return err
			}
			seen := map[string]bool{}
			for _, m := range ms {
				k := fmt.Sprintf("%s:%d", m.Address, m.Port)
				if seen[k] {
					return fmt.Errorf("duplicate member %s: %s", k, summary(ms))
				}
				seen[k] = true
			}
			if len(ms) != len(nodes) || len(nodes) == 0 {
				return fmt.Errorf("%d members for Pods on %d nodes: %s", len(ms), len(nodes), summary(ms))
			}
			return nil
		})
		ls, err := e.perf().ListListeners(context.Background(), lb.ID)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, l := range ls {
			if l.Port == 85 {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d listeners on port 85, want 1 (a lost reply must not make a second)", n)
		}
		got := inj.Injected()
		for _, k := range []faults.Kind{faults.Throttle, faults.Busy, faults.Lost} {
			if got[k] == 0 {
				t.Errorf("no %q was injected (%v): the test proves nothing", k, got)
			}
		}
		t.Logf("faults injected on the way: %v", got)

		// elbd's own busy window: a shared ELB refuses writes with 409 while PENDING_UPDATE after
		// each of them; the controller waits for ACTIVE, so each member gets there once.
		inj.Every()
		busy409 := inj.Answered(http.StatusConflict)
		union := e.lbOf(t, store.FamilyV2, "busy-union", false)
		plain.create(t, seedService(t, "s1-cluster-a-weight-80.yaml", "busy-union", union.ID, func(s *corev1.Service) {
			s.Annotations[model.AnnotationClass] = "union"
			s.Spec.Selector = map[string]string{"app": "busy"}
		}))
		eventually(t, wait, "bound through the busy window", wantCondition(plain, "busy-union", reconciler.ReasonBound))
		eventually(t, wait, "union pool", func(ctx context.Context) error {
			_, ms, err := e.poolOf(ctx, elbrules.ClassUnion, union.ID, 80)
			if err != nil || len(ms) == 0 {
				return fmt.Errorf("union pool %s (%v)", summary(ms), err)
			}
			seen := map[string]bool{}
			for _, m := range ms {
				k := fmt.Sprintf("%s:%d", m.Address, m.Port)
				if seen[k] || m.SubnetID != "subnet-nodes" {
					return fmt.Errorf("union pool %s: a member twice or outside subnet-nodes", summary(ms))
				}
				seen[k] = true
			}
			return nil
		})
		if n := inj.Answered(http.StatusConflict) - busy409; n == 0 {
			t.Error("elbd's busy window refused no write: the test proves nothing")
		} else {
			t.Logf("elbd refused %d writes while busy; all were waited out", n)
		}
	})

	t.Run("C7 each member in its own subnet", func(t *testing.T) {
		cidrs := podCIDRs(t, plain) // subnet-pods-N is node N's Pod range
		// A hard spread over the nodes: the scheduler's default spreading is only a preference,
		// and with all Pods on one node the test would show nothing.
		d := localk8s.Deployment("spread", "nginx", 4, http80)
		d.Spec.Template.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
			MaxSkew: 1, TopologyKey: corev1.LabelHostname, WhenUnsatisfiable: corev1.DoNotSchedule,
			LabelSelector: d.Spec.Selector,
		}}
		if _, err := plain.cs.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		plain.create(t, seedService(t, "s1-cluster-a-weight-80.yaml", "spread", lb.ID, func(s *corev1.Service) {
			s.Spec.Ports[0].Port, s.Spec.LoadBalancerClass = 86, ptrTo(classC7)
		}))
		eventually(t, wait, "members in the subnets of their addresses", func(ctx context.Context) error {
			ips := podIPs(t, plain, "spread")
			_, ms, err := e.pool(ctx, lb.ID, 86)
			if err != nil {
				return err
			}
			if len(ms) != 4 || len(ips) != 4 {
				return fmt.Errorf("pods %v, members %s", ips, summary(ms))
			}
			used := map[string]bool{}
			for _, m := range ms {
				want := ""
				for i, c := range cidrs {
					if netip.MustParsePrefix(c).Contains(netip.MustParseAddr(m.Address)) {
						want = fmt.Sprintf("subnet-pods-%d", i+1)
					}
				}
				if m.SubnetID != want {
					return fmt.Errorf("member %s in subnet %q, want %q (its address's)", m.Address, m.SubnetID, want)
				}
				used[m.SubnetID] = true
			}
			if len(used) < 2 {
				return fmt.Errorf("the Pods run in %d subnet(s) only (%s); the point is several", len(used), summary(ms))
			}
			return nil
		})
		// Resyncs (every 2 s, known ports read only their members) keep them as they are.
		_, before, err := e.pool(context.Background(), lb.ID, 86)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second)
		ids := func(ms []elbclient.Member) string {
			var out []string
			for _, m := range ms {
				out = append(out, m.ID+" "+m.SubnetID)
			}
			return lines(out...)
		}
		if _, after, err := e.pool(context.Background(), lb.ID, 86); err != nil || ids(after) != ids(before) {
			t.Errorf("members changed on resync:\n%s\nthen:\n%s (%v)", ids(before), ids(after), err)
		}
		// An address in no subnet of the ELB's VPC is refused, saying which and what to do.
		other := e.LoadBalancer(t, store.FamilyV3, project, store.LoadBalancer{Name: "other-vpc", VIPSubnetID: "subnet-vip-2"})
		plain.create(t, seedService(t, "s1-cluster-a-weight-80.yaml", "elsewhere", other.ID, func(s *corev1.Service) {
			s.Spec.Ports[0].Port, s.Spec.LoadBalancerClass = 87, ptrTo(classC7)
			s.Spec.Selector = map[string]string{"app": "spread"}
		}))
		eventually(t, wait, "refused", wantCondition(plain, "elsewhere", deploy.ReasonMemberSubnet, "vpc-2", "multivpc", "--subnet-id"))
		// The Service may be reconciled before its EndpointSlice exists: then, with no member to
		// place, its listener and empty pool are made, as for any Service without ready Pods.
		// What the refusal holds back is every member: none reaches the ELB.
		if l, ms, err := e.pool(context.Background(), other.ID, 87); err != nil || len(ms) != 0 {
			t.Errorf("the refused Service put members on the ELB: %+v %s %v", l, summary(ms), err)
		}
	})

	t.Run("C10 say what the cloud will not do", func(t *testing.T) {
		// SOURCE_IP ignores weights: the Service is told its share follows member counts.
		plain.deployment(t, "sticky", 2, http80)
		plain.create(t, seedService(t, "s1-cluster-a-weight-80.yaml", "sticky", lb.ID, func(s *corev1.Service) {
			s.Spec.Ports[0].Port = 88
			s.Annotations[model.AnnotationAlgorithm] = "SOURCE_IP"
		}))
		var poolID string
		eventually(t, wait, "sticky pool", func(ctx context.Context) error {
			l, ms, err := e.pool(ctx, lb.ID, 88)
			if err != nil || l == nil || len(ms) == 0 {
				return fmt.Errorf("listener 88: %v %v", l, err)
			}
			poolID = l.DefaultPoolID
			return nil
		})
		vm := elbclient.MemberSpec{Name: "vm-1", Address: "127.251.0.21", Port: 80, Weight: 10, SubnetID: "subnet-vm"}
		if _, err := e.perf().AddMembers(context.Background(), poolID, []elbclient.MemberSpec{vm}); err != nil {
			t.Fatal(err)
		}
		// An edit of the Service brings the next reconcile (and its reading of the pool) forward,
		// rather than waiting for the resync on a loaded machine.
		plain.update(t, "sticky", func(s *corev1.Service) { s.Annotations["example.com/touched"] = "vm-1" })
		eventually(t, wait, "SOURCE_IP warning with the shares", func(ctx context.Context) error {
			_, ms, err := e.pool(ctx, lb.ID, 88)
			if err != nil {
				return err
			}
			ours := len(ms) - 1
			return wantEvent(plain, "sticky", deploy.WarnSourceIPShares, "SOURCE_IP", "weight 80 is not applied",
				fmt.Sprintf("this cluster: %d of %d members", ours, len(ms)),
				fmt.Sprintf("members without a fleetlb name (VMs, made by hand): 1 of %d members", len(ms)))(ctx)
		})

		// No usable endpoints: not Bound with zero members; the condition says why.
		plain.create(t, seedService(t, "s1-cluster-a-weight-80.yaml", "nobody", lb.ID, func(s *corev1.Service) {
			s.Spec.Ports[0].Port = 89
			s.Spec.Selector = map[string]string{"app": "nobody-runs-this"}
		}))
		eventually(t, wait, "no endpoints", wantCondition(plain, "nobody", reconciler.ReasonNoUsableEndpoints, "TCP/89", "matches no Pod"))

		// IPv6-only endpoints (a Service without selector and its own IPv6 EndpointSlice).
		plain.create(t, seedService(t, "s1-cluster-a-weight-80.yaml", "six", lb.ID, func(s *corev1.Service) {
			s.Spec.Ports[0].Port = 90
			s.Spec.Selector = nil
		}))
		ready := true
		port, proto := int32(80), corev1.ProtocolTCP
		if _, err := plain.cs.DiscoveryV1().EndpointSlices(ns).Create(context.Background(), &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: "six-v6", Labels: map[string]string{discoveryv1.LabelServiceName: "six"}},
			AddressType: discoveryv1.AddressTypeIPv6,
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"fd00::10"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
			Ports:       []discoveryv1.EndpointPort{{Name: ptrTo("service0"), Port: &port, Protocol: &proto}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, wait, "IPv6 only", wantCondition(plain, "six", reconciler.ReasonIPv6Only, "TCP/90", "IPv6-only", "PreferDualStack"))
	})

	t.Run("C9 ipMode Proxy so in-cluster clients go through the ELB", func(t *testing.T) {
		ingress := func(name string, mode corev1.LoadBalancerIPMode) func(context.Context) error {
			return func(ctx context.Context) error {
				s, err := plain.cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					return err
				}
				ing := s.Status.LoadBalancer.Ingress
				if len(ing) != 1 || ing[0].IP != lb.VIPAddress || ing[0].IPMode == nil || *ing[0].IPMode != mode {
					return fmt.Errorf("ingress %+v, want VIP %s with ipMode %s", ing, lb.VIPAddress, mode)
				}
				return nil
			}
		}
		eventually(t, wait, "default Proxy", ingress("web", corev1.LoadBalancerIPModeProxy))
		eventually(t, wait, "--ingress-ip-mode=VIP", ingress("web-classy", corev1.LoadBalancerIPModeVIP))
	})
}
