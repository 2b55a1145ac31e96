package reconciler_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/elbclient/elbtest"
	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/common/ownership"
	"github.com/fleetlb/fleetlb/internal/controller/deploy"
	"github.com/fleetlb/fleetlb/internal/controller/model"
	"github.com/fleetlb/fleetlb/internal/controller/reconciler"
	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
	"github.com/fleetlb/fleetlb/internal/elbd/faults"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
	"github.com/fleetlb/fleetlb/internal/testbed/localk8s"
	"github.com/fleetlb/fleetlb/internal/testbed/localk8s/k8stest"
	"github.com/fleetlb/fleetlb/internal/testbed/poll"
)

// The set-up the tests with real clusters share: elbd's real API over HTTP, driven through the
// official SDK (elbtest), and per cluster a controller started in the test's process (kube).

const (
	project = "proj-1"
	ak, sk  = "AK-FLEETLB-TEST", "SK-fleetlb-test-secret"
)

// elbdConfig describes one VPC holding both clusters' node and pod ranges (whatever free ranges
// localk8s picked), the VIP subnet and a subnet for hand-made VM members.
func elbdConfig(a, b localk8s.Options) string {
	return elbdtest.Cloud([]string{ak, sk, project},
		[]string{"subnet-a-pods", a.PodCIDR, "subnet-a-nodes", a.NodeCIDR, "subnet-b-nodes", b.NodeCIDR, "subnet-b-pods", b.PodCIDR},
		"quotas:\n  members_per_pool: 10 # C2: the busiest pool of the other subtests holds fewer\n")
}

// elbdEnv is elbd's API over HTTP and the SDK client of the test's key.
type elbdEnv struct {
	*elbtest.Server
	sdk *elbclient.SDK
}

func startELBD(t *testing.T, cfgText string) *elbdEnv {
	t.Helper()
	return serveELBD(t, cfgText, elbtest.Options{})
}

// startFaultyELBD is startELBD with elbd's fault injector (internal/elbd/faults) between the
// clients and elbd (C5), and shared (v2) ELBs busy for 100 ms after each write, as with elbd's
// --provisioning-delay.
func startFaultyELBD(t *testing.T, cfgText string) (*elbdEnv, *faults.Injector) {
	t.Helper()
	f := &faults.Injector{}
	e := serveELBD(t, cfgText, elbtest.Options{ProvisioningDelay: 100 * time.Millisecond, Front: func(h http.Handler) http.Handler {
		f.Next = h
		return f
	}})
	return e, f
}

func serveELBD(t *testing.T, cfgText string, o elbtest.Options) *elbdEnv {
	t.Helper()
	e := &elbdEnv{Server: elbtest.Serve(t, cfgText, o)}
	e.sdk = e.client(t)
	return e
}

func (e *elbdEnv) client(t *testing.T) *elbclient.SDK {
	t.Helper()
	return e.Client(t, elbclient.Config{ProjectID: project, AK: ak, SK: sk, Timeout: 10 * time.Second, QPS: 1000, Burst: 1000})
}

// lb creates a dedicated ELB as an operator would (ELBs are never created by the controller, R10).
func (e *elbdEnv) lb(t *testing.T, name string, ipTargets bool) store.LoadBalancer {
	return e.lbOf(t, store.FamilyV3, name, ipTargets)
}

func (e *elbdEnv) lbOf(t *testing.T, family store.Family, name string, ipTargets bool) store.LoadBalancer {
	t.Helper()
	return e.LoadBalancer(t, family, project, store.LoadBalancer{Name: name, VIPSubnetID: "subnet-vip", IPTargetEnable: ipTargets})
}

// pool reads, through the SDK, the members of the pool behind listener port on lbID.
func (e *elbdEnv) pool(ctx context.Context, lbID string, port int32) (*elbclient.Listener, []elbclient.Member, error) {
	return e.poolOf(ctx, elbrules.ClassPerformance, lbID, port)
}

func (e *elbdEnv) poolOf(ctx context.Context, class elbrules.Class, lbID string, port int32) (*elbclient.Listener, []elbclient.Member, error) {
	a := e.sdk.API(class)
	ls, err := a.ListListeners(ctx, lbID)
	if err != nil {
		return nil, nil, err
	}
	for _, l := range ls {
		if l.Port != port {
			continue
		}
		if l.DefaultPoolID == "" {
			return &l, nil, nil
		}
		ms, err := a.ListMembers(ctx, l.DefaultPoolID)
		return &l, ms, err
	}
	return nil, nil, nil
}

// clusterOf is the cluster ID in member m's ownership mark, "" for a member without one (a VM).
func clusterOf(m elbclient.Member) string {
	ref, _, ok := ownership.ParseMemberName(m.Name)
	if !ok {
		return ""
	}
	return ref.ClusterID
}

// perf is the SDK's API of dedicated (performance) load balancers, with the test's key.
func (e *elbdEnv) perf() elbclient.API { return e.sdk.API(elbrules.ClassPerformance) }

// handMade makes what an operator makes by hand on lbID: TCP listener name on port and its pool,
// also named name, holding vms. It returns the pool's ID.
func (e *elbdEnv) handMade(t *testing.T, lbID, name string, port int32, vms ...elbclient.MemberSpec) string {
	t.Helper()
	_, poolID := elbtest.HandMade(t, e.perf(), elbclient.ListenerSpec{LoadBalancerID: lbID, Name: name, Protocol: "TCP", Port: port}, name, vms...)
	return poolID
}

// summary renders members as "owner address:port w=N", sorted; owner is the cluster ID or the name.
func summary(ms []elbclient.Member) string {
	var out []string
	for _, m := range ms {
		owner := m.Name
		if c := clusterOf(m); c != "" {
			owner = c
		}
		sub := ""
		if m.SubnetID == "" {
			sub = " ip-type"
		}
		out = append(out, fmt.Sprintf("%s %s:%d w=%d%s", owner, m.Address, m.Port, m.Weight, sub))
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// testLogger discards the controllers' logs, unless FLEETLB_TEST_LOGS=1 sends them to stderr.
func testLogger(cluster string) logr.Logger {
	var w io.Writer = io.Discard
	if os.Getenv("FLEETLB_TEST_LOGS") == "1" {
		w = os.Stderr
	}
	return logr.FromSlogHandler(slog.NewTextHandler(w, nil)).WithValues("testCluster", cluster)
}

// startPair starts two real clusters, nameA and nameB with nodes simulated nodes each, and elbd
// with config's configuration for them; each cluster's kube has the ID cluster-<name>.
func startPair(t *testing.T, nameA, nameB string, nodes int, config func(a, b localk8s.Options) string) (e *elbdEnv, a, b *kube) {
	t.Helper()
	cs := k8stest.StartMany(t, localk8s.Options{Name: nameA, Nodes: nodes}, localk8s.Options{Name: nameB, Nodes: nodes})
	e = startELBD(t, config(cs[0].Options(), cs[1].Options()))
	k := func(c *localk8s.Cluster) *kube {
		return &kube{name: c.Name, c: c, cs: c.Client(), id: "cluster-" + c.Name, top: t}
	}
	return e, k(cs[0]), k(cs[1])
}

type kube struct {
	name string
	c    *localk8s.Cluster
	cs   kubernetes.Interface
	id   string
	// adopt is the cluster ID recorded before, renamed to id at the next start (C4).
	adopt string
	stop  context.CancelFunc
	done  chan struct{}
	top   *testing.T // the whole test: controllers outlive the subtest that (re)starts them
}

func (k *kube) startController(t *testing.T, e *elbdEnv, net model.PodNetwork, subnet string) {
	t.Helper()
	k.startWith(t, e, func(o *reconciler.Options) { o.PodNetwork, o.SubnetID = net, subnet })
}

// startWith runs a controller for k with the test defaults changed by edit (nil: as they are).
func (k *kube) startWith(t *testing.T, e *elbdEnv, edit func(*reconciler.Options)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := e.client(t)
	o := reconciler.Options{
		RestConfig: k.c.RESTConfig(), ClusterID: k.id, AdoptClusterID: k.adopt, ClusterName: k.name,
		Deployer: deploy.New(c, deploy.Options{Backoff: 50 * time.Millisecond, Subnets: c}), CheckELB: c.Check,
		PodNetwork: model.PodNetworkOverlay, SubnetID: "subnet-nodes", DefaultWeight: 100, Resync: 2 * time.Second,
		MetricsBindAddress: "0", Registry: prometheus.NewRegistry(),
		Logger: testLogger(k.name),
	}
	if edit != nil {
		edit(&o)
	}
	mgr, err := reconciler.NewManager(ctx, o)
	if err != nil {
		cancel()
		t.Fatalf("controller of cluster %s: %v", k.name, err)
	}
	k.stop, k.done = cancel, make(chan struct{})
	go func() {
		defer close(k.done)
		if err := mgr.Start(ctx); err != nil {
			t.Errorf("controller of cluster %s stopped: %v", k.name, err)
		}
	}()
	k.top.Cleanup(k.stopController)
}

func (k *kube) stopController() {
	if k.stop != nil {
		k.stop()
		<-k.done
		k.stop = nil
	}
}

const ns = "default"

func (k *kube) deployment(t *testing.T, name string, replicas int32, ports ...corev1.ContainerPort) {
	t.Helper()
	d := localk8s.Deployment(name, "nginx", replicas, ports...)
	if _, err := k.cs.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (k *kube) scale(t *testing.T, name string, replicas int32) {
	t.Helper()
	for range 10 {
		s, err := k.cs.AppsV1().Deployments(ns).GetScale(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s.Spec.Replicas = replicas
		_, err = k.cs.AppsV1().Deployments(ns).UpdateScale(context.Background(), name, s, metav1.UpdateOptions{})
		if err == nil {
			return
		}
		if !apierrors.IsConflict(err) {
			t.Fatal(err)
		}
	}
	t.Fatalf("scaling %s kept conflicting", name)
}

// seedService is one of the source document's manifests (its copy in internal/testbed/playground/seed)
// with the real ELB ID, a name and its app selector.
func seedService(t *testing.T, file, name, elbID string, edit func(*corev1.Service)) *corev1.Service {
	t.Helper()
	raw, err := os.ReadFile("../../testbed/playground/seed/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var svc corev1.Service
	if err := yaml.Unmarshal(raw, &svc); err != nil {
		t.Fatal(err)
	}
	svc.Name, svc.Namespace = name, ns
	svc.Spec.Selector = map[string]string{"app": name}
	svc.Annotations[model.AnnotationELBID] = elbID
	if edit != nil {
		edit(&svc)
	}
	return &svc
}

func (k *kube) create(t *testing.T, svc *corev1.Service) {
	t.Helper()
	if _, err := k.cs.CoreV1().Services(ns).Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (k *kube) update(t *testing.T, name string, edit func(*corev1.Service)) {
	t.Helper()
	for range 10 {
		s, err := k.cs.CoreV1().Services(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		edit(s)
		_, err = k.cs.CoreV1().Services(ns).Update(context.Background(), s, metav1.UpdateOptions{})
		if err == nil {
			return
		}
		if !apierrors.IsConflict(err) {
			t.Fatal(err)
		}
	}
	t.Fatalf("update of Service %s kept conflicting", name)
}

func (k *kube) get(t *testing.T, name string) *corev1.Service {
	t.Helper()
	s, err := k.cs.CoreV1().Services(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// eventually is the tests' one wait (poll.Within): check until it returns nil, or fail after limit.
func eventually(t *testing.T, limit time.Duration, what string, check func(ctx context.Context) error) {
	t.Helper()
	poll.Within(t, limit, what, check)
}

func wantPool(e *elbdEnv, lbID string, port int32, want string) func(context.Context) error {
	return func(ctx context.Context) error {
		_, ms, err := e.pool(ctx, lbID, port)
		if err != nil {
			return err
		}
		if got := summary(ms); got != want {
			return fmt.Errorf("pool of port %d:\n%s\nwant:\n%s", port, got, want)
		}
		return nil
	}
}

func wantCondition(k *kube, name, reason string, words ...string) func(context.Context) error {
	return func(ctx context.Context) error {
		s, err := k.cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		c := meta.FindStatusCondition(s.Status.Conditions, reconciler.ConditionBound)
		if c == nil || c.Reason != reason {
			return fmt.Errorf("condition %+v, want reason %s", c, reason)
		}
		for _, w := range words {
			if !strings.Contains(c.Message, w) {
				return fmt.Errorf("condition message %q lacks %q", c.Message, w)
			}
		}
		return nil
	}
}

func wantEvent(k *kube, name, reason string, words ...string) func(context.Context) error {
	return func(ctx context.Context) error {
		evs, err := k.cs.EventsV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		var seen []string
		for _, ev := range evs.Items {
			if ev.Regarding.Name != name {
				continue
			}
			seen = append(seen, ev.Reason)
			if ev.Reason != reason {
				continue
			}
			ok := true
			for _, w := range words {
				ok = ok && strings.Contains(ev.Note, w)
			}
			if ok {
				return nil
			}
		}
		return fmt.Errorf("no %s Event on %s mentioning %q (events: %v)", reason, name, words, seen)
	}
}

func podIPs(t *testing.T, k *kube, app string) []string {
	t.Helper()
	pods, err := k.cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		t.Fatal(err)
	}
	var ips []string
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && p.Status.PodIP != "" {
			ips = append(ips, p.Status.PodIP)
		}
	}
	sort.Strings(ips)
	return ips
}

func lines(ls ...string) string {
	sort.Strings(ls)
	return strings.Join(ls, "\n")
}

func ptrTo[T any](v T) *T { return &v }
