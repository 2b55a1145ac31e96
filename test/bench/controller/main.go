// Command controller is `make bench-controller` (F10): fleetlb-controller at scale against
// elbd, with a real kube-apiserver, measured and compared with the goals of issue 15.
//
//  1. One cluster (internal/testbed/localk8s) holds -services LoadBalancer Services, each with
//     -pods ready endpoints in its EndpointSlice, all bound to one dedicated ELB on elbd (quotas
//     lifted in elbd's config). The controller (the real binary, a child process) starts only
//     then: the time to all members in place, the ELB API calls by kind and the controller's
//     peak RSS are measured.
//  2. -changes single-pod changes, one at a time: one endpoint of one Service moves to a new
//     address; the time from the EndpointSlice update to the ELB pool showing the new member and
//     not the old one is measured (p50, p99).
//  3. A resync with nothing to do: after every Service was reconciled again, the write calls
//     (must be 0).
//  4. elbd alone, with the members of step 1 (10,000 by default) in the project: p99 of a
//     filtered list of all members and of a 10-member batch-create, over the official SDK.
//
// The pod addresses are never contacted: elbd runs without a data plane (the API and its store
// only), so the figures are the controller's and the API's, not a health checker's. Every address
// is on loopback. The table is printed with the goals beside the figures; the exit code is 1
// when a goal is missed.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	elbv3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3"
	v3model "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/common/ownership"
	"github.com/fleetlb/fleetlb/internal/controller/model"
	"github.com/fleetlb/fleetlb/internal/elbd/api"
	"github.com/fleetlb/fleetlb/internal/elbd/config"
	"github.com/fleetlb/fleetlb/internal/elbd/server"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
	"github.com/fleetlb/fleetlb/internal/testbed/localk8s"
)

const (
	project   = "bench-project"
	ak, sk    = "AK-FLEETLB-BENCH", "SK-fleetlb-bench-secret"
	clusterID = "bench"
	namespace = "default"
	// firstPort is the listener port of the first Service; Service i listens on firstPort+i.
	firstPort  = 10000
	targetPort = 8080
)

// goals of issue 15 ("Scale").
const (
	goalConverge = 60 * time.Second
	goalP99      = 200 * time.Millisecond
	goalRSSMiB   = 300
)

type options struct {
	services, pods, changes int
	qps, kubeQPS            float64
	burst, concurrency      int
	kubeBurst               int
	resync                  time.Duration
	timeout                 time.Duration
	keep                    bool
	cpuProfile              string
}

func main() {
	var o options
	flag.IntVar(&o.services, "services", 1000, "LoadBalancer Services in the cluster")
	flag.IntVar(&o.pods, "pods", 10, "ready endpoints per Service")
	flag.IntVar(&o.changes, "changes", 100, "single-pod changes whose latency is measured")
	flag.Float64Var(&o.qps, "elb-qps", 200, "the controller's --elb-qps (its default, 10, is for a fleet sharing the real API's limits)")
	flag.IntVar(&o.burst, "elb-burst", 400, "the controller's --elb-burst")
	flag.Float64Var(&o.kubeQPS, "kube-api-qps", 100, "the controller's --kube-api-qps (its default; 5 is client-go's, the limit before F11)")
	flag.IntVar(&o.kubeBurst, "kube-api-burst", 200, "the controller's --kube-api-burst (its default)")
	flag.IntVar(&o.concurrency, "concurrency", 16, "the controller's --concurrency")
	flag.DurationVar(&o.resync, "resync-period", 45*time.Second, "the controller's --resync-period (step 3 waits for one)")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up after this long")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (logs) after the run")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the bench process (elbd and the bench) from controller start to convergence to this file")
	flag.Parse()
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, o.timeout)
	defer cancelT()
	ok, err := run(ctx, o, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-controller:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, out io.Writer) (bool, error) {
	root, err := localk8s.RepoRoot()
	if err != nil {
		return false, err
	}
	dir, err := os.MkdirTemp("", "fleetlb-bench-controller-")
	if err != nil {
		return false, err
	}
	if o.keep {
		fmt.Fprintln(out, "work directory (kept):", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	bin := filepath.Join(dir, "fleetlb-controller")
	logf(out, "building fleetlb-controller")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/fleetlb-controller")
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return false, fmt.Errorf("go build ./cmd/fleetlb-controller: %w", err)
	}

	logf(out, "starting a cluster (real kube-apiserver)")
	// No node proxy: nobody connects to the Services, and its table rebuilds would take the
	// CPU the measured programs share.
	cl, err := localk8s.Start(ctx, localk8s.Options{Name: "bench", Dir: filepath.Join(dir, "cluster"), Nodes: 1, NoServiceProxy: true})
	if err != nil {
		return false, err
	}
	defer cl.Stop()
	podCIDR := cl.Options().PodCIDR
	e, err := startELBD(filepath.Join(dir, "elbd"), podCIDR)
	if err != nil {
		return false, err
	}
	defer e.close()
	lb, err := e.st.CreateLoadBalancer(e.scope, store.LoadBalancer{Name: "bench", VIPSubnetID: "subnet-vip", IPTargetEnable: true, AdminStateUp: true})
	if err != nil {
		return false, err
	}

	rc := cl.RESTConfig()
	rc.QPS, rc.Burst = 500, 1000
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return false, err
	}
	addrs, err := newAddresses(podCIDR)
	if err != nil {
		return false, err
	}
	logf(out, "creating %d Services × %d ready endpoints", o.services, o.pods)
	if err := createServices(ctx, cs, lb.ID, o, addrs); err != nil {
		return false, err
	}

	// 1. Converge.
	ctrl, err := startController(ctx, bin, dir, cl.Kubeconfig, e.url, o)
	if err != nil {
		return false, err
	}
	defer ctrl.stop()
	stopProfile, err := startProfile(o.cpuProfile)
	if err != nil {
		return false, err
	}
	start := time.Now()
	loadAtStart := loadAverage()
	want := o.services * o.pods
	logf(out, "controller started; waiting for %d members", want)
	if err := waitMembers(ctx, e, ctrl, want); err != nil {
		return false, err
	}
	converge := time.Since(start)
	stopProfile()
	convergeCalls := e.calls.snapshot()
	logf(out, "converged in %s", converge.Round(10*time.Millisecond))

	// 2. Single-pod changes.
	pools, err := e.poolsByPort()
	if err != nil {
		return false, err
	}
	var lat []time.Duration
	for i := range o.changes {
		svc := (i * 7919) % o.services // spread over the Services
		d, err := changeOnePod(ctx, cs, e, pools[firstPort+svc], svc, addrs)
		if err != nil {
			return false, fmt.Errorf("change %d (Service %s): %w", i, serviceName(svc), err)
		}
		lat = append(lat, d)
	}
	p50, p99 := percentile(lat, 50), percentile(lat, 99)
	logf(out, "%d changes: p50 %s p99 %s", len(lat), p50, p99)

	// 3. A resync with nothing to do: wait for the drained members of step 2 to be removed
	// (--deregistration-delay, T1), then until every Service was read again, then for quiet.
	logf(out, "waiting for the %d replaced members to finish draining", len(lat))
	if err := waitMembers(ctx, e, ctrl, want); err != nil {
		return false, err
	}
	logf(out, "waiting for a resync (--resync-period %s)", o.resync)
	e.calls.reset()
	resyncReads, resyncTagWrites, resyncWrites, err := waitResync(ctx, e, o)
	if err != nil {
		return false, err
	}
	rss, err := ctrl.peakRSSMiB()
	if err != nil {
		return false, err
	}
	ctrl.stop()

	// 4. elbd alone.
	listP99, batchP99, err := elbdAlone(ctx, e, lb.ID, podCIDR)
	if err != nil {
		return false, err
	}

	t := table{}
	t.row("Services × ready endpoints", fmt.Sprintf("%d × %d = %d members", o.services, o.pods, want), "", true)
	t.row("machine: CPUs, load average (1 min) at controller start → at the end", fmt.Sprintf("%d, %s → %s", runtime.NumCPU(), loadAtStart, loadAverage()), "", true)
	t.row("controller settings", fmt.Sprintf("--elb-qps %g --elb-burst %d --concurrency %d --kube-api-qps %g --kube-api-burst %d", o.qps, o.burst, o.concurrency, o.kubeQPS, o.kubeBurst), "", true)
	t.row("converge: controller start → all members in place", converge.Round(10*time.Millisecond).String(), "< "+goalConverge.String(), converge < goalConverge)
	t.row("  ELB API calls to converge (total)", strconv.Itoa(convergeCalls.total()), "", true)
	for _, k := range convergeCalls.kinds() {
		t.row("    "+k, strconv.Itoa(convergeCalls[k]), "", true)
	}
	t.row("  at --elb-qps 10 (the default) those calls take at least", (time.Duration(convergeCalls.total()/10) * time.Second).String(), "", true)
	t.row("controller peak RSS", fmt.Sprintf("%d MiB", rss), fmt.Sprintf("< %d MiB", goalRSSMiB), rss < goalRSSMiB)
	t.row(fmt.Sprintf("endpoint change → member updated, p50 (%d changes)", len(lat)), p50.String(), "", true)
	t.row(fmt.Sprintf("endpoint change → member updated, p99 (%d changes)", len(lat)), p99.String(), "< "+goalP99.String(), p99 < goalP99)
	t.row("resync with nothing to do: read calls", strconv.Itoa(resyncReads), "", true)
	t.row("resync with nothing to do: heartbeat tag writes (fleet records)", strconv.Itoa(resyncTagWrites), "", true)
	t.row("resync with nothing to do: other write calls", strconv.Itoa(resyncWrites), "0", resyncWrites == 0)
	t.row(fmt.Sprintf("elbd, %d members: list all members filtered by address, p99", want), listP99.String(), "< "+goalP99.String(), listP99 < goalP99)
	t.row(fmt.Sprintf("elbd, %d members: batch-create 10 members, p99", want), batchP99.String(), "< "+goalP99.String(), batchP99 < goalP99)
	t.write(out)
	return t.ok, nil
}

// waitMembers waits until the pools hold exactly want members of the bench cluster. It polls the
// project's member count (keys counted, no member decoded: a poll must not load elbd, whose
// figures are measured meanwhile) and checks the owners only when the count is right.
func waitMembers(ctx context.Context, e *elbd, ctrl *controller, want int) error {
	start := time.Now()
	for {
		u, err := e.st.QuotaUsage(project)
		if err != nil {
			return err
		}
		n := u[store.QuotaMember]
		if n == want {
			if n, err = e.ownedMembers(); err != nil {
				return err
			}
			if n == want {
				return nil
			}
		}
		if err := ctrl.exited(); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%d of %d members after %s: %w", n, want, time.Since(start).Round(time.Second), ctx.Err())
		}
		// Every 200 ms near the end (the figure's resolution), every second before.
		pause := 200 * time.Millisecond
		if n < want*9/10 {
			pause = time.Second
		}
		time.Sleep(pause)
	}
}

// startProfile starts a CPU profile into file ("" for none) and returns what stops it.
func startProfile(file string) (stop func(), err error) {
	if file == "" {
		return func() {}, nil
	}
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); _ = f.Close() }, nil
}

// loadAverage is the machine's 1-minute load average (/proc/loadavg), "?" when unknown: the
// figures depend on what else the CPUs run.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

func logf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// elbd ---------------------------------------------------------------------------------------

type elbd struct {
	srv   *server.Server
	st    *store.Store
	scope store.Scope
	hs    *http.Server
	url   string
	calls *callCounter
}

func startELBD(dir, podCIDR string) (*elbd, error) {
	cfg, err := config.Parse(fmt.Appendf(nil, `
credentials:
  - {accessKey: %s, secretKey: %s, projectID: %s}
vpcs:
  - id: vpc-bench
    cidr: 127.0.0.0/8
    subnets:
      - {id: subnet-pods, cidr: %s}
      - {id: subnet-vip, cidr: 127.250.0.0/24}
      - {id: subnet-extra, cidr: 127.251.0.0/16}
quotas: {listener: -1, pool: -1, member: -1, members_per_pool: -1, listeners_per_loadbalancer: -1, healthmonitor: -1}
`, ak, sk, project, podCIDR))
	if err != nil {
		return nil, err
	}
	// No data plane: the pod addresses are never probed (see the package comment).
	srv, err := server.New(server.Options{Config: cfg, DataDir: dir, DataPlane: api.NopDataPlane{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = srv.Close()
		return nil, err
	}
	e := &elbd{srv: srv, st: srv.Store, scope: store.Scope{Family: store.FamilyV3, ProjectID: project}, calls: newCallCounter(), url: "http://" + ln.Addr().String()}
	h := srv.Handler()
	e.hs = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.calls.add(r)
		h.ServeHTTP(w, r)
	})}
	go func() { _ = e.hs.Serve(ln) }()
	return e, nil
}

func (e *elbd) close() {
	_ = e.hs.Close()
	_ = e.srv.Close()
}

// ownedMembers counts the members in the project that the bench cluster owns.
func (e *elbd) ownedMembers() (int, error) {
	ms, err := e.st.ListAllMembers(e.scope)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range ms {
		if ref, _, ok := ownership.ParseMemberName(m.Name); ok && ref.ClusterID == clusterID {
			n++
		}
	}
	return n, nil
}

// poolsByPort maps each listener port to its pool's ID.
func (e *elbd) poolsByPort() (map[int]string, error) {
	ls, err := e.st.ListListeners(e.scope)
	if err != nil {
		return nil, err
	}
	out := make(map[int]string, len(ls))
	for _, l := range ls {
		out[l.ProtocolPort] = l.DefaultPoolID
	}
	return out, nil
}

// callCounter counts the API calls elbd answers, by method and route (IDs left out).
type callCounter struct {
	mu sync.Mutex
	n  calls
}

type calls map[string]int

func newCallCounter() *callCounter { return &callCounter{n: calls{}} }

// idSegment is a path segment that names one resource (elbd's IDs are UUIDs) or the project.
var idSegment = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func (c *callCounter) add(r *http.Request) {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	for i, s := range segs {
		if s == project {
			segs[i] = "{project_id}"
		} else if idSegment.MatchString(s) {
			segs[i] = "{id}"
		}
	}
	k := r.Method + " /" + strings.Join(segs, "/")
	c.mu.Lock()
	c.n[k]++
	c.mu.Unlock()
}

func (c *callCounter) snapshot() calls {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(calls, len(c.n))
	for k, v := range c.n {
		out[k] = v
	}
	return out
}

func (c *callCounter) reset() {
	c.mu.Lock()
	c.n = calls{}
	c.mu.Unlock()
}

func (c calls) total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

func (c calls) writes() int {
	n := 0
	for k, v := range c {
		if !strings.HasPrefix(k, http.MethodGet+" ") {
			n += v
		}
	}
	return n
}

func (c calls) kinds() []string {
	ks := make([]string, 0, len(c))
	for k := range c {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Kubernetes objects ---------------------------------------------------------------------------

func serviceName(i int) string { return fmt.Sprintf("svc-%04d", i) }

// addresses hands out distinct pod addresses from the cluster's pod range (never contacted).
type addresses struct {
	next atomic.Uint32
	base uint32
	size uint32
}

func newAddresses(cidr string) (*addresses, error) {
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		return nil, err
	}
	ones, bits := n.Mask.Size()
	ip := n.IP.To4()
	a := &addresses{base: uint32(ip[0])<<24 | uint32(ip[1])<<16 | uint32(ip[2])<<8 | uint32(ip[3]), size: 1 << (bits - ones)}
	a.next.Store(1)
	return a, nil
}

func (a *addresses) take() (string, error) {
	i := a.next.Add(1) - 1
	if i >= a.size-1 {
		return "", fmt.Errorf("the pod range has no address left (%d taken)", i)
	}
	v := a.base + i
	return net.IPv4(byte(v>>24), byte(v>>16), byte(v>>8), byte(v)).String(), nil
}

func createServices(ctx context.Context, cs kubernetes.Interface, elbID string, o options, addrs *addresses) error {
	errs := make(chan error, o.services)
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for i := range o.services {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := createService(ctx, cs, elbID, i, o.pods, addrs); err != nil {
				errs <- fmt.Errorf("service %s: %w", serviceName(i), err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// createService creates Service i (no selector: the bench writes its EndpointSlice as the
// endpoint-slice controller would) with pods ready endpoints.
func createService(ctx context.Context, cs kubernetes.Interface, elbID string, i, pods int, addrs *addresses) error {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: serviceName(i), Namespace: namespace, Annotations: map[string]string{
			model.AnnotationELBID:         elbID,
			model.AnnotationClass:         string(elbrules.ClassPerformance),
			model.AnnotationMultiCluster:  "true",
			model.AnnotationWeight:        "100",
			model.AnnotationRecyclePolicy: string(model.RecycleMemberOnly),
		}},
		Spec: corev1.ServiceSpec{
			Type:  corev1.ServiceTypeLoadBalancer,
			Ports: []corev1.ServicePort{{Name: "http", Port: int32(firstPort + i), Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(targetPort)}},
		},
	}
	if _, err := cs.CoreV1().Services(namespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return err
	}
	eps := make([]discoveryv1.Endpoint, pods)
	for j := range eps {
		a, err := addrs.take()
		if err != nil {
			return err
		}
		eps[j] = endpoint(a)
	}
	name, port, proto := "http", int32(targetPort), corev1.ProtocolTCP
	es := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: serviceName(i), Namespace: namespace, Labels: map[string]string{
			discoveryv1.LabelServiceName: serviceName(i),
			discoveryv1.LabelManagedBy:   "fleetlb-bench",
		}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   eps,
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &port, Protocol: &proto}},
	}
	_, err := cs.DiscoveryV1().EndpointSlices(namespace).Create(ctx, es, metav1.CreateOptions{})
	return err
}

func endpoint(addr string) discoveryv1.Endpoint {
	ready := true
	return discoveryv1.Endpoint{Addresses: []string{addr}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}
}

// changeOnePod moves Service i's first endpoint to a new address and returns how long the ELB
// took to put the new member in rotation and the old one out (weight 0: draining, T1, or gone).
func changeOnePod(ctx context.Context, cs kubernetes.Interface, e *elbd, poolID string, i int, addrs *addresses) (time.Duration, error) {
	es, err := cs.DiscoveryV1().EndpointSlices(namespace).Get(ctx, serviceName(i), metav1.GetOptions{})
	if err != nil {
		return 0, err
	}
	old := es.Endpoints[0].Addresses[0]
	nu, err := addrs.take()
	if err != nil {
		return 0, err
	}
	es.Endpoints[0] = endpoint(nu)
	start := time.Now()
	if _, err := cs.DiscoveryV1().EndpointSlices(namespace).Update(ctx, es, metav1.UpdateOptions{}); err != nil {
		return 0, err
	}
	for {
		ms, err := e.st.ListMembers(e.scope, poolID)
		if err != nil {
			return 0, err
		}
		hasNew := slices.ContainsFunc(ms, func(m store.Member) bool { return m.Address == nu && m.Weight > 0 })
		// The old member drains at weight 0 for --deregistration-delay (T1) before it is
		// removed: out of rotation is what the change needs.
		oldServes := slices.ContainsFunc(ms, func(m store.Member) bool { return m.Address == old && m.Weight > 0 })
		if hasNew && !oldServes {
			return time.Since(start), nil
		}
		if time.Since(start) > 30*time.Second {
			return 0, fmt.Errorf("after 30 s the pool's old member %s still serves (%t) or the new one %s does not (%t)", old, oldServes, nu, !hasNew)
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitResync waits until the controller has read about every Service again (a resync: at least
// one read call per Service) and 3 s more, and returns the calls made meanwhile: reads, tag writes
// (the fleet records' heartbeat, T10, which is a write by design) and every other write.
func waitResync(ctx context.Context, e *elbd, o options) (reads, tagWrites, writes int, err error) {
	deadline := time.Now().Add(2*o.resync + time.Minute)
	var seen time.Time
	for {
		c := e.calls.snapshot()
		reads = c.total() - c.writes()
		if reads >= o.services && seen.IsZero() {
			seen = time.Now()
		}
		if !seen.IsZero() && time.Since(seen) > 3*time.Second {
			for k, v := range c {
				if strings.HasPrefix(k, http.MethodGet+" ") {
					continue
				}
				if strings.Contains(k, "/tags") {
					tagWrites += v
				} else {
					writes += v
				}
			}
			return reads, tagWrites, writes, nil
		}
		if time.Now().After(deadline) {
			return 0, 0, 0, fmt.Errorf("no full resync seen within %s (%d reads since the changes)", 2*o.resync+time.Minute, reads)
		}
		select {
		case <-ctx.Done():
			return 0, 0, 0, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// elbd alone ----------------------------------------------------------------------------------

// elbdAlone measures, over the official SDK, the p99 of 200 filtered lists of all the project's
// members and of 200 batch-creates of 10 members into a new pool.
func elbdAlone(ctx context.Context, e *elbd, lbID, podCIDR string) (listP99, batchP99 time.Duration, err error) {
	c, err := sdkClient(e.url)
	if err != nil {
		return 0, 0, err
	}
	ms, err := e.st.ListAllMembers(e.scope)
	if err != nil || len(ms) == 0 {
		return 0, 0, fmt.Errorf("no members to list (%v)", err)
	}
	const rounds = 200
	var list, batch []time.Duration
	for i := range rounds {
		if ctx.Err() != nil {
			return 0, 0, ctx.Err()
		}
		addr := ms[(i*7919)%len(ms)].Address
		t := time.Now()
		r, err := c.ListAllMembers(&v3model.ListAllMembersRequest{Address: &[]string{addr}})
		if err != nil {
			return 0, 0, fmt.Errorf("list members address=%s: %w", addr, err)
		}
		list = append(list, time.Since(t))
		if r.Members == nil || len(*r.Members) != 1 {
			return 0, 0, fmt.Errorf("list members address=%s: want 1 member, got %v", addr, r.Members)
		}
	}
	proto := "TCP"
	p, err := c.CreatePool(&v3model.CreatePoolRequest{Body: &v3model.CreatePoolRequestBody{Pool: &v3model.CreatePoolOption{
		Protocol: proto, LbAlgorithm: "ROUND_ROBIN", LoadbalancerId: &lbID}}})
	if err != nil {
		return 0, 0, fmt.Errorf("create pool: %w", err)
	}
	subnet := "subnet-extra"
	for i := range rounds {
		opts := make([]v3model.BatchCreateMembersOption, 10)
		for j := range opts {
			n := i*10 + j
			opts[j] = v3model.BatchCreateMembersOption{Address: fmt.Sprintf("127.251.%d.%d", n/250, 1+n%250), ProtocolPort: 80, SubnetCidrId: &subnet}
		}
		t := time.Now()
		if _, err := c.BatchCreateMembers(&v3model.BatchCreateMembersRequest{PoolId: p.Pool.Id, Body: &v3model.BatchCreateMembersRequestBody{Members: opts}}); err != nil {
			return 0, 0, fmt.Errorf("batch-create members: %w", err)
		}
		batch = append(batch, time.Since(t))
	}
	return percentile(list, 99), percentile(batch, 99), nil
}

func sdkClient(endpoint string) (*elbv3.ElbClient, error) {
	cred, err := basic.NewCredentialsBuilder().WithAk(ak).WithSk(sk).WithProjectId(project).SafeBuild()
	if err != nil {
		return nil, err
	}
	hc, err := elbv3.ElbClientBuilder().WithEndpoints([]string{endpoint}).WithCredential(cred).SafeBuild()
	if err != nil {
		return nil, err
	}
	return elbv3.NewElbClient(hc), nil
}

// the controller process -------------------------------------------------------------------------

type controller struct {
	cmd  *exec.Cmd
	done chan error
	once sync.Once
	err  error
}

func startController(ctx context.Context, bin, dir, kubeconfig, endpoint string, o options) (*controller, error) {
	logFile, err := os.Create(filepath.Join(dir, "controller.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin,
		"--kubeconfig", kubeconfig,
		"--cluster-id", clusterID,
		"--elb-endpoint", endpoint,
		"--project-id", project,
		"--pod-network", string(model.PodNetworkVPC),
		"--subnet-id", "subnet-pods",
		"--elb-qps", strconv.FormatFloat(o.qps, 'f', -1, 64),
		"--elb-burst", strconv.Itoa(o.burst),
		"--concurrency", strconv.Itoa(o.concurrency),
		"--kube-api-qps", strconv.FormatFloat(o.kubeQPS, 'f', -1, 64),
		"--kube-api-burst", strconv.Itoa(o.kubeBurst),
		"--resync-period", o.resync.String(),
		"--metrics-bind-address", "0",
		"--health-probe-bind-address", "0",
	)
	cmd.Env = append(os.Environ(), "HUAWEICLOUD_SDK_AK="+ak, "HUAWEICLOUD_SDK_SK="+sk)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, err
	}
	c := &controller{cmd: cmd, done: make(chan error, 1)}
	go func() {
		err := cmd.Wait()
		_ = logFile.Close()
		c.done <- err
	}()
	return c, nil
}

// exited reports an error when the controller is no longer running.
func (c *controller) exited() error {
	select {
	case err := <-c.done:
		c.err = fmt.Errorf("fleetlb-controller exited: %v (see controller.log; run with -keep)", err)
		c.done <- err
		return c.err
	default:
		return nil
	}
}

func (c *controller) stop() {
	c.once.Do(func() {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	})
}

// peakRSSMiB is the controller's high-water resident set size (VmHWM).
func (c *controller) peakRSSMiB() (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, err := strconv.Atoi(f[1])
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", c.cmd.Process.Pid)
}

// the table ----------------------------------------------------------------------------------

func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	if i > 0 {
		i--
	}
	return s[i].Round(100 * time.Microsecond)
}

type table struct {
	rows [][4]string
	ok   bool
}

func (t *table) row(what, figure, goal string, met bool) {
	if len(t.rows) == 0 {
		t.ok = true
	}
	verdict := ""
	if goal != "" {
		verdict = "met"
		if !met {
			verdict, t.ok = "MISSED", false
		}
	}
	t.rows = append(t.rows, [4]string{what, figure, goal, verdict})
}

func (t *table) write(w io.Writer) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| measure | figure | goal | |")
	fmt.Fprintln(w, "| --- | --- | --- | --- |")
	for _, r := range t.rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", strings.TrimSpace(r[0]), r[1], r[2], r[3])
	}
	if t.ok {
		fmt.Fprintln(w, "\nevery goal met")
	} else {
		fmt.Fprintln(w, "\nA GOAL WAS MISSED")
	}
}
