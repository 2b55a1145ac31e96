package main

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/httphandler"
	elb "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
	vns "github.com/vishvananda/netns"

	"github.com/fleetlb/fleetlb/internal/common/promtext"
	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
	"github.com/fleetlb/fleetlb/internal/elbd/membertest"
	"github.com/fleetlb/fleetlb/internal/elbd/netns"
)

// startKernelElbd runs bin with --dataplane kernel --netns ns (startElbdProc, crash_linux_test.go).
func startKernelElbd(t *testing.T, bin, cfg, dataDir, ns string, extra ...string) *elbdProc {
	t.Helper()
	return startElbdProc(t, bin, append([]string{"--config", cfg, "--data-dir", dataDir, "--api-address", "127.0.0.1:0", "--dataplane", "kernel", "--netns", ns}, extra...)...)
}

// nsRules counts the rules of table inet elbd in namespace ns, -1 without the table.
func nsRules(t *testing.T, ns string) int {
	t.Helper()
	h, err := vns.GetFromName(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	c, err := nftables.New(nftables.WithNetNSFd(int(h)))
	if err != nil {
		t.Fatal(err)
	}
	tables, err := c.ListTables()
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		if tb.Name != "elbd" {
			continue
		}
		chains, err := c.ListChainsOfTableFamily(tb.Family)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ch := range chains {
			if ch.Table.Name != tb.Name {
				continue
			}
			rules, err := c.GetRules(tb, ch)
			if err != nil {
				t.Fatal(err)
			}
			n += len(rules)
		}
		return n
	}
	return -1
}

// hostTables lists the tables of the test's own (host) namespace.
func hostTables(t *testing.T) []string {
	t.Helper()
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	tables, err := c.ListTables()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tb := range tables {
		names = append(names, tb.Name)
	}
	return names
}

// K1, K6, K7, K9: the built elbd, started outside with --dataplane kernel
// --netns NAME, creates NAME and runs in it, API included; a listener made
// through the API is served by nftables rules (and measured by the metrics)
// in NAME only; SIGTERM removes them; after SIGKILL the next elbd cleans the
// stale rules up.
func TestK9KernelElbdInItsNamespace(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if os.Geteuid() != 0 || !netns.HasNetAdmin() {
		t.Skip("the kernel data plane needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN for the namespace)")
	}
	bin := buildElbd(t)
	ns := fmt.Sprintf("fleetlb-k9-%d", os.Getpid())
	t.Cleanup(func() { _ = netns.Delete(ns) })
	host := strings.Join(hostTables(t), ",")
	cfg, dir := writeConfig(t), t.TempDir()
	metrics, console := "127.0.0.1:19181", "127.0.0.1:19182"
	p := startKernelElbd(t, bin, cfg, dir, ns, "--metrics-address", metrics, "--console-address", console)
	if _, err := os.Stat(filepath.Join(netns.Dir, ns)); err != nil {
		t.Fatalf("elbd did not create namespace %s: %v", ns, err)
	}

	child := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=^TestK9KernelChild$", "-test.count=1", "-test.v")
	child.Env = append(os.Environ(), k9Env+"="+p.api()+","+metrics+","+console)
	out, err := child.CombinedOutput()
	t.Logf("child in %s:\n%s", ns, out)
	if err != nil || !strings.Contains(string(out), "--- PASS: TestK9KernelChild") {
		t.Fatalf("the traffic test in the namespace failed: %v\nelbd:\n%s", err, p.logs)
	}
	if n := nsRules(t, ns); n < 2 {
		t.Fatalf("table inet elbd in %s has %d rules while a listener is served", ns, n)
	}
	if got := strings.Join(hostTables(t), ","); got != host {
		t.Fatalf("the host's tables changed: %q -> %q", host, got)
	}

	// SIGTERM: the table goes.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("elbd after SIGTERM: %v\n%s", err, p.logs)
	}
	if n := nsRules(t, ns); n != -1 {
		t.Fatalf("table inet elbd still in %s after SIGTERM (%d rules)", ns, n)
	}

	// SIGKILL leaves the rules; the next elbd (another data dir: no
	// listeners) starts from an empty table.
	p = startKernelElbd(t, bin, cfg, dir, ns)
	eventuallyRules := time.Now().Add(5 * time.Second)
	for nsRules(t, ns) < 2 && time.Now().Before(eventuallyRules) {
		time.Sleep(20 * time.Millisecond)
	}
	_ = p.cmd.Process.Kill()
	_, _ = p.cmd.Process.Wait()
	if n := nsRules(t, ns); n < 2 {
		t.Fatalf("after SIGKILL the table has %d rules; the test needs stale rules", n)
	}
	p = startKernelElbd(t, bin, cfg, t.TempDir(), ns)
	if n := nsRules(t, ns); n != 0 {
		t.Fatalf("the restarted elbd's table has %d rules; the stale ones should be gone", n)
	}
	if !strings.Contains(p.logs.String(), "kernel data plane") {
		t.Errorf("the log does not say the kernel data plane serves:\n%s", p.logs)
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_ = p.cmd.Wait()
	if n := nsRules(t, ns); n != -1 {
		t.Fatalf("table inet elbd still in %s after SIGTERM (%d rules)", ns, n)
	}
}

// TestK9KernelChild is the part of TestK9KernelElbdInItsNamespace that runs
// inside the namespace; skipped otherwise.
func TestK9KernelChild(t *testing.T) {
	env := os.Getenv(k9Env)
	if env == "" {
		t.Skip("runs inside TestK9KernelElbdInItsNamespace's namespace")
	}
	addrs := strings.Split(env, ",")
	api, metrics := addrs[0], "http://"+addrs[1]+"/metrics"
	c := client(t, api)
	m80, _ := membertest.Serve(t, "127.10.1.10:0", "m80")
	m20, _ := membertest.Serve(t, "127.10.1.11:0", "m20")
	lb, l, _, _ := elbdtest.Serving(t, c, "127.10.1.77", elbdtest.Member{Address: "127.10.1.10", Port: m80, Weight: 80}, elbdtest.Member{Address: "127.10.1.11", Port: m20, Weight: 20})
	vip := fmt.Sprintf("127.10.1.77:%d", l.ProtocolPort)
	ask := func() string {
		name, _ := membertest.Ask(vip)
		return name
	}
	// Wait until both members are programmed, then count a fresh run.
	for deadline := time.Now().Add(5 * time.Second); ask() != "m20"; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the listener does not reach member m20")
		}
	}
	before := memberConnections(t, metrics)
	counts := map[string]int{}
	for i := 0; i < 1000; i++ {
		counts[ask()]++
	}
	if counts["m80"] != 800 || counts["m20"] != 200 {
		t.Fatalf("1000 connections split %v, want m80 800, m20 200", counts)
	}
	after := memberConnections(t, metrics)
	if got := after - before; got != 1000 {
		t.Errorf("elbd_member_connections_total grew by %v over 1000 connections", got)
	}
	if kernel := scrape(t, metrics).Samples("elbd_listener_kernel"); !slices.ContainsFunc(kernel, func(s promtext.Sample) bool { return s.Value == 1 }) {
		t.Errorf("the metrics do not say the listener is served by the kernel: elbd_listener_kernel %v", kernel)
	}
	k10DataPlaneShown(t, api, addrs[2], lb, l.Id)
	k12ClientAddressKept(t, c, lb)
}

// k12ClientAddressKept (K12): a listener made through the v3 API without
// transparent_client_ip_enable is a dedicated load balancer's, so it is true
// and the kernel keeps the client's address: the member sees the client's own
// address, not the VIP.
func k12ClientAddressKept(t *testing.T, c *elb.ElbClient, lb *model.LoadBalancer) {
	t.Helper()
	port := membertest.ServeClientAddress(t, "127.10.1.14:0")
	l, pool := elbdtest.ListenerWithPool(t, c, lb)
	if !l.TransparentClientIpEnable {
		t.Fatalf("a v3 listener created without transparent_client_ip_enable answers false; want true")
	}
	if _, err := c.CreateMember(&model.CreateMemberRequest{PoolId: pool.Id, Body: &model.CreateMemberRequestBody{
		Member: &model.CreateMemberOption{Address: "127.10.1.14", ProtocolPort: ptr(int32(port)), SubnetCidrId: ptr("subnet-a1")}}}); err != nil {
		t.Fatal(err)
	}
	vip := net.JoinHostPort(lb.VipAddress, fmt.Sprint(l.ProtocolPort))
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got, err := membertest.AskFrom(vip, net.IPv4(127, 10, 1, 99))
		if err == nil && got == "127.10.1.99" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("through %s the member saw the client at %q (%v); want the client's own address 127.10.1.99", vip, got, err)
		}
	}
}

// k10DataPlaneShown (K10): a LEAST_CONNECTIONS listener beside the kernel
// one stays on the proxy, and says so in the status tree (elbd's field
// elbd_dataplane, beside fields the official SDK parses as the cloud's) and
// on the console's listener page.
func k10DataPlaneShown(t *testing.T, api, console string, lb *model.LoadBalancer, kernelListener string) {
	t.Helper()
	c := client(t, api)
	lc, pool := elbdtest.ListenerWithPool(t, c, lb)
	algo := "LEAST_CONNECTIONS"
	if _, err := c.UpdatePool(&model.UpdatePoolRequest{PoolId: pool.Id, Body: &model.UpdatePoolRequestBody{Pool: &model.UpdatePoolOption{LbAlgorithm: &algo}}}); err != nil {
		t.Fatal(err)
	}
	port, _ := membertest.Serve(t, "127.10.1.12:0", "lc")
	if _, err := c.CreateMember(&model.CreateMemberRequest{PoolId: pool.Id, Body: &model.CreateMemberRequestBody{
		Member: &model.CreateMemberOption{Address: "127.10.1.12", ProtocolPort: ptr(int32(port)), SubnetCidrId: ptr("subnet-a1")}}}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{kernelListener: "kernel", lc.Id: "proxy (LEAST_CONNECTIONS is served by the proxy, not the kernel)"}

	// The status tree through the official SDK, which also hands its raw body to a handler.
	var raw []byte
	cred, err := basic.NewCredentialsBuilder().WithAk("AK1").WithSk("SK1-secret").WithProjectId("p1").SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	hc, err := elb.ElbClientBuilder().WithEndpoints([]string{"http://" + strings.TrimPrefix(api, "http://")}).
		WithCredential(cred).
		WithHttpConfig(config.DefaultHttpConfig().WithHttpHandler(httphandler.NewHttpHandler().AddResponseHandler(func(r http.Response) {
			raw, _ = io.ReadAll(r.Body)
		}))).SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		st, err := elb.NewElbClient(hc).ShowLoadBalancerStatus(&model.ShowLoadBalancerStatusRequest{LoadbalancerId: lb.Id})
		if err != nil {
			t.Fatal(err)
		}
		var tree struct {
			Statuses struct {
				Loadbalancer struct {
					Listeners []struct {
						ID        string `json:"id"`
						DataPlane string `json:"elbd_dataplane"`
					} `json:"listeners"`
				} `json:"loadbalancer"`
			} `json:"statuses"`
		}
		if err := json.Unmarshal(raw, &tree); err != nil {
			t.Fatalf("status tree %s: %v", raw, err)
		}
		got = map[string]string{}
		for _, l := range tree.Statuses.Loadbalancer.Listeners {
			got[l.ID] = l.DataPlane
		}
		ls := st.Statuses.Loadbalancer.Listeners
		if len(ls) != 2 || *ls[0].OperatingStatus != "ONLINE" || *ls[1].OperatingStatus != "ONLINE" {
			t.Fatalf("the SDK parsed the listeners as %v", st.Statuses.Loadbalancer.Listeners)
		}
		if maps.Equal(got, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status tree's elbd_dataplane by listener %v, want %v\n%s", got, want, raw)
		}
	}
	if name, err := membertest.Ask(fmt.Sprintf("127.10.1.77:%d", lc.ProtocolPort)); err != nil || name != "lc" {
		t.Fatalf("the LEAST_CONNECTIONS listener answers %q, %v", name, err)
	}

	// The console's listener page says the same.
	jar, _ := cookiejar.New(nil)
	web := &http.Client{Jar: jar}
	defer web.CloseIdleConnections()
	resp, err := web.PostForm("http://"+console+"/login", url.Values{"access_key": {"AK1"}, "secret_key": {"SK1-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	for id, path := range want {
		resp, err := web.Get("http://" + console + "/listeners/" + id)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if shown := `<dd id="listener-dataplane">` + html.EscapeString(path) + `</dd>`; !strings.Contains(string(page), shown) {
			t.Errorf("the console's page of listener %s does not show %s:\n%s", id, shown, page)
		}
	}
}

// memberConnections sums elbd_member_connections_total at url.
func memberConnections(t *testing.T, url string) float64 {
	t.Helper()
	time.Sleep(250 * time.Millisecond) // the kernel's counters are read at most every 200 ms
	return scrape(t, url).Sum("elbd_member_connections_total", nil)
}

// K9: without CAP_NET_ADMIN, --dataplane kernel says so in one log line and
// the proxy serves (the capability is taken from root with setpriv).
func TestK9KernelWithoutNetAdminRunsTheProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	setpriv, err := exec.LookPath("setpriv")
	if os.Geteuid() != 0 || err != nil {
		t.Skip("needs root and setpriv (util-linux) to start elbd without CAP_NET_ADMIN")
	}
	bin := buildElbd(t)
	host := strings.Join(hostTables(t), ",")
	p := startElbdProc(t, setpriv, "--bounding-set", "-net_admin", "--inh-caps", "-net_admin", bin,
		"--config", writeConfig(t), "--data-dir", t.TempDir(), "--api-address", "127.0.0.1:0", "--dataplane", "kernel", "--netns", "fleetlb-never-made")
	if n := strings.Count(p.logs.String(), "needs CAP_NET_ADMIN"); n != 1 {
		t.Fatalf("%d log lines about CAP_NET_ADMIN, want 1:\n%s", n, p.logs)
	}
	if _, err := os.Stat(filepath.Join(netns.Dir, "fleetlb-never-made")); err == nil {
		t.Fatal("elbd without the capability made the namespace")
	}
	if got := strings.Join(hostTables(t), ","); got != host {
		t.Fatalf("the host's tables changed: %q -> %q", host, got)
	}
}
