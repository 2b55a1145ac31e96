package reconciler_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/controller/model"
	"github.com/fleetlb/fleetlb/internal/controller/reconciler"
	"github.com/fleetlb/fleetlb/internal/testbed/localk8s"
)

// F9 (docs/requirements.md): the fleetlb-controller program is killed with SIGKILL in the middle
// of reconciling many Services whose listeners and pools it shares with VMs added by hand and
// with another cluster; the cluster changes while it is down; a new process (cold: empty caches)
// converges, and no foreign member is ever touched.

const (
	crashServices   = 20 // selector-less Services of the crashing cluster, ports 8001.., besides "web" on 80
	crashAddrs      = 12 // endpoint addresses of each
	crashReady      = 10 // of them ready at first
	crashScaledTo   = 4  // ready endpoints of a Service scaled down while the controller is down
	crashGate       = 8  // member batch-adds let through to elbd before the gate holds the rest
	crashWorkers    = 4  // the program's default --concurrency: Services reconciled at once
	crashWeight     = 60 // W of the crashing cluster's Services (pass-through: ceil(W/n) a member)
	otherWeight     = 40 // W of the other cluster's, 2 ready endpoints each: 20 a member
	crashTargetPort = 8080
)

// crashConfig is elbdConfig (crash as cluster A, other as B) without its quota of members per
// pool: a pool here holds a VM, the other cluster's members and up to crashAddrs of the crashing one.
func crashConfig(crash, other localk8s.Options) string {
	cfg, _, _ := strings.Cut(elbdConfig(crash, other), "quotas:")
	return cfg
}

// crashGateway stands between the first controller process and elbd. It lets the first
// crashGate member batch-adds through and holds every later one, read whole but not yet at elbd,
// until release: the held writes then reach elbd after the process is dead, as writes in flight
// at a crash can (applied, nobody to hear the reply).
type crashGateway struct {
	elbd     http.Handler
	admitted atomic.Int64 // batch-adds arrived
	answered atomic.Int64 // batch-adds let through and answered by elbd
	landed   atomic.Int64 // held batch-adds elbd accepted after the release
	mu       sync.Mutex
	held     []string // pool IDs of the held batch-adds
	open     chan struct{}
	inFlight sync.WaitGroup
}

func (g *crashGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/members/batch-add") {
		g.elbd.ServeHTTP(w, r)
		return
	}
	if g.admitted.Add(1) <= crashGate {
		g.elbd.ServeHTTP(w, r)
		g.answered.Add(1)
		return
	}
	g.inFlight.Add(1)
	defer g.inFlight.Done()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	parts := strings.Split(r.URL.Path, "/") // /v3/{project}/elb/pools/{pool_id}/members/batch-add
	g.mu.Lock()
	g.held = append(g.held, parts[len(parts)-3])
	g.mu.Unlock()
	<-g.open
	late := r.Clone(context.Background()) // the client is gone; its write still reaches elbd
	late.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	g.elbd.ServeHTTP(rec, late)
	if rec.Code < 300 {
		g.landed.Add(1)
	}
}

func (g *crashGateway) heldPools() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.held...)
}

// release lets the held writes reach elbd and waits until elbd answered them.
func (g *crashGateway) release() {
	close(g.open)
	g.inFlight.Wait()
}

// writeSlice writes Service svc's one EndpointSlice: addrs on crashTargetPort, the first ready of
// them ready.
func writeSlice(ctx context.Context, cs kubernetes.Interface, svc string, addrs []string, ready int) error {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: svc + "-manual", Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: svc, discoveryv1.LabelManagedBy: "fleetlb-crash-test"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptrTo("service0"), Port: ptrTo(int32(crashTargetPort)), Protocol: ptrTo(corev1.ProtocolTCP)}},
	}
	for i, a := range addrs {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{a}, Conditions: discoveryv1.EndpointConditions{Ready: ptrTo(i < ready)}})
	}
	old, err := cs.DiscoveryV1().EndpointSlices(ns).Get(ctx, s.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = cs.DiscoveryV1().EndpointSlices(ns).Create(ctx, s, metav1.CreateOptions{})
	case err == nil:
		s.ResourceVersion = old.ResourceVersion
		_, err = cs.DiscoveryV1().EndpointSlices(ns).Update(ctx, s, metav1.UpdateOptions{})
	}
	return err
}

// readyAddrs are the ready addresses of Service svc's EndpointSlices, sorted.
func readyAddrs(ctx context.Context, cs kubernetes.Interface, svc string) ([]string, error) {
	sl, err := cs.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range sl.Items {
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
				out = append(out, ep.Addresses...)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// crashService is a Service of the test on port with weight W, its endpoints given by the test
// (selector nil) or by a Deployment named as it.
func crashService(t *testing.T, name, lbID string, port int32, weight int, selector bool) *corev1.Service {
	return seedService(t, "s1-cluster-a-weight-80.yaml", name, lbID, func(s *corev1.Service) {
		if !selector {
			s.Spec.Selector = nil
		}
		s.Spec.Ports[0].Port = port
		s.Spec.Ports[0].TargetPort.IntVal = crashTargetPort
		s.Annotations[model.AnnotationWeight] = fmt.Sprint(weight)
	})
}

// memberLines renders cluster id's wanted members at address:crashTargetPort as summary does.
func memberLines(id string, weight int, addrs []string) []string {
	var out []string
	for _, a := range addrs {
		out = append(out, fmt.Sprintf("%s %s:%d w=%d", id, a, crashTargetPort, (weight+len(addrs)-1)/len(addrs)))
	}
	return out
}

func TestF9ControllerKilledMidReconcile(t *testing.T) {
	start := time.Now()
	bin := buildController(t)
	e, crash, other := startPair(t, "crash", "other", 1, crashConfig)
	api := e.perf()
	lb := e.lb(t, "crash", true)
	ctx := context.Background()
	const wait = 60 * time.Second

	// Every port's listener and pool was made by hand with a VM in it; the other cluster's
	// controller joins each with 2 members.
	names := []string{"web"}
	ports := map[string]int32{"web": 80}
	for i := range crashServices {
		n := fmt.Sprintf("svc-%02d", i+1)
		names = append(names, n)
		ports[n] = int32(8000 + i + 1)
	}
	poolOf := map[string]string{} // pool ID -> Service name
	for i, n := range names {
		poolID := e.handMade(t, lb.ID, "vm-"+n, ports[n],
			elbclient.MemberSpec{Name: "vm-" + n, Address: fmt.Sprintf("127.251.0.%d", 10+i), Port: 8080, Weight: 5 + i%7, SubnetID: "subnet-vm"})
		poolOf[poolID] = n
	}
	otherAddrs := hostAddrs(t, other.c.Options().PodCIDR, 2)
	for _, n := range names {
		other.create(t, crashService(t, n, lb.ID, ports[n], otherWeight, false))
		if err := writeSlice(ctx, other.cs, n, otherAddrs, 2); err != nil {
			t.Fatal(err)
		}
	}
	other.startWith(t, e, func(o *reconciler.Options) { o.PodNetwork, o.SubnetID = model.PodNetworkVPC, "subnet-b-pods" })

	// readPools reads every pool of the test (the "added" Service's once it exists) by port.
	readPools := func(ctx context.Context) (map[int32][]elbclient.Member, error) {
		ls, err := api.ListListeners(ctx, lb.ID)
		if err != nil {
			return nil, err
		}
		out := map[int32][]elbclient.Member{}
		for _, l := range ls {
			if l.DefaultPoolID == "" {
				continue
			}
			if out[l.Port], err = api.ListMembers(ctx, l.DefaultPoolID); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	isCrash := func(m elbclient.Member) bool {
		return clusterOf(m) == crash.id
	}
	render := func(m elbclient.Member) string {
		return fmt.Sprintf("%s %s %s:%d w=%d", m.ID, m.Name, m.Address, m.Port, m.Weight)
	}
	foreign := map[string]string{}       // member ID -> render: the VMs and the other cluster's members
	foreignLines := map[int32][]string{} // port -> its foreign members as summary renders them
	eventually(t, wait, "the other cluster's members", func(ctx context.Context) error {
		pools, err := readPools(ctx)
		if err != nil {
			return err
		}
		clear(foreign)
		for _, n := range names {
			ms := pools[ports[n]]
			if len(ms) != 3 {
				return fmt.Errorf("pool of %s (port %d): %s; want its VM and 2 members of %s", n, ports[n], summary(ms), other.id)
			}
			for _, m := range ms {
				foreign[m.ID] = render(m)
			}
			foreignLines[ports[n]] = strings.Split(summary(ms), "\n")
		}
		return nil
	})

	// The watcher reads every pool until the end: a foreign member missing or changed, or an
	// address:port twice in a pool, is a violation.
	var (
		reads, violated int
		violations      []string            // the first read of each violation
		noted           = map[string]bool{} // what is already in violations
		stop            = make(chan struct{})
		watched         = make(chan struct{})
	)
	note := func(what, format string, a ...any) {
		violated++
		if !noted[what] {
			noted[what] = true
			violations = append(violations, fmt.Sprintf("read %d: ", reads)+fmt.Sprintf(format, a...))
		}
	}
	go func() {
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			pools, err := readPools(ctx)
			if err != nil {
				note("read failed", "the watcher's read failed: %v", err)
				continue
			}
			reads++
			seen := map[string]string{}
			for port, ms := range pools {
				at := map[string]bool{}
				for _, m := range ms {
					if k := fmt.Sprintf("%s:%d", m.Address, m.Port); at[k] {
						note("twice "+k, "%s twice in the pool of port %d", k, port)
					} else {
						at[k] = true
					}
					seen[m.ID] = render(m)
				}
			}
			for id, want := range foreign {
				if got := seen[id]; got != want {
					note(id, "foreign member %q is now %q", want, got)
				}
			}
		}
	}()
	finishWatch := func() {
		if stop != nil {
			close(stop)
			<-watched
			stop = nil
		}
	}
	t.Cleanup(finishWatch)

	// The crashing cluster: "web" (a Deployment of 2 Pods) and crashServices Services of
	// crashReady ready endpoints each, all there before its controller starts.
	crashAddrsOf := hostAddrs(t, crash.c.Options().PodCIDR, crashAddrs)
	crash.deployment(t, "web", 2, corev1.ContainerPort{Name: "http", ContainerPort: crashTargetPort, Protocol: corev1.ProtocolTCP})
	crash.create(t, crashService(t, "web", lb.ID, 80, crashWeight, true))
	for _, n := range names[1:] {
		crash.create(t, crashService(t, n, lb.ID, ports[n], crashWeight, false))
		if err := writeSlice(ctx, crash.cs, n, crashAddrsOf, crashReady); err != nil {
			t.Fatal(err)
		}
	}
	webReady := func(n int) func(context.Context) error {
		return func(ctx context.Context) error {
			a, err := readyAddrs(ctx, crash.cs, "web")
			if err != nil || len(a) != n {
				return fmt.Errorf("ready endpoints of web: %v (%v), want %d", a, err, n)
			}
			return nil
		}
	}
	eventually(t, wait, "web's Pods ready", webReady(2))

	logDir := t.TempDir()
	args := func(endpoint string) []string {
		return []string{"--kubeconfig", crash.c.Kubeconfig, "--cluster-id", crash.id, "--cluster-name", crash.name,
			"--elb-endpoint", endpoint, "--project-id", project, "--pod-network", "vpc", "--subnet-id", "subnet-a-pods",
			"--deregistration-delay", "0", "--resync-period", "2s", "--concurrency", fmt.Sprint(crashWorkers),
			"--metrics-bind-address", "0", "--health-probe-bind-address", "0", "--elb-qps", "1000", "--elb-burst", "1000"}
	}

	// 1. The first process: crashGate batch-adds reach elbd, then every worker's next one is held
	// at the gate; the process is killed with all of them in flight.
	gate := &crashGateway{elbd: e.Handler(), open: make(chan struct{})}
	front := httptest.NewServer(gate)
	t.Cleanup(front.Close)
	t.Cleanup(func() {
		select {
		case <-gate.open:
		default:
			gate.release() // a failure before the kill: free the held handlers
		}
	})
	first := runController(t, bin, logDir, "first", args(front.URL)...)
	eventually(t, wait, "every worker of the first process held mid-reconcile", func(ctx context.Context) error {
		if a, h := gate.answered.Load(), len(gate.heldPools()); a != crashGate || h != crashWorkers {
			return fmt.Errorf("%d batch-adds answered, %d held; want %d and %d", a, h, crashGate, crashWorkers)
		}
		return nil
	})
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	killedAt := time.Now()
	held := gate.heldPools()

	// What elbd holds at the kill: the answered batch-adds' members, in crashGate pools of the
	// crashing cluster's 21; then the held writes land.
	countCrash := func() (members, pools int) {
		ps, err := readPools(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, ms := range ps {
			n := 0
			for _, m := range ms {
				if isCrash(m) {
					n++
				}
			}
			members += n
			if n > 0 {
				pools++
			}
		}
		return members, pools
	}
	atKill, poolsAtKill := countCrash()
	if poolsAtKill != crashGate || atKill == 0 {
		t.Fatalf("at the kill elbd holds %d members of %s in %d pools; want the %d answered batch-adds' pools (partly done)", atKill, crash.id, poolsAtKill, crashGate)
	}
	gate.release()
	afterLate, poolsAfterLate := countCrash()
	if gate.landed.Load() != crashWorkers || poolsAfterLate != crashGate+crashWorkers {
		t.Fatalf("of the %d held batch-adds %d landed after the kill; %s in %d pools", crashWorkers, gate.landed.Load(), crash.id, poolsAfterLate)
	}
	front.Close()

	// 2. While it is down: the Service of a held write (its members landed after the kill) is
	// deleted, a Service done before the kill is scaled down, web's Deployment is scaled up, and
	// a new Service is added on a port no one has a listener on.
	var victim, shrunk string
	for _, p := range held {
		if n := poolOf[p]; n != "web" && victim == "" {
			victim = n
		}
	}
	ps, err := readPools(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names[1:] {
		heldHere := false
		for _, p := range held {
			heldHere = heldHere || poolOf[p] == n
		}
		for _, m := range ps[ports[n]] {
			if isCrash(m) && !heldHere && shrunk == "" {
				shrunk = n
			}
		}
	}
	if victim == "" || shrunk == "" {
		t.Fatalf("held writes of %v, crash members in %d pools: no Service to delete (%q) or to scale down (%q)", held, poolsAfterLate, victim, shrunk)
	}
	if s := crash.get(t, victim); !slices.Contains(s.Finalizers, reconciler.Finalizer) {
		t.Fatalf("Service %s, whose members were being written, lacks the finalizer: %v", victim, s.Finalizers)
	}
	if err := crash.cs.CoreV1().Services(ns).Delete(ctx, victim, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := writeSlice(ctx, crash.cs, shrunk, crashAddrsOf, crashScaledTo); err != nil {
		t.Fatal(err)
	}
	crash.scale(t, "web", 4)
	const addedPort = 8100
	crash.create(t, crashService(t, "added", lb.ID, addedPort, crashWeight, false))
	if err := writeSlice(ctx, crash.cs, "added", crashAddrsOf, 5); err != nil {
		t.Fatal(err)
	}
	eventually(t, wait, "web scaled to 4 ready Pods", webReady(4))

	// 3. A new process, cold, converges to exactly the wanted members.
	restarted := time.Now()
	runController(t, bin, logDir, "second", args(e.URL)...)
	web, err := readyAddrs(ctx, crash.cs, "web")
	if err != nil {
		t.Fatal(err)
	}
	want := map[int32][]string{}
	for _, n := range names {
		ls := slices.Clone(foreignLines[ports[n]])
		switch n {
		case victim:
		case shrunk:
			ls = append(ls, memberLines(crash.id, crashWeight, crashAddrsOf[:crashScaledTo])...)
		case "web":
			ls = append(ls, memberLines(crash.id, crashWeight, web)...)
		default:
			ls = append(ls, memberLines(crash.id, crashWeight, crashAddrsOf[:crashReady])...)
		}
		want[ports[n]] = ls
	}
	want[addedPort] = memberLines(crash.id, crashWeight, crashAddrsOf[:5])
	eventually(t, wait, "the restarted controller converges", func(ctx context.Context) error {
		for port, w := range want {
			if err := wantPool(e, lb.ID, port, lines(w...))(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	converged := time.Since(restarted)
	eventually(t, wait, "the deleted Service released and gone", func(ctx context.Context) error {
		_, err := crash.cs.CoreV1().Services(ns).Get(ctx, victim, metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("Service %s still there (%v)", victim, err)
		}
		return nil
	})
	finishWatch()
	t.Logf("F9: killed with %d batch-adds answered (%d members of %s in %d pools) and %d in flight, which landed after the kill (%d members in %d pools); "+
		"while down: deleted %s, scaled %s to %d, web to 4, added \"added\"; the cold restart converged in %s (%s after the kill); %d watcher reads of %d pools; whole test %s",
		crashGate, atKill, crash.id, poolsAtKill, crashWorkers, afterLate, poolsAfterLate, victim, shrunk, crashScaledTo,
		converged.Round(10*time.Millisecond), time.Since(killedAt).Round(10*time.Millisecond), reads, len(want), time.Since(start).Round(time.Second))
	if len(violations) > 0 {
		t.Errorf("%d violations in %d reads, first seen:\n%s", violated, reads, strings.Join(violations[:min(20, len(violations))], "\n"))
	}
	if reads < 10 {
		t.Errorf("the watcher read the pools only %d times", reads)
	}
}
