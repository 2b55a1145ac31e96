package reconciler_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/controller/deploy"
	"github.com/fleetlb/fleetlb/internal/controller/model"
	"github.com/fleetlb/fleetlb/internal/controller/reconciler"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
	"github.com/fleetlb/fleetlb/internal/testbed/localk8s/k8stest"
)

// Real API servers (localk8s: etcd, kube-apiserver, kube-controller-manager, scheduler, simulated
// nodes running real pod servers) and elbd's real API over HTTP, driven through the official SDK.
// Cluster A has VPC pod addresses (pass-through), cluster B an overlay (node mode).

func TestRealClusters(t *testing.T) {
	// Free address ranges are picked by localk8s; elbd's subnets follow them.
	e, a, b := startPair(t, "a", "b", 2, elbdConfig)
	nodeNetB := netip.MustParsePrefix(b.c.Options().NodeCIDR)
	lb := e.lb(t, "shared", true)
	noIP := e.lb(t, "no-ip-targets", false)

	b.id = "" // b's controller takes the default ID: the kube-system namespace's UID
	ksys, err := b.cs.CoreV1().Namespaces().Get(context.Background(), "kube-system", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a.startController(t, e, model.PodNetworkVPC, "subnet-a-pods")
	b.startController(t, e, model.PodNetworkOverlay, "subnet-b-nodes")
	b.id = string(ksys.UID)
	http80 := corev1.ContainerPort{Name: "http", ContainerPort: 80, Protocol: corev1.ProtocolTCP}
	const wait = 60 * time.Second

	a.deployment(t, "nginx", 2, http80)
	b.deployment(t, "nginx", 1, http80)
	a.create(t, seedService(t, "s1-cluster-a-weight-80.yaml", "nginx", lb.ID, nil))
	b.create(t, seedService(t, "s1-cluster-b-weight-20.yaml", "nginx", lb.ID, nil))

	var bMember string // cluster B's node member, "id addr:port w=20"
	t.Run("S1 80:20, pass-through and node mode", func(t *testing.T) {
		eventually(t, wait, "cluster B's node member", func(ctx context.Context) error {
			_, ms, err := e.pool(ctx, lb.ID, 80)
			if err != nil {
				return err
			}
			for _, m := range ms {
				if clusterOf(m) == b.id {
					bMember = fmt.Sprintf("%s %s:%d w=%d", b.id, m.Address, m.Port, m.Weight)
				}
			}
			if bMember == "" {
				return fmt.Errorf("no member of cluster B yet: %s", summary(ms))
			}
			return nil
		})
		svcB := b.get(t, "nginx")
		addr, _, _ := strings.Cut(strings.Fields(bMember)[1], ":")
		if !strings.Contains(bMember, fmt.Sprintf(":%d w=20", svcB.Spec.Ports[0].NodePort)) || !nodeNetB.Contains(netip.MustParseAddr(addr)) {
			t.Errorf("cluster B (overlay) member %q: want its node InternalIP : node port %d with weight 20", bMember, svcB.Spec.Ports[0].NodePort)
		}
		eventually(t, wait, "S1 pool", func(ctx context.Context) error {
			ips := podIPs(t, a, "nginx")
			if len(ips) != 2 {
				return fmt.Errorf("pods of A: %v", ips)
			}
			return wantPool(e, lb.ID, 80, lines("cluster-a "+ips[0]+":80 w=40", "cluster-a "+ips[1]+":80 w=40", bMember))(ctx)
		})
	})

	t.Run("R8 write-back and status", func(t *testing.T) {
		for _, k := range []*kube{a, b} {
			eventually(t, wait, "write-back on "+k.name, func(ctx context.Context) error {
				s := k.get(t, "nginx")
				if s.Annotations[model.AnnotationListenerPort] != "80" {
					return fmt.Errorf("listener-port %q", s.Annotations[model.AnnotationListenerPort])
				}
				if ing := s.Status.LoadBalancer.Ingress; len(ing) != 1 || ing[0].IP != lb.VIPAddress {
					return fmt.Errorf("ingress %v, want VIP %s", ing, lb.VIPAddress)
				}
				return wantCondition(k, "nginx", reconciler.ReasonBound, "listener port(s) 80")(ctx)
			})
		}
		// A user edit of the annotation moves nothing: the ELB's marks decide.
		a.update(t, "nginx", func(s *corev1.Service) { s.Annotations[model.AnnotationListenerPort] = "8081" })
		eventually(t, wait, "listener-port restored", func(ctx context.Context) error {
			if v := a.get(t, "nginx").Annotations[model.AnnotationListenerPort]; v != "80" {
				return fmt.Errorf("listener-port %q", v)
			}
			return nil
		})
		l, _, err := e.pool(context.Background(), lb.ID, 8081)
		if err != nil || l != nil {
			t.Errorf("a listener appeared on the user-written port: %v %v", l, err)
		}
	})

	t.Run("scaling 2 to 3 to 5 to 0", func(t *testing.T) {
		for _, step := range []struct {
			replicas int32
			weight   int
		}{{3, 27}, {5, 16}, {0, 0}} {
			a.scale(t, "nginx", step.replicas)
			eventually(t, wait, fmt.Sprintf("%d replicas", step.replicas), func(ctx context.Context) error {
				ips := podIPs(t, a, "nginx")
				if len(ips) != int(step.replicas) {
					return fmt.Errorf("pods %v", ips)
				}
				want := []string{bMember}
				for _, ip := range ips {
					want = append(want, fmt.Sprintf("cluster-a %s:80 w=%d", ip, step.weight))
				}
				return wantPool(e, lb.ID, 80, lines(want...))(ctx)
			})
		}
		a.scale(t, "nginx", 2)
	})

	t.Run("R4 removing the weight keeps it", func(t *testing.T) {
		a.update(t, "nginx", func(s *corev1.Service) { delete(s.Annotations, model.AnnotationWeight) })
		eventually(t, wait, "A back at 2 pods, weight 80 kept", func(ctx context.Context) error {
			ips := podIPs(t, a, "nginx")
			if len(ips) != 2 {
				return fmt.Errorf("pods %v", ips)
			}
			return wantPool(e, lb.ID, 80, lines("cluster-a "+ips[0]+":80 w=40", "cluster-a "+ips[1]+":80 w=40", bMember))(ctx)
		})
		if v := a.get(t, "nginx").Annotations[model.AnnotationAppliedWeight]; v != "80" {
			t.Errorf("applied weight %q", v)
		}
	})

	t.Run("C6 no-op resync makes zero writes", func(t *testing.T) {
		before := e.Writes.Load()
		time.Sleep(5 * time.Second) // more than two resync periods of both controllers
		if n := e.Writes.Load() - before; n != 0 {
			t.Errorf("%d write calls reached elbd while nothing changed", n)
		}
	})

	t.Run("resync repairs drift made by hand", func(t *testing.T) {
		ctx := context.Background()
		l, ms, err := e.pool(ctx, lb.ID, 80)
		if err != nil || l == nil {
			t.Fatalf("listener 80: %v", err)
		}
		want := summary(ms)
		api := e.perf()
		var drop string
		var bump []elbclient.WeightUpdate
		for _, m := range ms {
			if clusterOf(m) == "cluster-a" && drop == "" {
				drop = m.ID
			} else {
				bump = append(bump, elbclient.WeightUpdate{MemberID: m.ID, Weight: 99})
			}
		}
		if err := api.DeleteMembers(ctx, l.DefaultPoolID, []string{drop}); err != nil {
			t.Fatal(err)
		}
		if err := api.UpdateMemberWeights(ctx, l.DefaultPoolID, bump); err != nil {
			t.Fatal(err)
		}
		eventually(t, wait, "drift repaired by the periodic resync", wantPool(e, lb.ID, 80, want))
	})

	t.Run("R9 R10 R6 refusals leave the ELB unchanged", func(t *testing.T) {
		// R9: an HTTP listener takes TCP's port 8082 (TCP and UDP could share it, C11).
		if _, err := e.perf().CreateListener(context.Background(), elbclient.ListenerSpec{LoadBalancerID: lb.ID, Name: "web-l7", Protocol: "HTTP", Port: 8082}); err != nil {
			t.Fatal(err)
		}
		before := e.Writes.Load()
		b.deployment(t, "dns", 1, http80)
		b.create(t, seedService(t, "s1-cluster-b-weight-20.yaml", "dns", lb.ID, func(s *corev1.Service) {
			s.Spec.Ports[0].Port = 8082
		}))
		b.create(t, seedService(t, "s1-cluster-b-weight-20.yaml", "lost", "00000000-0000-0000-0000-000000000000", nil))
		a.create(t, seedService(t, "s1-cluster-a-weight-80.yaml", "legacy", lb.ID, func(s *corev1.Service) {
			delete(s.Annotations, model.AnnotationMultiCluster)
		}))
		eventually(t, wait, "R9", wantCondition(b, "dns", deploy.ReasonProtocolConflict, "8082", "HTTP"))
		eventually(t, wait, "R9 event", wantEvent(b, "dns", deploy.ReasonProtocolConflict))
		eventually(t, wait, "R10", wantCondition(b, "lost", deploy.ReasonELBNotFound, model.AnnotationELBID))
		eventually(t, wait, "R6", wantEvent(a, "legacy", reconciler.ReasonNotMultiCluster, model.AnnotationMultiCluster))
		if n := e.Writes.Load() - before; n != 0 {
			t.Errorf("refused Services made %d writes", n)
		}
		if fs := a.get(t, "legacy").Finalizers; len(fs) != 0 {
			t.Errorf("a Service without multicluster got finalizers %v", fs)
		}
	})

	t.Run("S3 attach to a hand-made listener with VMs", func(t *testing.T) {
		e.handMade(t, lb.ID, "vm-web", 8080,
			elbclient.MemberSpec{Name: "ecs-1", Address: "127.251.0.11", Port: 8080, Weight: 10, SubnetID: "subnet-vm"},
			elbclient.MemberSpec{Name: "ecs-2", Address: "127.251.0.12", Port: 8080, Weight: 10, SubnetID: "subnet-vm"})
		a.deployment(t, "web", 2, corev1.ContainerPort{ContainerPort: 8080, Protocol: corev1.ProtocolTCP})
		a.create(t, seedService(t, "s3-cluster-a-with-ecs-weight-80.yaml", "web", lb.ID, func(s *corev1.Service) {
			s.Spec.Ports[0].Port, s.Spec.Ports[0].TargetPort = 8080, intstr.FromInt32(8080)
		}))
		eventually(t, wait, "S3 pool", func(ctx context.Context) error {
			ips := podIPs(t, a, "web")
			if len(ips) != 2 {
				return fmt.Errorf("pods %v", ips)
			}
			return wantPool(e, lb.ID, 8080, lines("cluster-a "+ips[0]+":8080 w=40", "cluster-a "+ips[1]+":8080 w=40",
				"ecs-1 127.251.0.11:8080 w=10", "ecs-2 127.251.0.12:8080 w=10"))(ctx)
		})
		// R5: the hand-made pool has no health check; the Service is told, the pool is left alone.
		eventually(t, wait, "R5 event", wantEvent(a, "web", deploy.WarnConfigDiffers, "health check"))
	})

	t.Run("union ELB through the v2 API, class checked", func(t *testing.T) {
		union := e.lbOf(t, store.FamilyV2, "shared-union", false)
		b.deployment(t, "classic", 1, http80)
		b.create(t, seedService(t, "s1-cluster-b-weight-20.yaml", "classic", union.ID, func(s *corev1.Service) {
			s.Annotations[model.AnnotationClass] = "union"
			s.Annotations[model.AnnotationWeight] = "30"
			s.Spec.Ports[0].Port = 5050
		}))
		eventually(t, wait, "union pool", func(ctx context.Context) error {
			_, ms, err := e.poolOf(ctx, elbrules.ClassUnion, union.ID, 5050)
			if err != nil {
				return err
			}
			svc := b.get(t, "classic")
			if len(ms) != 1 || ms[0].Weight != 30 || ms[0].Port != svc.Spec.Ports[0].NodePort || ms[0].SubnetID != "subnet-b-nodes" {
				return fmt.Errorf("union pool %s", summary(ms))
			}
			return nil
		})
		a.create(t, seedService(t, "s1-cluster-a-weight-80.yaml", "wrong-class", union.ID, nil))
		eventually(t, wait, "class mismatch", wantCondition(a, "wrong-class", deploy.ReasonELBClassMismatch, model.AnnotationClass))
		a.create(t, seedService(t, "s2-cluster-a-multivpc-weight-80.yaml", "xvpc-union", union.ID, func(s *corev1.Service) {
			s.Annotations[model.AnnotationClass] = "union"
		}))
		eventually(t, wait, "multivpc on union", wantCondition(a, "xvpc-union", reconciler.ReasonInvalidAnnotations, model.AnnotationMultiVPC, "performance"))
	})

	t.Run("distorted share is reported", func(t *testing.T) {
		a.deployment(t, "tiny", 2, corev1.ContainerPort{ContainerPort: 80, Protocol: corev1.ProtocolTCP})
		a.create(t, seedService(t, "s1-cluster-a-weight-80.yaml", "tiny", lb.ID, func(s *corev1.Service) {
			s.Annotations[model.AnnotationWeight] = "1"
			s.Spec.Ports[0].Port = 4040
		}))
		eventually(t, wait, "distortion event", wantEvent(a, "tiny", reconciler.ReasonWeightDistorted, "requested weight 1, effective sum 2"))
	})

	t.Run("pool settings from the creator's annotations, R5 for the next", func(t *testing.T) {
		a.deployment(t, "tuned", 1, http80)
		b.deployment(t, "tuned", 1, http80)
		a.create(t, seedService(t, "s1-cluster-a-weight-80.yaml", "tuned", lb.ID, func(s *corev1.Service) {
			s.Annotations[model.AnnotationAlgorithm] = "SOURCE_IP"
			s.Annotations[model.AnnotationHealthCheckOption] = `{"protocol":"HTTP","delay":"4","timeout":"3","max_retries":"2","path":"/healthz"}`
			s.Spec.Ports[0].Port = 1010
		}))
		var poolID string
		eventually(t, wait, "creator's pool", func(ctx context.Context) error {
			l, ms, err := e.pool(ctx, lb.ID, 1010)
			if err != nil || l == nil || len(ms) != 1 {
				return fmt.Errorf("listener 1010: %v %s", err, summary(ms))
			}
			poolID = l.DefaultPoolID
			return nil
		})
		api := e.perf()
		p, err := api.GetPool(context.Background(), poolID)
		if err != nil {
			t.Fatal(err)
		}
		hm, err := api.GetHealthMonitor(context.Background(), p.HealthMonitorID)
		if err != nil {
			t.Fatal(err)
		}
		if p.Algorithm != "SOURCE_IP" || hm.Type != "HTTP" || hm.URLPath != "/healthz" || hm.Delay != 4 || hm.Timeout != 3 || hm.MaxRetries != 2 {
			t.Errorf("pool %+v monitor %+v", p, hm)
		}
		b.create(t, seedService(t, "s1-cluster-b-weight-20.yaml", "tuned", lb.ID, func(s *corev1.Service) { s.Spec.Ports[0].Port = 1010 }))
		eventually(t, wait, "R5 event on the second Service", wantEvent(b, "tuned", deploy.WarnConfigDiffers, "SOURCE_IP"))
		eventually(t, wait, "both clusters in the pool", func(ctx context.Context) error {
			_, ms, err := e.pool(ctx, lb.ID, 1010)
			if err != nil || len(ms) != 2 {
				return fmt.Errorf("pool %s (%v)", summary(ms), err)
			}
			return nil
		})
		if p2, err := api.GetPool(context.Background(), poolID); err != nil || p2.Algorithm != "SOURCE_IP" {
			t.Errorf("the creator's algorithm was changed: %+v %v", p2, err)
		}
	})

	t.Run("a port added and removed, multicluster turned off", func(t *testing.T) {
		a.update(t, "tiny", func(s *corev1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "extra", Port: 4041, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(80)})
		})
		eventually(t, wait, "second listener", func(ctx context.Context) error {
			_, ms, err := e.pool(ctx, lb.ID, 4041)
			if err != nil || len(ms) != 2 {
				return fmt.Errorf("pool of 4041: %s %v", summary(ms), err)
			}
			if v := a.get(t, "tiny").Annotations[model.AnnotationListenerPort]; v != "4040,4041" {
				return fmt.Errorf("listener-port %q", v)
			}
			return nil
		})
		a.update(t, "tiny", func(s *corev1.Service) { s.Spec.Ports = s.Spec.Ports[:1] })
		gone := func(port int32) func(context.Context) error {
			return func(ctx context.Context) error {
				if l, _, err := e.pool(ctx, lb.ID, port); err != nil || l != nil {
					return fmt.Errorf("listener %d still there (%v)", port, err)
				}
				return nil
			}
		}
		// The Service created that listener and nobody else uses it: member-only removes it too.
		eventually(t, wait, "listener of the removed port", gone(4041))
		eventually(t, wait, "listener-port", func(ctx context.Context) error {
			if v := a.get(t, "tiny").Annotations[model.AnnotationListenerPort]; v != "4040" {
				return fmt.Errorf("listener-port %q", v)
			}
			return nil
		})
		a.update(t, "tiny", func(s *corev1.Service) { s.Annotations[model.AnnotationMultiCluster] = "false" })
		eventually(t, wait, "unbound", gone(4040))
		eventually(t, wait, "controller state removed", func(ctx context.Context) error {
			s := a.get(t, "tiny")
			if len(s.Finalizers) != 0 || s.Annotations[model.AnnotationListenerPort] != "" || len(s.Status.LoadBalancer.Ingress) != 0 {
				return fmt.Errorf("finalizers %v, annotations %v, ingress %v", s.Finalizers, s.Annotations, s.Status.LoadBalancer.Ingress)
			}
			return nil
		})
	})

	// Issue 14 on real clusters: each subtest is named after its row in docs/requirements.md.
	owners := func(ms []elbclient.Member) map[string]int {
		out := map[string]int{}
		for _, m := range ms {
			if c := clusterOf(m); c != "" {
				out[c]++
			} else {
				out[m.Name]++
			}
		}
		return out
	}
	wantOwners := func(lbID string, port int32, want map[string]int) func(context.Context) error {
		return func(ctx context.Context) error {
			_, ms, err := e.pool(ctx, lbID, port)
			if err != nil {
				return err
			}
			if got := owners(ms); fmt.Sprint(got) != fmt.Sprint(want) {
				return fmt.Errorf("pool of port %d on %s: owners %v, want %v:\n%s", port, lbID, got, want, summary(ms))
			}
			return nil
		}
	}
	listenerGone := func(lbID string, port int32) func(context.Context) error {
		return func(ctx context.Context) error {
			if l, _, err := e.pool(ctx, lbID, port); err != nil || l != nil {
				return fmt.Errorf("listener %d on %s still there (%v)", port, lbID, err)
			}
			return nil
		}
	}
	addVMs := func(t *testing.T, port int32, base int) {
		t.Helper()
		l, _, err := e.pool(context.Background(), lb.ID, port)
		if err != nil || l == nil {
			t.Fatalf("listener %d: %v", port, err)
		}
		if _, err := e.perf().AddMembers(context.Background(), l.DefaultPoolID, []elbclient.MemberSpec{
			{Name: "vm-1", Address: fmt.Sprintf("127.251.0.%d", base), Port: 8080, Weight: 10, SubnetID: "subnet-vm"},
			{Name: "vm-2", Address: fmt.Sprintf("127.251.0.%d", base+1), Port: 8080, Weight: 10, SubnetID: "subnet-vm"}}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("C1 cascade only on deletion", func(t *testing.T) {
		a.deployment(t, "c1", 1, http80)
		b.deployment(t, "c1", 1, http80)
		a.create(t, seedService(t, "s1-cluster-a-weight-80.yaml", "c1", lb.ID, func(s *corev1.Service) {
			s.Spec.Ports[0].Port = 3001
			s.Annotations[model.AnnotationRecyclePolicy] = "cascade"
		}))
		eventually(t, wait, "A on 3001", wantOwners(lb.ID, 3001, map[string]int{"cluster-a": 1}))
		b.create(t, seedService(t, "s1-cluster-b-weight-20.yaml", "c1", lb.ID, func(s *corev1.Service) { s.Spec.Ports[0].Port = 3001 }))
		eventually(t, wait, "B on 3001", wantOwners(lb.ID, 3001, map[string]int{"cluster-a": 1, b.id: 1}))
		addVMs(t, 3001, 21)
		shared := map[string]int{b.id: 1, "vm-1": 1, "vm-2": 1}

		// The port changes: A's member leaves 3001, B's and the VMs' stay.
		a.update(t, "c1", func(s *corev1.Service) { s.Spec.Ports[0].Port = 3002 })
		eventually(t, wait, "A moved to 3002", wantOwners(lb.ID, 3002, map[string]int{"cluster-a": 1}))
		eventually(t, wait, "3001 kept", wantOwners(lb.ID, 3001, shared))
		// kubernetes.io/elb.id re-pointed: A's listener on the old ELB (its own, now empty) goes.
		a.update(t, "c1", func(s *corev1.Service) { s.Annotations[model.AnnotationELBID] = noIP.ID })
		eventually(t, wait, "A on the other ELB", wantOwners(noIP.ID, 3002, map[string]int{"cluster-a": 1}))
		eventually(t, wait, "A's old listener released", listenerGone(lb.ID, 3002))
		// multicluster off: member-only too.
		a.update(t, "c1", func(s *corev1.Service) { s.Annotations[model.AnnotationMultiCluster] = "false" })
		eventually(t, wait, "A released", listenerGone(noIP.ID, 3002))
		if err := wantOwners(lb.ID, 3001, shared)(context.Background()); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("C2 a refused write blocks nothing else", func(t *testing.T) {
		a.deployment(t, "c2", 3, http80)
		a.create(t, seedService(t, "s1-cluster-a-weight-80.yaml", "c2", lb.ID, func(s *corev1.Service) { s.Spec.Ports[0].Port = 3005 }))
		weights := func(n, w int) func(context.Context) error {
			return func(ctx context.Context) error {
				_, ms, err := e.pool(ctx, lb.ID, 3005)
				if err != nil {
					return err
				}
				for _, m := range ms {
					if m.Weight != w {
						return fmt.Errorf("member weight %d, want %d: %s", m.Weight, w, summary(ms))
					}
				}
				if n > 0 && len(ms) != n || len(ms) > 10 {
					return fmt.Errorf("%d members, want %d (at most the quota, 10): %s", len(ms), n, summary(ms))
				}
				return nil
			}
		}
		eventually(t, wait, "3 members of 27", weights(3, 27))
		// 11 Pods: the pool's quota of 10 refuses some addition; the weights already there still
		// change to ceil(80/11) = 8, and the Service says why and with which numbers.
		a.scale(t, "c2", 11)
		eventually(t, wait, "quota refusal", wantCondition(a, "c2", deploy.ReasonMemberQuota, "quota is 10", "members_per_pool", "fit"))
		eventually(t, wait, "quota Event", wantEvent(a, "c2", deploy.ReasonMemberQuota, "quota is 10"))
		eventually(t, wait, "weights changed despite the refusal", weights(0, 8))
		a.scale(t, "c2", 3)
		eventually(t, wait, "bound again", wantCondition(a, "c2", reconciler.ReasonBound))
		eventually(t, wait, "3 members of 27 again", weights(3, 27))
	})

	t.Run("C3 own members only, even after a crash", func(t *testing.T) {
		a.deployment(t, "c3", 1, http80)
		b.deployment(t, "c3", 1, http80)
		a.create(t, seedService(t, "s1-cluster-a-weight-80.yaml", "c3", lb.ID, func(s *corev1.Service) { s.Spec.Ports[0].Port = 3003 }))
		b.create(t, seedService(t, "s1-cluster-b-weight-20.yaml", "c3", lb.ID, func(s *corev1.Service) { s.Spec.Ports[0].Port = 3003 }))
		eventually(t, wait, "both on 3003", wantOwners(lb.ID, 3003, map[string]int{"cluster-a": 1, b.id: 1}))
		addVMs(t, 3003, 31)
		// A's controller is down (before the ghost below is added: its sweep, every Resync, would
		// remove it at once) while its Service is deleted with the finalizer removed by hand.
		a.stopController()
		// Members of a cluster that is not here, and one of cluster A's for a Service it never had.
		l, _, _ := e.pool(context.Background(), lb.ID, 3003)
		if _, err := e.perf().AddMembers(context.Background(), l.DefaultPoolID, []elbclient.MemberSpec{
			{Name: "fleetlb/cluster-z/default/c3/3003", Address: "127.251.0.41", Port: 8080, Weight: 5, SubnetID: "subnet-vm"},
			{Name: "fleetlb/cluster-a/default/ghost/3003", Address: "127.251.0.42", Port: 8080, Weight: 5, SubnetID: "subnet-vm"}}); err != nil {
			t.Fatal(err)
		}
		a.update(t, "c3", func(s *corev1.Service) { s.Finalizers = nil })
		if err := a.cs.CoreV1().Services(ns).Delete(context.Background(), "c3", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := wantOwners(lb.ID, 3003, map[string]int{"cluster-a": 2, b.id: 1, "vm-1": 1, "vm-2": 1, "cluster-z": 1})(context.Background()); err != nil {
			t.Fatal(err)
		}
		a.startController(t, e, model.PodNetworkVPC, "subnet-a-pods")
		eventually(t, wait, "the sweep removed cluster A's unwanted members only",
			wantOwners(lb.ID, 3003, map[string]int{b.id: 1, "vm-1": 1, "vm-2": 1, "cluster-z": 1}))
	})

	t.Run("C11 TCP to UDP, and both on one port", func(t *testing.T) {
		onPort := func(ctx context.Context, port int32) (map[string]int, error) {
			api := e.perf()
			ls, err := api.ListListenersOnPort(ctx, lb.ID, port)
			if err != nil {
				return nil, err
			}
			out := map[string]int{}
			for _, l := range ls {
				ms, err := api.ListMembers(ctx, l.DefaultPoolID)
				if err != nil {
					return nil, err
				}
				out[l.Protocol] = len(ms)
			}
			return out, nil
		}
		want := func(port int32, w map[string]int) func(context.Context) error {
			return func(ctx context.Context) error {
				got, err := onPort(ctx, port)
				if err == nil && fmt.Sprint(got) != fmt.Sprint(w) {
					err = fmt.Errorf("listeners on %d (protocol: members) %v, want %v", port, got, w)
				}
				return err
			}
		}
		b.deployment(t, "c11", 1, http80)
		b.create(t, seedService(t, "s1-cluster-b-weight-20.yaml", "c11", lb.ID, func(s *corev1.Service) { s.Spec.Ports[0].Port = 3004 }))
		eventually(t, wait, "TCP 3004", want(3004, map[string]int{"TCP": 1}))
		b.update(t, "c11", func(s *corev1.Service) { s.Spec.Ports[0].Protocol = corev1.ProtocolUDP })
		eventually(t, wait, "UDP 3004 instead", want(3004, map[string]int{"UDP": 1}))
		b.update(t, "c11", func(s *corev1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "tcp", Port: 3004, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(80)})
			s.Spec.Ports[0].Name = "udp"
		})
		eventually(t, wait, "TCP and UDP on 3004", want(3004, map[string]int{"TCP": 1, "UDP": 1}))
		eventually(t, wait, "listener-port", func(ctx context.Context) error {
			if v := b.get(t, "c11").Annotations[model.AnnotationListenerPort]; v != "3004" {
				return fmt.Errorf("listener-port %q", v)
			}
			return nil
		})
	})

	t.Run("start refused with wrong ELB credentials", func(t *testing.T) {
		bad, err := elbclient.New(elbclient.Config{Endpoint: e.URL, ProjectID: project, AK: ak, SK: "not-the-secret", Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		_, err = reconciler.NewManager(context.Background(), reconciler.Options{
			RestConfig: a.c.RESTConfig(), ClusterID: "cluster-a", Deployer: deploy.New(bad, deploy.Options{}), CheckELB: bad.Check,
			PodNetwork: model.PodNetworkVPC, DefaultWeight: 100, MetricsBindAddress: "0", Registry: prometheus.NewRegistry(),
		})
		if err == nil || !strings.Contains(err.Error(), "HUAWEICLOUD_SDK_SK") {
			t.Errorf("want a start-up refusal naming the credentials, got %v", err)
		}
	})

	t.Run("leader election", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		c := e.client(t)
		mgr, err := reconciler.NewManager(ctx, reconciler.Options{
			RestConfig: a.c.RESTConfig(), ClusterID: "cluster-a", Deployer: deploy.New(c, deploy.Options{}), CheckELB: c.Check,
			PodNetwork: model.PodNetworkVPC, SubnetID: "subnet-a-pods", DefaultWeight: 100, MetricsBindAddress: "0",
			Registry: prometheus.NewRegistry(), LeaderElection: true, LeaderElectionID: "fleetlb-test-election",
		})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- mgr.Start(ctx) }()
		eventually(t, wait, "lease held", func(ctx context.Context) error {
			l, err := a.cs.CoordinationV1().Leases("kube-system").Get(ctx, "fleetlb-test-election", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
				return fmt.Errorf("lease has no holder")
			}
			return nil
		})
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager stopped with %v", err)
		}
	})

	t.Run("a node drained", func(t *testing.T) {
		ctx := context.Background()
		b.deployment(t, "drain", 2, corev1.ContainerPort{ContainerPort: 80, Protocol: corev1.ProtocolTCP})
		b.create(t, seedService(t, "s1-cluster-b-weight-20.yaml", "drain", lb.ID, func(s *corev1.Service) {
			s.Annotations[model.AnnotationWeight] = "40"
			s.Spec.Ports[0].Port = 3030
		}))
		var node string
		eventually(t, wait, "drain members", func(ctx context.Context) error {
			pods, err := b.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=drain"})
			if err != nil || len(pods.Items) != 2 || pods.Items[0].Spec.NodeName == "" {
				return fmt.Errorf("pods not placed yet (%v)", err)
			}
			node = pods.Items[0].Spec.NodeName
			_, ms, err := e.pool(ctx, lb.ID, 3030)
			if err != nil {
				return err
			}
			sum := 0
			for _, m := range ms {
				sum += m.Weight
			}
			if sum != 40 {
				return fmt.Errorf("pool %s", summary(ms))
			}
			return nil
		})
		var nodeIP string
		for _, n := range b.c.Nodes() {
			if n.Name == node {
				nodeIP = n.IP.String()
			}
		}
		// kubectl drain: cordon, then evict the node's pods; the ReplicaSet places them elsewhere.
		n, err := b.cs.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n.Spec.Unschedulable = true
		if _, err := b.cs.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if n, err := b.cs.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{}); err == nil {
				n.Spec.Unschedulable = false
				_, _ = b.cs.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
			}
		})
		if err := b.cs.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{},
			metav1.ListOptions{LabelSelector: "app=drain", FieldSelector: "spec.nodeName=" + node}); err != nil {
			t.Fatal(err)
		}
		eventually(t, wait, "members off the drained node", func(ctx context.Context) error {
			_, ms, err := e.pool(ctx, lb.ID, 3030)
			if err != nil {
				return err
			}
			if len(ms) != 1 || ms[0].Weight != 40 || ms[0].Address == nodeIP {
				return fmt.Errorf("pool %s (drained node %s)", summary(ms), nodeIP)
			}
			return nil
		})
	})

	t.Run("two controllers on one pool, 50 rounds", func(t *testing.T) {
		raceRounds(t, e, lb.ID, a, b)
	})

	t.Run("S2 multivpc IP-type members, refused without IP targets", func(t *testing.T) {
		a.deployment(t, "xvpc", 1, corev1.ContainerPort{ContainerPort: 80, Protocol: corev1.ProtocolTCP})
		b.deployment(t, "xvpc", 1, corev1.ContainerPort{ContainerPort: 80, Protocol: corev1.ProtocolTCP})
		port := func(s *corev1.Service) { s.Spec.Ports[0].Port = 7070 }
		a.create(t, seedService(t, "s2-cluster-a-multivpc-weight-80.yaml", "xvpc", lb.ID, port))
		b.create(t, seedService(t, "s2-cluster-b-multivpc-weight-20.yaml", "xvpc", lb.ID, port))
		eventually(t, wait, "S2 pool", func(ctx context.Context) error {
			ips := podIPs(t, a, "xvpc")
			if len(ips) != 1 {
				return fmt.Errorf("pods %v", ips)
			}
			_, ms, err := e.pool(ctx, lb.ID, 7070)
			if err != nil {
				return err
			}
			got := summary(ms)
			if !strings.Contains(got, "cluster-a "+ips[0]+":80 w=80 ip-type") || !strings.Contains(got, " w=20 ip-type") || len(ms) != 2 {
				return fmt.Errorf("pool of 7070:\n%s", got)
			}
			return nil
		})
		a.create(t, seedService(t, "s2-cluster-a-multivpc-weight-80.yaml", "xvpc-refused", noIP.ID, port))
		eventually(t, wait, "R11", wantCondition(a, "xvpc-refused", deploy.ReasonMultiVPCInvalid, "IP-type"))
	})

	t.Run("R7 member-only keeps the other cluster and VMs", func(t *testing.T) {
		if err := a.cs.CoreV1().Services(ns).Delete(context.Background(), "nginx", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, wait, "A's members gone", wantPool(e, lb.ID, 80, bMember))
		eventually(t, wait, "Service gone", func(ctx context.Context) error {
			_, err := a.cs.CoreV1().Services(ns).Get(ctx, "nginx", metav1.GetOptions{})
			if !apierrors.IsNotFound(err) {
				return fmt.Errorf("Service still there: %v", err)
			}
			return nil
		})
		if err := a.cs.CoreV1().Services(ns).Delete(context.Background(), "web", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, wait, "VMs stay", wantPool(e, lb.ID, 8080, lines("ecs-1 127.251.0.11:8080 w=10", "ecs-2 127.251.0.12:8080 w=10")))
	})

	t.Run("controller restart converges", func(t *testing.T) {
		b.stopController()
		b.scale(t, "nginx", 0)
		eventually(t, wait, "B scaled to 0", func(ctx context.Context) error {
			if ips := podIPs(t, b, "nginx"); len(ips) != 0 {
				return fmt.Errorf("pods %v", ips)
			}
			return nil
		})
		time.Sleep(2 * time.Second)
		if err := wantPool(e, lb.ID, 80, bMember)(context.Background()); err != nil {
			t.Fatalf("with B's controller stopped its member must stay: %v", err)
		}
		b.startController(t, e, model.PodNetworkOverlay, "subnet-b-nodes")
		eventually(t, wait, "B's member removed after restart", wantPool(e, lb.ID, 80, ""))
		b.scale(t, "nginx", 1)
		eventually(t, wait, "B's member back", func(ctx context.Context) error {
			_, ms, err := e.pool(ctx, lb.ID, 80)
			if err != nil {
				return err
			}
			if len(ms) != 1 || ms[0].Weight != 20 {
				return fmt.Errorf("pool %s", summary(ms))
			}
			return nil
		})
	})

	t.Run("R7 cascade removes the listener", func(t *testing.T) {
		b.update(t, "nginx", func(s *corev1.Service) { s.Annotations[model.AnnotationRecyclePolicy] = "cascade" })
		if err := b.cs.CoreV1().Services(ns).Delete(context.Background(), "nginx", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, wait, "listener 80 gone", func(ctx context.Context) error {
			l, _, err := e.pool(ctx, lb.ID, 80)
			if err != nil {
				return err
			}
			if l != nil {
				return fmt.Errorf("listener 80 still there")
			}
			return nil
		})
	})

	t.Run("runs with only the RBAC of config/rbac.yaml", func(t *testing.T) {
		a.stopController()
		cfg := a.c.RESTConfig()
		cfg.BearerToken = k8stest.InstallRBAC(t, a.c.RESTConfig(), "../../../config/rbac.yaml",
			authorizationv1.ResourceAttributes{Verb: "get", Resource: "namespaces", Name: "kube-system"},
			authorizationv1.ResourceAttributes{Verb: "list", Resource: "services"},
			authorizationv1.ResourceAttributes{Verb: "create", Group: "coordination.k8s.io", Resource: "leases", Namespace: "kube-system"},
			authorizationv1.ResourceAttributes{Verb: "get", Resource: "configmaps", Namespace: "kube-system", Name: reconciler.ClusterIDConfigMap})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		c := e.client(t)
		opts := reconciler.Options{
			RestConfig: cfg, Deployer: deploy.New(c, deploy.Options{}), CheckELB: c.Check, // default cluster ID: needs namespaces get
			PodNetwork: model.PodNetworkVPC, SubnetID: "subnet-a-pods", DefaultWeight: 100, MetricsBindAddress: "0",
			Registry: prometheus.NewRegistry(), LeaderElection: true, Resync: 2 * time.Second,
		}
		// C4: cluster A recorded "cluster-a"; the kube-system UID (no --cluster-id) disagrees.
		if _, err := reconciler.NewManager(ctx, opts); !errors.Is(err, reconciler.ErrClusterIDChanged) || !strings.Contains(err.Error(), "--adopt-cluster-id cluster-a") {
			t.Fatalf("start with another cluster ID: %v", err)
		}
		opts.ClusterID = "cluster-a"
		mgr, err := reconciler.NewManager(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- mgr.Start(ctx) }()
		a.deployment(t, "rbac", 1, http80)
		a.create(t, seedService(t, "s1-cluster-a-weight-80.yaml", "rbac", lb.ID, func(s *corev1.Service) { s.Spec.Ports[0].Port = 2020 }))
		eventually(t, wait, "bound by the restricted controller", func(ctx context.Context) error {
			if err := wantCondition(a, "rbac", reconciler.ReasonBound, "2020")(ctx); err != nil {
				return err
			}
			_, ms, err := e.pool(ctx, lb.ID, 2020)
			if err != nil || len(ms) != 1 || ms[0].Weight != 80 {
				return fmt.Errorf("pool of 2020: %s (%v)", summary(ms), err)
			}
			return wantEvent(a, "rbac", reconciler.ReasonApplied)(ctx)
		})
		if err := a.cs.CoreV1().Services(ns).Delete(context.Background(), "rbac", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, wait, "released by the restricted controller", func(ctx context.Context) error {
			if l, _, err := e.pool(ctx, lb.ID, 2020); err != nil || l != nil {
				return fmt.Errorf("listener 2020 still there (%v)", err)
			}
			return nil
		})
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager stopped with %v", err)
		}
	})

	t.Run("C4 adopt a new cluster ID: members renamed in place", func(t *testing.T) {
		named := func(ctx context.Context, clusterID string) (map[string]bool, error) {
			api := e.perf()
			ls, err := api.ListListeners(ctx, lb.ID)
			if err != nil {
				return nil, err
			}
			out := map[string]bool{}
			for _, l := range ls {
				if l.DefaultPoolID == "" {
					continue
				}
				ms, err := api.ListMembers(ctx, l.DefaultPoolID)
				if err != nil {
					return nil, err
				}
				for _, m := range ms {
					if clusterOf(m) == clusterID {
						out[m.ID] = true
					}
				}
			}
			return out, nil
		}
		b.stopController()
		old := b.id
		before, err := named(context.Background(), old)
		if err != nil || len(before) == 0 {
			t.Fatalf("cluster B's members: %v (%v)", before, err)
		}
		b.id, b.adopt = "cluster-b2", old
		// Two replicas start at once with the same flags: both resolve the cluster ID, and so both
		// rename, before leader election. That is harmless: a rename is by member ID to the one new
		// name (the second finds the members renamed, or renames them to the same name), and the
		// ConfigMap write re-reads on a create or update conflict. The standby's manager is not
		// started (it would wait for the lease); its start must not fail.
		standby := make(chan error, 1)
		go func() {
			c := e.client(t)
			_, err := reconciler.NewManager(context.Background(), reconciler.Options{
				RestConfig: b.c.RESTConfig(), ClusterID: b.id, AdoptClusterID: old, ClusterName: b.name + "-standby",
				Deployer: deploy.New(c, deploy.Options{Backoff: 50 * time.Millisecond, Subnets: c}), CheckELB: c.Check,
				PodNetwork: model.PodNetworkOverlay, SubnetID: "subnet-b-nodes", DefaultWeight: 100, Resync: 2 * time.Second,
				MetricsBindAddress: "0", Registry: prometheus.NewRegistry(), Logger: testLogger(b.name + "-standby"),
			})
			standby <- err
		}()
		b.startController(t, e, model.PodNetworkOverlay, "subnet-b-nodes")
		if err := <-standby; err != nil {
			t.Fatalf("a second replica adopting at the same time: %v", err)
		}
		eventually(t, wait, "members renamed in place", func(ctx context.Context) error {
			now, err := named(ctx, "cluster-b2")
			if err != nil {
				return err
			}
			left, _ := named(ctx, old)
			if fmt.Sprint(now) != fmt.Sprint(before) || len(left) != 0 {
				return fmt.Errorf("member IDs named cluster-b2 %v, want %v; still named %s: %v", now, before, old, left)
			}
			return nil
		})
		cm, err := b.cs.CoreV1().ConfigMaps("kube-system").Get(context.Background(), reconciler.ClusterIDConfigMap, metav1.GetOptions{})
		if err != nil || cm.Data[reconciler.ClusterIDKey] != "cluster-b2" {
			t.Fatalf("recorded cluster ID: %+v (%v)", cm, err)
		}
	})
}

// raceRounds scales a Service in each cluster at the same time, 50 times, on one hand-made
// listener that also holds two VMs. After every poll: no VM touched, no duplicate address:port;
// after every round: each cluster's members are exactly what its Pods call for.
func raceRounds(t *testing.T, e *elbdEnv, lbID string, a, b *kube) {
	e.handMade(t, lbID, "race", 6060,
		elbclient.MemberSpec{Name: "ecs-1", Address: "127.251.0.21", Port: 6060, Weight: 10, SubnetID: "subnet-vm"},
		elbclient.MemberSpec{Name: "ecs-2", Address: "127.251.0.22", Port: 6060, Weight: 10, SubnetID: "subnet-vm"})
	port := corev1.ContainerPort{ContainerPort: 6060, Protocol: corev1.ProtocolTCP}
	for _, k := range []*kube{a, b} {
		k.deployment(t, "race", 1, port)
		k.create(t, seedService(t, "s3-cluster-a-with-ecs-weight-80.yaml", "race", lbID, func(s *corev1.Service) {
			s.Annotations[model.AnnotationWeight] = "50"
			s.Spec.Ports[0].Port, s.Spec.Ports[0].TargetPort = 6060, intstr.FromInt32(6060)
		}))
	}
	nodeIPs := map[string]string{}
	for _, n := range b.c.Nodes() {
		nodeIPs[n.Name] = n.IP.String()
	}
	nodePort := b.get(t, "race").Spec.Ports[0].NodePort
	ceil := func(w, k, n int) int { return (w*k + n - 1) / n }

	// expected renders what the Pods of both clusters call for, or an error while Pods settle.
	expected := func(ctx context.Context, ra, rb int) (string, error) {
		want := []string{"ecs-1 127.251.0.21:6060 w=10", "ecs-2 127.251.0.22:6060 w=10"}
		ips := podIPs(t, a, "race")
		if len(ips) != ra {
			return "", fmt.Errorf("A has %d pods, want %d", len(ips), ra)
		}
		for _, ip := range ips {
			want = append(want, fmt.Sprintf("cluster-a %s:6060 w=%d", ip, ceil(50, 1, ra)))
		}
		pods, err := b.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=race"})
		if err != nil {
			return "", err
		}
		perNode := map[string]int{}
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil || p.Status.PodIP == "" {
				continue
			}
			perNode[p.Spec.NodeName]++
		}
		total := 0
		for _, k := range perNode {
			total += k
		}
		if total != rb {
			return "", fmt.Errorf("B has %d pods, want %d", total, rb)
		}
		for node, k := range perNode {
			want = append(want, fmt.Sprintf("%s %s:%d w=%d", b.id, nodeIPs[node], nodePort, ceil(50, k, rb)))
		}
		return lines(want...), nil
	}

	sizes := []int{1, 3, 2, 0, 2, 1, 3}
	for round := range 50 {
		ra, rb := sizes[round%len(sizes)], sizes[(round*3+1)%len(sizes)]
		a.scale(t, "race", int32(ra))
		b.scale(t, "race", int32(rb))
		eventually(t, 90*time.Second, fmt.Sprintf("round %d (A %d pods, B %d pods)", round, ra, rb), func(ctx context.Context) error {
			_, ms, err := e.pool(ctx, lbID, 6060)
			if err != nil {
				return err
			}
			seen := map[string]bool{}
			vms := 0
			for _, m := range ms {
				key := fmt.Sprintf("%s:%d", m.Address, m.Port)
				if seen[key] {
					t.Fatalf("round %d: duplicate member %s in %s", round, key, summary(ms))
				}
				seen[key] = true
				if strings.HasPrefix(m.Name, "ecs-") && m.Weight == 10 {
					vms++
				}
			}
			if vms != 2 {
				t.Fatalf("round %d: a VM member was changed or removed: %s", round, summary(ms))
			}
			want, err := expected(ctx, ra, rb)
			if err != nil {
				return err
			}
			if got := summary(ms); got != want {
				return fmt.Errorf("pool:\n%s\nwant:\n%s", got, want)
			}
			return nil
		})
	}
}
