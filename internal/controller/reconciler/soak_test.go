package reconciler_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/controller/deploy"
	"github.com/fleetlb/fleetlb/internal/controller/model"
	"github.com/fleetlb/fleetlb/internal/controller/reconciler"
	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
	"github.com/fleetlb/fleetlb/internal/elbd/faults"
	"github.com/fleetlb/fleetlb/internal/testbed/localk8s"
)

// F7: the soak (docs/requirements.md). Two real clusters' controllers share one listener and pool of a dedicated ELB
// with two VMs added by hand, while elbd answers about 15% of the controllers' calls with an
// injected fault (F6) and both clusters change their ready endpoints 1,000 times. A watcher,
// with a key elbd does not fault, reads the pool all along.

const (
	soakRounds   = 1000
	soakInterval = 60 * time.Millisecond // between rounds: a change of desired state each
	soakPort     = 80
	// soakSettled: a member wanted this long is past any reconcile that began before it was
	// wanted (a reconcile under faults lasts seconds), so its going is a controller's fault.
	soakSettled = 15 * time.Second
	// Two endpoints of each cluster are always ready (their weight changes with the others'
	// count); soakToggled more are ready or not at random each round.
	soakCore, soakToggled = 2, 4
)

// soakCluster is one cluster's side of the soak: its ready endpoints (the desired members) and
// since when each has been wanted.
type soakCluster struct {
	*kube
	weight int
	addrs  []string // soakCore + soakToggled endpoint addresses in the cluster's Pod range
	slice  *discoveryv1.EndpointSlice

	mu          sync.Mutex
	wantedSince map[string]time.Time // ready address -> when its slice write finished
}

// setReady writes the cluster's EndpointSlice with exactly ready's addresses ready. An address
// leaves wantedSince before the write (the controller may act on it at once) and joins after it.
func (c *soakCluster) setReady(ctx context.Context, ready map[string]bool) error {
	c.mu.Lock()
	for a := range c.wantedSince {
		if !ready[a] {
			delete(c.wantedSince, a)
		}
	}
	c.mu.Unlock()
	s := c.slice.DeepCopy()
	s.Endpoints = nil
	for _, a := range c.addrs {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{a}, Conditions: discoveryv1.EndpointConditions{Ready: ptrTo(ready[a])}})
	}
	var err error
	if s.ResourceVersion == "" {
		c.slice, err = c.cs.DiscoveryV1().EndpointSlices(ns).Create(ctx, s, metav1.CreateOptions{})
	} else {
		c.slice, err = c.cs.DiscoveryV1().EndpointSlices(ns).Update(ctx, s, metav1.UpdateOptions{})
	}
	if err != nil {
		return err
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for a := range ready {
		if _, ok := c.wantedSince[a]; !ok {
			c.wantedSince[a] = now
		}
	}
	return nil
}

// settled reports whether address a has been wanted since before t-soakSettled.
func (c *soakCluster) settled(a string, t time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	since, ok := c.wantedSince[a]
	return ok && since.Before(t.Add(-soakSettled))
}

// desired renders the cluster's wanted members as the pool should hold them: "id address:port w=N"
// with N = ceil(W/n) (R2, pass-through).
func (c *soakCluster) desired() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.wantedSince)
	var out []string
	for a := range c.wantedSince {
		out = append(out, fmt.Sprintf("%s %s:8080 w=%d", c.id, a, (c.weight+n-1)/n))
	}
	return out
}

func soakConfig(a, b localk8s.Options) string {
	return elbdtest.Cloud([]string{ak, sk, project, "AK-SOAK-A", "SK-soak-a", project, "AK-SOAK-B", "SK-soak-b", project},
		[]string{"subnet-a-pods", a.PodCIDR, "subnet-b-pods", b.PodCIDR}, `# F6: the controllers' keys get about 15% of their calls faulted; the watcher's key none.
faults:
  seed: 15
  busy: 0.03
  serverError: 0.03
  throttle: 0.03
  timeout: 0.02
  lostResponse: 0.04
  timeoutHold: 1500ms
  accessKeys: [AK-SOAK-A, AK-SOAK-B]
`)
}

// hostAddrs are n addresses of prefix from its 10th host on.
func hostAddrs(t *testing.T, prefix string, n int) []string {
	t.Helper()
	a := netip.MustParsePrefix(prefix).Addr()
	for range 10 {
		a = a.Next()
	}
	var out []string
	for range n {
		out = append(out, a.String())
		a = a.Next()
	}
	return out
}

func TestF7SoakTwoClustersUnderFaults(t *testing.T) {
	start := time.Now()
	e, soakA, soakB := startPair(t, "soak-a", "soak-b", 1, soakConfig)
	if e.Faults == nil {
		t.Fatal("elbd has no fault injector: the faults: section was not applied")
	}
	lb := e.lb(t, "soak", true)
	poolID := e.handMade(t, lb.ID, "vm-web", soakPort,
		elbclient.MemberSpec{Name: "vm-1", Address: "127.251.0.10", Port: 8080, Weight: 10, SubnetID: "subnet-vm"},
		elbclient.MemberSpec{Name: "vm-2", Address: "127.251.0.11", Port: 8080, Weight: 10, SubnetID: "subnet-vm"})
	pool := func(ctx context.Context) ([]elbclient.Member, error) {
		return e.perf().ListMembers(ctx, poolID)
	}
	vms, err := pool(context.Background())
	if err != nil || len(vms) != 2 {
		t.Fatalf("VMs %+v %v", vms, err)
	}

	clusters := []*soakCluster{
		{kube: soakA, weight: 60, addrs: hostAddrs(t, soakA.c.Options().PodCIDR, soakCore+soakToggled)},
		{kube: soakB, weight: 40, addrs: hostAddrs(t, soakB.c.Options().PodCIDR, soakCore+soakToggled)},
	}
	keys := [][2]string{{"AK-SOAK-A", "SK-soak-a"}, {"AK-SOAK-B", "SK-soak-b"}}
	subnets := []string{"subnet-a-pods", "subnet-b-pods"}
	ctx := context.Background()
	for i, c := range clusters {
		c.wantedSince = map[string]time.Time{}
		// A Service without a selector: the test writes its EndpointSlice, so which endpoints
		// are ready is known exactly.
		c.create(t, seedService(t, "s1-cluster-a-weight-80.yaml", "soak", lb.ID, func(s *corev1.Service) {
			s.Spec.Selector = nil
			s.Spec.Ports[0].TargetPort.IntVal = 8080
			s.Annotations[model.AnnotationWeight] = fmt.Sprint(c.weight)
		}))
		c.slice = &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: "soak-manual", Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: "soak", discoveryv1.LabelManagedBy: "fleetlb-soak-test"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptrTo("service0"), Port: ptrTo(int32(8080)), Protocol: ptrTo(corev1.ProtocolTCP)}},
		}
		ready := map[string]bool{}
		for _, a := range c.addrs[:soakCore+1] {
			ready[a] = true
		}
		if err := c.setReady(ctx, ready); err != nil {
			t.Fatal(err)
		}
		fc, err := elbclient.New(elbclient.Config{Endpoint: e.URL, ProjectID: project, AK: keys[i][0], SK: keys[i][1],
			Timeout: time.Second, QPS: 1000, Burst: 1000, Retry: elbclient.Retry{Base: 20 * time.Millisecond, Max: 300 * time.Millisecond, BusyWait: 10 * time.Second}})
		if err != nil {
			t.Fatal(err)
		}
		c.startWith(t, e, func(o *reconciler.Options) {
			o.PodNetwork, o.SubnetID = model.PodNetworkVPC, subnets[i]
			o.Deployer, o.CheckELB = deploy.New(fc, deploy.Options{Backoff: 50 * time.Millisecond, Subnets: fc}), nil
		})
	}
	owner := func(m elbclient.Member) *soakCluster {
		for _, c := range clusters {
			if clusterOf(m) == c.id {
				return c
			}
		}
		return nil
	}

	// The watcher reads the pool until the rounds and the convergence are done.
	type violation struct{ missingVM, changedVM, duplicate, missingMember int }
	var (
		viol    violation
		reads   int
		details []string
		stop    = make(chan struct{})
		watched = make(chan struct{})
	)
	note := func(format string, a ...any) {
		if len(details) < 20 {
			details = append(details, fmt.Sprintf(format, a...))
		}
	}
	go func() {
		defer close(watched)
		var prev map[string]elbclient.Member // address:port -> member of the last read
		var prevAt time.Time
		for {
			select {
			case <-stop:
				return
			default:
			}
			at := time.Now()
			ms, err := pool(ctx)
			if err != nil {
				note("watcher read failed: %v", err) // the watcher's key is not faulted
				continue
			}
			reads++
			cur := map[string]elbclient.Member{}
			for _, m := range ms {
				k := fmt.Sprintf("%s:%d", m.Address, m.Port)
				if _, dup := cur[k]; dup {
					viol.duplicate++
					note("read %d: %s twice", reads, k)
				}
				cur[k] = m
			}
			for _, vm := range vms {
				got, ok := cur[fmt.Sprintf("%s:%d", vm.Address, vm.Port)]
				switch {
				case !ok:
					viol.missingVM++
					note("read %d: VM %s missing", reads, vm.Name)
				case got.ID != vm.ID || got.Weight != vm.Weight || got.Name != vm.Name:
					viol.changedVM++
					note("read %d: VM %+v is now %+v", reads, vm, got)
				}
			}
			// A cluster's member seen in the last read, still wanted by its cluster and
			// settled since before that read, must still be there.
			for k, m := range prev {
				c := owner(m)
				if _, ok := cur[k]; ok || c == nil {
					continue
				}
				if c.settled(m.Address, prevAt) {
					viol.missingMember++
					note("read %d: %s's member %s (wanted for over %s) missing", reads, c.name, k, soakSettled)
				}
			}
			prev, prevAt = cur, at
			time.Sleep(20 * time.Millisecond)
		}
	}()

	// 1,000 rounds: each changes one cluster's ready endpoints (the core ones stay ready).
	rng := rand.New(rand.NewPCG(7, 7))
	roundsStart := time.Now()
	for r := range soakRounds {
		c := clusters[r%2]
		ready := map[string]bool{}
		for i, a := range c.addrs {
			if i < soakCore || rng.IntN(2) == 0 {
				ready[a] = true
			}
		}
		if err := c.setReady(ctx, ready); err != nil {
			t.Fatalf("round %d: %v", r, err)
		}
		time.Sleep(soakInterval)
	}
	roundsTook := time.Since(roundsStart)

	// After the rounds the pool converges to exactly the VMs and both clusters' ready endpoints.
	var want []string
	for _, vm := range vms {
		want = append(want, fmt.Sprintf("%s %s:%d w=%d", vm.Name, vm.Address, vm.Port, vm.Weight))
	}
	for _, c := range clusters {
		want = append(want, c.desired()...)
	}
	sort.Strings(want)
	convergeStart := time.Now()
	eventually(t, 2*time.Minute, "the pool after the rounds", func(ctx context.Context) error {
		ms, err := pool(ctx)
		if err != nil {
			return err
		}
		var got []string
		for _, m := range ms {
			who := m.Name
			if c := owner(m); c != nil {
				who = c.id
			}
			got = append(got, fmt.Sprintf("%s %s:%d w=%d", who, m.Address, m.Port, m.Weight))
		}
		sort.Strings(got)
		if g, w := strings.Join(got, "\n"), strings.Join(want, "\n"); g != w {
			return fmt.Errorf("pool:\n%s\nwant:\n%s", g, w)
		}
		return nil
	})
	close(stop)
	<-watched

	injected := e.Faults.Injected()
	total := 0
	for _, n := range injected {
		total += n
	}
	t.Logf("F7 soak: %d rounds in %s, converged %s later; %d watcher reads; faults injected: %s (total %d); violations: missing VM %d, changed VM %d, duplicate %d, missing settled member %d; whole test %s",
		soakRounds, roundsTook.Round(time.Millisecond), time.Since(convergeStart).Round(time.Millisecond), reads, e.Faults, total,
		viol.missingVM, viol.changedVM, viol.duplicate, viol.missingMember, time.Since(start).Round(time.Second))
	if viol != (violation{}) || len(details) > 0 {
		t.Errorf("violations %+v:\n%s", viol, strings.Join(details, "\n"))
	}
	for _, k := range faults.Kinds {
		if injected[k] == 0 {
			t.Errorf("no %q fault was injected (%s): the soak proves less than it says", k, e.Faults)
		}
	}
	if reads < 100 {
		t.Errorf("the watcher read the pool only %d times", reads)
	}
}
