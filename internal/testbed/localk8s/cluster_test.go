package localk8s_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/fleetlb/fleetlb/internal/testbed/httpserve"
	"github.com/fleetlb/fleetlb/internal/testbed/localk8s"
	"github.com/fleetlb/fleetlb/internal/testbed/localk8s/k8stest"
	"github.com/fleetlb/fleetlb/internal/testbed/nodeagent"
	"github.com/fleetlb/fleetlb/internal/testbed/poll"
)

const (
	ns          = "default"
	appName     = "web"
	httpPort    = 8080
	udpPort     = 9053
	waitTimeout = 45 * time.Second
)

// TestTwoClustersServeRealTraffic runs two clusters at once and checks, in
// each, what a user of the harness relies on: a Deployment's pods get
// loopback IPs that answer with their identity, EndpointSlices list them, node
// ports forward to them (Cluster and Local traffic policy), readiness and
// scaling are reflected, and stopping leaves no process or port behind.
func TestTwoClustersServeRealTraffic(t *testing.T) {
	start := time.Now()
	clusters := k8stest.StartMany(t,
		localk8s.Options{Name: "a", Nodes: 2},
		localk8s.Options{Name: "b", Nodes: 2},
	)
	t.Logf("two clusters ready in %.1fs", time.Since(start).Seconds())
	if clusters[0].Options().PodCIDR == clusters[1].Options().PodCIDR {
		t.Fatalf("both clusters got pod CIDR %s", clusters[0].Options().PodCIDR)
	}

	t.Run("traffic", func(t *testing.T) {
		for _, c := range clusters {
			t.Run(c.Name, func(t *testing.T) {
				t.Parallel()
				exerciseCluster(t, c)
			})
		}
	})

	for _, c := range clusters {
		opts := c.Options()
		pids := c.PIDs()
		c.Stop()
		for name, pid := range pids {
			if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
				t.Errorf("cluster %s: %s (pid %d) still exists after Stop (kill 0: %v)", c.Name, name, pid, err)
			}
		}
		if _, err := net.DialTimeout("tcp", strings.TrimPrefix(c.Server, "https://"), time.Second); err == nil {
			t.Errorf("cluster %s: API server %s still accepts connections after Stop", c.Name, c.Server)
		}
		for _, cidr := range []string{opts.NodeCIDR, opts.PodCIDR} {
			if l := listenersIn(t, netip.MustParsePrefix(cidr)); len(l) > 0 {
				t.Errorf("cluster %s: sockets still bound in %s after Stop: %v", c.Name, cidr, l)
			}
		}
	}
}

func exerciseCluster(t *testing.T, c *localk8s.Cluster) {
	ctx := context.Background()
	cs := c.Client()
	podCIDR := netip.MustParsePrefix(c.Options().PodCIDR)
	nodeIPs := map[string]netip.Addr{}
	for _, n := range c.Nodes() {
		nodeIPs[n.Name] = n.IP
	}

	createWorkload(t, cs, 3)
	svc, err := cs.CoreV1().Services(ns).Get(ctx, appName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	httpNodePort, udpNodePort := svc.Spec.Ports[0].NodePort, svc.Spec.Ports[1].NodePort
	if httpNodePort == 0 || udpNodePort == 0 {
		t.Fatalf("LoadBalancer service got no node ports: %+v", svc.Spec.Ports)
	}

	eps := waitEndpoints(t, cs, 3)
	for _, ep := range eps {
		if !podCIDR.Contains(ep.ip) {
			t.Errorf("endpoint %s (pod %s) is outside the cluster's pod CIDR %s", ep.ip, ep.pod, podCIDR)
		}
		want := c.Name + "/" + ep.node + "/" + ep.pod
		if got, err := httpGet(netip.AddrPortFrom(ep.ip, httpPort)); err != nil || got != want {
			t.Errorf("HTTP to pod %s at %s: got %q, %v; want %q", ep.pod, ep.ip, got, err, want)
		}
		if got, err := udpAsk(netip.AddrPortFrom(ep.ip, udpPort)); err != nil || got != want {
			t.Errorf("UDP to pod %s at %s: got %q, %v; want %q", ep.pod, ep.ip, got, err, want)
		}
	}

	// Every node port reaches every ready pod (round robin), over TCP and UDP.
	// (The node proxies watch the same EndpointSlices, so they may lag a moment.)
	for node, ip := range nodeIPs {
		want := identities(c.Name, eps)
		waitFor(t, "HTTP via "+node+" node port to reach every pod", func() (bool, string) {
			got := collect(t, netip.AddrPortFrom(ip, uint16(httpNodePort)), 2*len(eps), httpGet)
			return equalSets(got, want), fmt.Sprintf("%s:%d reached %v; want %v", ip, httpNodePort, keys(got), keys(want))
		})
		waitFor(t, "UDP via "+node+" node port to reach a pod", func() (bool, string) {
			got, err := udpAsk(netip.AddrPortFrom(ip, uint16(udpNodePort)))
			return err == nil && want[got], fmt.Sprintf("%s:%d answered %q, %v", ip, udpNodePort, got, err)
		})
	}

	// Scale up: five ready endpoints, all reachable through a node port.
	scale(t, cs, 5)
	eps = waitEndpoints(t, cs, 5)
	anyNode := c.Nodes()[0].IP
	want5 := identities(c.Name, eps)
	waitFor(t, "the node port to reach all 5 pods", func() (bool, string) {
		got := collect(t, netip.AddrPortFrom(anyNode, uint16(httpNodePort)), 2*len(eps), httpGet)
		return equalSets(got, want5), fmt.Sprintf("reached %v; want %v", keys(got), keys(want5))
	})

	// A pod marked not ready leaves the ready endpoints and the node port's
	// rotation, while its own server still answers.
	unready := eps[0]
	setReadyAnnotation(t, cs, unready.pod, "false")
	waitFor(t, "pod "+unready.pod+" to be a not-ready endpoint", func() (bool, string) {
		all := endpoints(t, cs)
		var ready int
		for _, e := range all {
			if e.pod == unready.pod && e.ready {
				return false, "still ready"
			}
			if e.ready {
				ready++
			}
		}
		return ready == 4, fmt.Sprintf("%d ready endpoints", ready)
	})
	if got, err := httpGet(netip.AddrPortFrom(unready.ip, httpPort)); err != nil || !strings.HasSuffix(got, "/"+unready.pod) {
		t.Errorf("not-ready pod %s stopped answering directly: %q, %v", unready.pod, got, err)
	}
	waitFor(t, "the node port to skip the not-ready pod", func() (bool, string) {
		got := collect(t, netip.AddrPortFrom(anyNode, uint16(httpNodePort)), 8, httpGet)
		for id := range got {
			if strings.HasSuffix(id, "/"+unready.pod) {
				return false, "reached " + id
			}
		}
		return len(got) == 4, fmt.Sprintf("reached %v", keys(got))
	})
	setReadyAnnotation(t, cs, unready.pod, "true")
	eps = waitEndpoints(t, cs, 5)

	// externalTrafficPolicy: Local: each node port serves only its node's
	// pods, and the health check node port reports them.
	setLocal(t, cs)
	svc, err = cs.CoreV1().Services(ns).Get(ctx, appName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Spec.HealthCheckNodePort == 0 {
		t.Fatalf("Local LoadBalancer service has no healthCheckNodePort")
	}
	for node, ip := range nodeIPs {
		var local []endpoint
		for _, e := range eps {
			if e.node == node {
				local = append(local, e)
			}
		}
		want := identities(c.Name, local)
		waitFor(t, "node port on "+node+" to serve only its "+strconv.Itoa(len(local))+" local pods", func() (bool, string) {
			got := collect(t, netip.AddrPortFrom(ip, uint16(httpNodePort)), 2*len(local)+2, httpGet)
			return equalSets(got, want), fmt.Sprintf("reached %v, want %v", keys(got), keys(want))
		})
		waitFor(t, "health check on "+node+" to report "+strconv.Itoa(len(local))+" local endpoints", func() (bool, string) {
			code, body := healthCheck(netip.AddrPortFrom(ip, uint16(svc.Spec.HealthCheckNodePort)))
			wantCode := http.StatusOK
			if len(local) == 0 {
				wantCode = http.StatusServiceUnavailable
			}
			return code == wantCode && strings.Contains(body, fmt.Sprintf(`"localEndpoints":%d`, len(local))),
				fmt.Sprintf("HTTP %d %s", code, body)
		})
	}

	// Scale to zero: no endpoints, the pods' servers are gone, and the node
	// port refuses traffic.
	scale(t, cs, 0)
	waitEndpoints(t, cs, 0)
	waitFor(t, "all pods to be deleted", func() (bool, string) {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + appName})
		if err != nil {
			return false, err.Error()
		}
		return len(pods.Items) == 0, fmt.Sprintf("%d pods left", len(pods.Items))
	})
	for _, e := range eps {
		if got, err := httpGet(netip.AddrPortFrom(e.ip, httpPort)); err == nil {
			t.Errorf("deleted pod %s still answers at %s: %q", e.pod, e.ip, got)
		}
	}
	waitFor(t, "the node port to refuse traffic with no endpoints", func() (bool, string) {
		got, err := httpGet(netip.AddrPortFrom(anyNode, uint16(httpNodePort)))
		return err != nil, fmt.Sprintf("got %q", got)
	})
}

func createWorkload(t *testing.T, cs kubernetes.Interface, replicas int32) {
	t.Helper()
	ctx := context.Background()
	labels := map[string]string{"app": appName}
	dep := localk8s.Deployment(appName, "nginx", replicas,
		corev1.ContainerPort{Name: "http", ContainerPort: httpPort, Protocol: corev1.ProtocolTCP},
		corev1.ContainerPort{Name: "echo", ContainerPort: udpPort, Protocol: corev1.ProtocolUDP})
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: appName, Namespace: ns},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: labels,
			Ports: []corev1.ServicePort{
				{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP},
				{Name: "echo", Port: 53, TargetPort: intstr.FromString("echo"), Protocol: corev1.ProtocolUDP},
			},
		},
	}
	if _, err := cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create service: %v", err)
	}
}

func scale(t *testing.T, cs kubernetes.Interface, n int32) {
	t.Helper()
	patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, n)
	if _, err := cs.AppsV1().Deployments(ns).Patch(context.Background(), appName, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatalf("scale to %d: %v", n, err)
	}
}

func setLocal(t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	patch := `{"spec":{"externalTrafficPolicy":"Local"}}`
	if _, err := cs.CoreV1().Services(ns).Patch(context.Background(), appName, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatalf("set externalTrafficPolicy Local: %v", err)
	}
}

func setReadyAnnotation(t *testing.T, cs kubernetes.Interface, pod, value string) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, nodeagent.ReadyAnnotation, value)
	if _, err := cs.CoreV1().Pods(ns).Patch(context.Background(), pod, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatalf("annotate pod %s: %v", pod, err)
	}
}

type endpoint struct {
	ip    netip.Addr
	node  string
	pod   string
	ready bool
}

// endpoints lists the Service's endpoints from its EndpointSlices.
func endpoints(t *testing.T, cs kubernetes.Interface) []endpoint {
	t.Helper()
	list, err := cs.DiscoveryV1().EndpointSlices(ns).List(context.Background(), metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + appName,
	})
	if err != nil {
		t.Fatalf("list endpoint slices: %v", err)
	}
	var out []endpoint
	for _, s := range list.Items {
		for _, e := range s.Endpoints {
			ep := endpoint{ready: e.Conditions.Ready == nil || *e.Conditions.Ready}
			if len(e.Addresses) > 0 {
				ep.ip, _ = netip.ParseAddr(e.Addresses[0])
			}
			if e.NodeName != nil {
				ep.node = *e.NodeName
			}
			if e.TargetRef != nil {
				ep.pod = e.TargetRef.Name
			}
			out = append(out, ep)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].pod < out[j].pod })
	return out
}

// waitEndpoints waits for exactly n endpoints, all ready, of running pods.
func waitEndpoints(t *testing.T, cs kubernetes.Interface, n int) []endpoint {
	t.Helper()
	var eps []endpoint
	waitFor(t, fmt.Sprintf("%d ready endpoints of service %s", n, appName), func() (bool, string) {
		eps = endpoints(t, cs)
		ready := 0
		for _, e := range eps {
			if e.ready && e.ip.IsValid() && e.node != "" && e.pod != "" {
				ready++
			}
		}
		return ready == n && len(eps) == n, fmt.Sprintf("%d endpoints, %d ready: %+v", len(eps), ready, eps)
	})
	return eps
}

// waitFor polls cond until it holds, failing after waitTimeout with its last state.
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	poll.State(t, waitTimeout, what, cond)
}

var plainHTTP = &http.Client{
	Timeout:   2 * time.Second,
	Transport: &http.Transport{DisableKeepAlives: true}, // a new connection, so a new backend, per request
}

// httpGet asks the identity server (a pod, or a node port in front of several) at addr.
func httpGet(addr netip.AddrPort) (string, error) {
	return httpserve.Ask(context.Background(), addr.String())
}

func healthCheck(addr netip.AddrPort) (int, string) {
	resp, err := plainHTTP.Get("http://" + addr.String() + "/healthz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(body))
}

func udpAsk(addr netip.AddrPort) (string, error) {
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return "", err
	}
	defer conn.Close()
	buf := make([]byte, 512)
	for range 3 { // datagrams may be lost; ask again
		if _, err := conn.Write([]byte("who")); err != nil {
			return "", err
		}
		_ = conn.SetReadDeadline(time.Now().Add(700 * time.Millisecond))
		n, err := conn.Read(buf)
		if err == nil {
			return string(buf[:n]), nil
		}
	}
	return "", fmt.Errorf("no UDP reply from %s", addr)
}

// collect sends n requests and returns the distinct answers.
func collect(t *testing.T, addr netip.AddrPort, n int, ask func(netip.AddrPort) (string, error)) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	for range n {
		if id, err := ask(addr); err == nil {
			got[id] = true
		}
	}
	return got
}

func identities(cluster string, eps []endpoint) map[string]bool {
	out := map[string]bool{}
	for _, e := range eps {
		out[cluster+"/"+e.node+"/"+e.pod] = true
	}
	return out
}

func equalSets(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// listenersIn lists the TCP listening and bound UDP sockets whose local
// address is inside p, from /proc/net/{tcp,udp}.
func listenersIn(t *testing.T, p netip.Prefix) []string {
	t.Helper()
	var out []string
	for _, f := range []string{"/proc/net/tcp", "/proc/net/udp"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			fields := strings.Fields(line)
			if len(fields) < 4 {
				continue
			}
			local, state := fields[1], fields[3]
			if f == "/proc/net/tcp" && state != "0A" { // LISTEN
				continue
			}
			ap, ok := parseProcAddr(local)
			if ok && p.Contains(ap.Addr()) {
				out = append(out, f[len("/proc/net/"):]+" "+ap.String())
			}
		}
	}
	return out
}

// parseProcAddr parses "0100007F:1F90" (little-endian IPv4, hex port).
func parseProcAddr(s string) (netip.AddrPort, bool) {
	ipHex, portHex, ok := strings.Cut(s, ":")
	if !ok || len(ipHex) != 8 {
		return netip.AddrPort{}, false
	}
	v, err1 := strconv.ParseUint(ipHex, 16, 32)
	port, err2 := strconv.ParseUint(portHex, 16, 16)
	if err1 != nil || err2 != nil {
		return netip.AddrPort{}, false
	}
	ip := netip.AddrFrom4([4]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)})
	return netip.AddrPortFrom(ip, uint16(port)), true
}
