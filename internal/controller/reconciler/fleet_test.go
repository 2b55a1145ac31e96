package reconciler_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/fleetops"
	"github.com/fleetlb/fleetlb/internal/controller/model"
	"github.com/fleetlb/fleetlb/internal/controller/reconciler"
)

// T12–T15 with two real clusters and elbd over HTTP: the records in the listener's tags, the
// fleet view on each Service with its Warning, a stale owner reclaimed by --reclaim-stale-after
// (the VM kept), and two live installs with one cluster ID stopping.
func TestRealClustersFleet(t *testing.T) {
	e, a, b := startPair(t, "a", "b", 2, elbdConfig)
	lb := e.lb(t, "shared", true)
	regA := prometheus.NewRegistry()
	fleet := func(net model.PodNetwork, subnet string, reg *prometheus.Registry, reclaim time.Duration) func(*reconciler.Options) {
		return func(o *reconciler.Options) {
			o.PodNetwork, o.SubnetID = net, subnet
			o.ELB = e.client(t)
			o.FleetHeartbeat, o.FleetStaleAfter, o.ReclaimStaleAfter = 500*time.Millisecond, 3*time.Second, reclaim
			o.Registry = reg
		}
	}
	a.startWith(t, e, fleet(model.PodNetworkVPC, "subnet-a-pods", regA, 0))
	b.startWith(t, e, fleet(model.PodNetworkVPC, "subnet-b-pods", prometheus.NewRegistry(), 0))
	http80 := corev1.ContainerPort{Name: "http", ContainerPort: 80, Protocol: corev1.ProtocolTCP}
	const wait = 90 * time.Second

	// 10:10 asked; A's 7 Pods weigh ceil(10/7) = 2 each: 14:10, 58.3% : 41.7%.
	a.deployment(t, "web", 7, http80)
	b.deployment(t, "web", 1, http80)
	weight10 := func(s *corev1.Service) { s.Annotations[model.AnnotationWeight] = "10" }
	a.create(t, seedService(t, "s1-cluster-a-weight-80.yaml", "web", lb.ID, weight10))
	b.create(t, seedService(t, "s1-cluster-b-weight-20.yaml", "web", lb.ID, weight10))
	var poolID string
	eventually(t, wait, "both clusters' members", func(ctx context.Context) error {
		l, ms, err := e.pool(ctx, lb.ID, 80)
		if err != nil || l == nil {
			return fmt.Errorf("no listener yet (%v)", err)
		}
		if len(ms) != 8 {
			return fmt.Errorf("members: %s", summary(ms))
		}
		poolID = l.DefaultPoolID
		return nil
	})
	// A VM added by hand, at weight 0: never anyone's to remove.
	if _, err := e.perf().AddMembers(context.Background(), poolID, []elbclient.MemberSpec{{Name: "vm-1", Address: "127.251.0.5", Port: 80, Weight: 0}}); err != nil {
		t.Fatal(err)
	}

	t.Run("T10 records in the listener's tags", func(t *testing.T) {
		eventually(t, wait, "two records", func(ctx context.Context) error {
			ls, err := fleetops.Read(ctx, e.sdk, lb.ID, 80)
			if err != nil || len(ls) != 1 {
				return fmt.Errorf("read: %v %v", ls, err)
			}
			ra, rb := ls[0].Records["cluster-a"], ls[0].Records["cluster-b"]
			if ra.Weight != 10 || rb.Weight != 10 || ra.InstallID == "" || ra.InstallID == rb.InstallID || time.Since(ra.Heartbeat) > time.Minute {
				return fmt.Errorf("records %+v", ls[0].Records)
			}
			return nil
		})
		cm, err := a.cs.CoreV1().ConfigMaps("kube-system").Get(context.Background(), reconciler.ClusterIDConfigMap, metav1.GetOptions{})
		if err != nil || len(cm.Data[reconciler.InstallIDKeyFor("")]) != 16 {
			t.Errorf("install ID not recorded: %v %v", cm.Data, err)
		}
	})

	t.Run("T12 the fleet view and its Warning", func(t *testing.T) {
		for _, k := range []*kube{a, b} {
			eventually(t, wait, "the view on "+k.name, func(ctx context.Context) error {
				v := k.get(t, "web").Annotations[model.AnnotationFleetView]
				for _, want := range []string{"TCP/80: ", "cluster-a: requested 10 (50.0%), effective 14 (58.3%), 7 members", "cluster-b: requested 10 (50.0%), effective 10 (41.7%), 1 members", "manual: requested 0 by hand"} {
					if !strings.Contains(v, want) {
						return fmt.Errorf("view %q lacks %q", v, want)
					}
				}
				return nil
			})
		}
		eventually(t, wait, "A's Warning", wantEvent(a, "web", reconciler.ReasonFleetShareOff,
			"asked for 50.0%", "give 58.3%", "cluster cluster-a (requested 10, effective 14 over 7 members): 1, 2, 5 or 10 ready replicas give exactly 10"))
	})

	t.Run("T13/T14 a stale owner, reclaimed with --reclaim-stale-after", func(t *testing.T) {
		b.stopController()
		eventually(t, wait, "B stale in A's view", func(ctx context.Context) error {
			if v := a.get(t, "web").Annotations[model.AnnotationFleetView]; !strings.Contains(v, "cluster-b: requested 10 (50.0%), effective 10 (41.7%), 1 members, STALE since") {
				return fmt.Errorf("view %q", v)
			}
			return nil
		})
		a.stopController()
		a.startWith(t, e, fleet(model.PodNetworkVPC, "subnet-a-pods", prometheus.NewRegistry(), 4*time.Second))
		eventually(t, wait, "B's members reclaimed", func(ctx context.Context) error {
			_, ms, err := e.pool(ctx, lb.ID, 80)
			if err != nil {
				return err
			}
			s := summary(ms)
			if strings.Contains(s, "cluster-b") || !strings.Contains(s, "vm-1 127.251.0.5:80 w=0") || strings.Count(s, "cluster-a") != 7 {
				return fmt.Errorf("pool: %s", s)
			}
			return nil
		})
		eventually(t, wait, "the reclaim's Event", wantEvent(a, "web", reconciler.ReasonStaleOwnerReclaim, "cluster cluster-b", "1 members and its record removed"))
		ls, err := fleetops.Read(context.Background(), e.sdk, lb.ID, 80)
		if err != nil || len(ls) != 1 || len(ls[0].Records) != 1 {
			t.Errorf("records after the reclaim: %+v %v", ls, err)
		}
	})

	t.Run("T15 two live installs with one cluster ID stop", func(t *testing.T) {
		a.stopController()
		a.startWith(t, e, fleet(model.PodNetworkVPC, "subnet-a-pods", regA, 0))
		// Cluster B is given A's cluster ID (its own record gone, as in a cluster rebuilt from
		// A's manifests): a new install of cluster-a.
		if err := b.cs.CoreV1().ConfigMaps("kube-system").Delete(context.Background(), reconciler.ClusterIDConfigMap, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		b.id = "cluster-a"
		b.startWith(t, e, fleet(model.PodNetworkVPC, "subnet-b-pods", prometheus.NewRegistry(), 0))
		before := e.writesOfMembers(t, poolID)
		for _, k := range []*kube{a, b} {
			eventually(t, wait, "the collision on "+k.name, wantCondition(k, "web", reconciler.ReasonClusterIDCollision, "another live install", lb.ID, "--adopt-cluster-id cluster-a"))
			eventually(t, wait, "its Warning on "+k.name, wantEvent(k, "web", reconciler.ReasonClusterIDCollision, "cluster's ID \"cluster-a\""))
		}
		g, err := regA.Gather()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, mf := range g {
			if mf.GetName() == "fleetlb_fleet_cluster_id_collision" && len(mf.Metric) == 1 && mf.Metric[0].GetGauge().GetValue() == 1 {
				found = true
			}
		}
		if !found {
			t.Error("fleetlb_fleet_cluster_id_collision{elb} is not 1 on A")
		}
		// Nothing removed or added: A's 7 members and the VM, as before.
		if after := e.writesOfMembers(t, poolID); after != before {
			t.Errorf("the pool changed during the collision: %s → %s", before, after)
		}
		// B leaves: A resumes once B's heartbeat is older than the TTL.
		b.stopController()
		eventually(t, wait, "A bound again", wantCondition(a, "web", reconciler.ReasonBound))
	})

	t.Run("T15 a copy of a cluster, same install ID, is found too", func(t *testing.T) {
		// B restored from A's etcd backup: A's cluster ID and install ID in B's ConfigMap.
		cmA, err := a.cs.CoreV1().ConfigMaps("kube-system").Get(context.Background(), reconciler.ClusterIDConfigMap, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cmB, err := b.cs.CoreV1().ConfigMaps("kube-system").Get(context.Background(), reconciler.ClusterIDConfigMap, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cmB.Data = cmA.Data
		if _, err := b.cs.CoreV1().ConfigMaps("kube-system").Update(context.Background(), cmB, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		b.startWith(t, e, fleet(model.PodNetworkVPC, "subnet-b-pods", prometheus.NewRegistry(), 0))
		for _, k := range []*kube{a, b} {
			eventually(t, wait, "the copy found on "+k.name, wantCondition(k, "web", reconciler.ReasonClusterIDCollision, "another controller writes this cluster's record", "etcd backup"))
		}
		b.stopController()
		eventually(t, wait, "A bound again", wantCondition(a, "web", reconciler.ReasonBound))
	})
}

// writesOfMembers is the pool's members as a summary, to compare before and after.
func (e *elbdEnv) writesOfMembers(t *testing.T, poolID string) string {
	t.Helper()
	ms, err := e.perf().ListMembers(context.Background(), poolID)
	if err != nil {
		t.Fatal(err)
	}
	return summary(ms)
}
