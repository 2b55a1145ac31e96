package e2e

import (
	"bufio"
	"bytes"
	"context"
	"math"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	m2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"
	m3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/fleetlb/fleetlb/internal/testbed/playground"
)

// TestLocalUp runs `fleetlb-local up` as a user would: it prints exactly
// "ready", leaves a working elb.env and kubeconfigs, and on SIGTERM stops
// every process it started.
func TestLocalUp(t *testing.T) {
	k8s := k8sBins(t)
	bins := programs(t)
	state := t.TempDir()
	var stderr bytes.Buffer
	cmd := exec.Command(filepath.Join(bins, "fleetlb-local"), "up", "--state-dir", state,
		"--address-base", strconv.Itoa(e2eBase), "--k8s-bin-dir", k8s)
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 16)
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill() // its children die with it (parent-death signal)
			<-exited
		}
		if t.Failed() {
			t.Logf("fleetlb-local stderr:\n%s", stderr.String())
		}
	})

	select {
	case line, ok := <-lines:
		if !ok || line != "ready" {
			t.Fatalf("first stdout line %q (open %v), want \"ready\"; stderr:\n%s", line, ok, stderr.String())
		}
	case <-time.After(3 * time.Minute):
		t.Fatalf("no \"ready\" within 3 minutes; stderr:\n%s", stderr.String())
	}

	env := readEnv(t, filepath.Join(state, "elb.env"))
	for _, k := range []string{"ELB_ENDPOINT", "HUAWEICLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK", "HUAWEICLOUD_SDK_PROJECT_ID",
		"PERFORMANCE_ELB_ID", "UNION_ELB_ID", "PERFORMANCE_ELB_VIP", "UNION_ELB_VIP",
		"VPC_1_ID", "VPC_1_CIDR", "VPC_2_ID", "VPC_2_CIDR", "SUBNET_A_ID", "SUBNET_A_CIDR", "SUBNET_B_ID", "SUBNET_B_CIDR", "SUBNET_ELB_ID", "SUBNET_VM_CIDR"} {
		if env[k] == "" {
			t.Errorf("elb.env has no %s", k)
		}
	}
	elb, err := playground.NewELB(env["ELB_ENDPOINT"], playground.Credentials{
		AccessKey: env["HUAWEICLOUD_SDK_AK"], SecretKey: env["HUAWEICLOUD_SDK_SK"], ProjectID: env["HUAWEICLOUD_SDK_PROJECT_ID"]})
	if err != nil {
		t.Fatal(err)
	}
	perf, err := elb.V3.ShowLoadBalancer(&m3.ShowLoadBalancerRequest{LoadbalancerId: env["PERFORMANCE_ELB_ID"]})
	if err != nil {
		t.Fatalf("the dedicated ELB of elb.env: %v", err)
	}
	if !perf.Loadbalancer.IpTargetEnable || perf.Loadbalancer.VipAddress != env["PERFORMANCE_ELB_VIP"] {
		t.Errorf("dedicated ELB: ip_target_enable %v, VIP %s; want true and %s", perf.Loadbalancer.IpTargetEnable, perf.Loadbalancer.VipAddress, env["PERFORMANCE_ELB_VIP"])
	}
	union, err := elb.V2.ShowLoadbalancer(&m2.ShowLoadbalancerRequest{LoadbalancerId: env["UNION_ELB_ID"]})
	if err != nil {
		t.Fatalf("the shared ELB of elb.env: %v", err)
	}
	if union.Loadbalancer.VipAddress != env["UNION_ELB_VIP"] {
		t.Errorf("shared ELB VIP %s, want %s", union.Loadbalancer.VipAddress, env["UNION_ELB_VIP"])
	}
	var apiServers []string
	for _, name := range []string{"a", "b"} {
		cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(state, name+".kubeconfig"))
		if err != nil {
			t.Fatal(err)
		}
		apiServers = append(apiServers, cfg.Host)
		nodes, err := kubernetes.NewForConfigOrDie(cfg).CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
		if err != nil || len(nodes.Items) != 2 {
			t.Errorf("cluster %s through %s.kubeconfig: %v nodes, err %v; want 2", name, name, nodes, err)
		}
	}

	children := childPIDs(cmd.Process.Pid)
	if len(children) < 5 { // elbd, 2 controllers, 2 × (etcd, apiserver, …)
		t.Errorf("fleetlb-local runs %d child processes, want elbd, the controllers and the clusters' components", len(children))
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("fleetlb-local up exited with %v after SIGTERM, want 0", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("fleetlb-local up still running a minute after SIGTERM")
	}
	for rest := range lines {
		t.Errorf("stdout after ready: %q; only \"ready\" belongs there", rest)
	}
	for _, pid := range children {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("child process %d still runs after fleetlb-local stopped", pid)
		}
	}
	if left := processesUsing(state); len(left) > 0 {
		t.Errorf("processes still use the state directory: %v", left)
	}
	for _, u := range append(apiServers, env["ELB_ENDPOINT"]) {
		if host := hostOf(u); host != "" {
			if c, err := net.DialTimeout("tcp", host, time.Second); err == nil {
				c.Close()
				t.Errorf("%s still accepts connections after fleetlb-local stopped", host)
			}
		}
	}
}

// TestLocalDemo runs `fleetlb-local demo --exit` (what `make demo` runs) and
// checks the report a newcomer reads: both scenarios, no failed request,
// measured shares within 2 pp of the expected ones.
func TestLocalDemo(t *testing.T) {
	k8s := k8sBins(t)
	bins := programs(t)
	seeds, err := playground.SeedDir()
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	ctx := deadline(t, 4*time.Minute)
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, filepath.Join(bins, "fleetlb-local"), "demo", "--exit", "--state-dir", state,
		"--address-base", strconv.Itoa(e2eBase), "--k8s-bin-dir", k8s, "--seed-dir", seeds)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("fleetlb-local demo --exit: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	t.Logf("demo report:\n%s", out)
	s1, s3, ok := strings.Cut(out, "== S3")
	if !ok || !strings.Contains(s1, "== S1") || !strings.Contains(out, "== Go on by hand") {
		t.Fatalf("the report lacks its S1, S3 or by-hand sections")
	}
	if n := strings.Count(out, "requests to "+"127.192.0.2:80"+" in "); n != 2 {
		t.Errorf("%d traffic reports through the dedicated ELB's VIP 127.192.0.2:80, want 2", n)
	}
	if strings.Count(out, ", 0 failed.") != 2 {
		t.Errorf("some requests failed")
	}
	checkReportShares(t, "S1", s1, []string{"a", "b"})
	checkReportShares(t, "S3", s3, []string{"a", "b", "vm-1", "vm-2"})
	if !strings.Contains(s3, "$ elbctl member add --pool ") {
		t.Errorf("S3 does not show the elbctl commands that added the VMs")
	}
	if left := processesUsing(state); len(left) > 0 {
		t.Errorf("processes still use the state directory after demo --exit: %v", left)
	}
}

// splitRow is a row of the split table: owner, members, requested weight (* when only carried),
// effective weight, expected share, measured share, measured count, then the health summary.
var splitRow = regexp.MustCompile(`(?m)^\s*(\S+)\s+(\d+|-)\s+(\d+)\*?\s+(\d+)\s+([\d.]+)%\s+([\d.]+)%\s+(\d+)(?:\s+\S.*)?$`)

func checkReportShares(t *testing.T, section, text string, owners []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, m := range splitRow.FindAllStringSubmatch(text, -1) {
		expected, _ := strconv.ParseFloat(m[5], 64)
		measured, _ := strconv.ParseFloat(m[6], 64)
		seen[m[1]] = true
		if math.Abs(expected-measured) > 100*tolerance {
			t.Errorf("%s: %s measured %.1f%%, expected %.1f%%", section, m[1], measured, expected)
		}
	}
	for _, o := range owners {
		if !seen[o] {
			t.Errorf("%s: the split has no row for %s", section, o)
		}
	}
}

// readEnv reads the `export K=V` lines of elb.env (values as the shell sees them).
func readEnv(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		kv, ok := strings.CutPrefix(line, "export ")
		if !ok {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(v, "'") {
			v = strings.ReplaceAll(strings.Trim(v, "'"), `'\''`, "'")
		}
		env[k] = v
	}
	return env
}

// childPIDs lists the direct children of pid.
func childPIDs(pid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces, so split after ")".
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, p)
		}
	}
	return out
}

// processesUsing lists processes whose command line names dir.
func processesUsing(dir string) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		if bytes.Contains(cmdline, []byte(dir)) {
			out = append(out, e.Name()+": "+strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	return out
}

func hostOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	return u.Host
}

// F1 in the playground (fleetlb-local --tls): elbd serves its API over HTTPS with a certificate
// signed by a CA generated for the playground; the controller trusts it (--elb-ca-file) and binds
// a Service; the official SDK without the CA is refused; elbctl works from elb.env (ELB_CA_FILE)
// and is refused without it.
func TestLocalTLS(t *testing.T) {
	p := startPlayground(t, []playground.ClusterSpec{{Name: "a", PodNetwork: playground.PodNetworkVPC, VPC: 1}},
		func(o *playground.Options) { o.TLS, o.Nodes = true, 1 })
	ctx := deadline(t, 3*time.Minute)
	if !strings.HasPrefix(p.Env.Endpoint, "https://127.0.0.1:") || p.Env.CAFile != filepath.Join(p.StateDir, "tls", "ca.crt") {
		t.Fatalf("endpoint %s, CA file %q; want https://127.0.0.1:PORT and %s", p.Env.Endpoint, p.Env.CAFile, filepath.Join(p.StateDir, "tls", "ca.crt"))
	}
	env, err := os.ReadFile(filepath.Join(p.StateDir, "elb.env"))
	if err != nil || !strings.Contains(string(env), "export ELB_CA_FILE="+p.Env.CAFile+"\n") {
		t.Errorf("elb.env lacks ELB_CA_FILE=%s (%v):\n%s", p.Env.CAFile, err, env)
	}

	// The SDK without the CA: the certificate is not trusted.
	bare, err := playground.NewELB(p.Env.Endpoint, p.Env.Credentials)
	if err != nil {
		t.Fatal(err)
	}
	if err := bare.Ping(); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("the SDK without the CA: %v, want a certificate error", err)
	}

	// The controller connects with the CA: the Service binds, its Pods become members.
	a := p.Cluster("a")
	svc := seed(t, "s1-cluster-a-weight-80.yaml", p.Env.PerformanceELBID)
	ms := bindNginx(t, ctx, p, playground.ClassPerformance, p.Env.PerformanceELBID, []playground.Binding{{Cluster: a, Service: svc, Weight: 80}})
	if len(playground.OwnedTargets(ms, p.Owners, "a")) != 3 {
		t.Errorf("members %v, want cluster a's 3 Pods", ms)
	}

	// elbctl with elb.env's variables, then without ELB_CA_FILE.
	elbctl := func(withCA bool) (string, error) {
		cmd := exec.CommandContext(ctx, filepath.Join(programs(t), "elbctl"), "lb", "list")
		cmd.Env = os.Environ()
		for _, kv := range p.Env.Vars() {
			if kv[0] != "ELB_CA_FILE" || withCA {
				cmd.Env = append(cmd.Env, kv[0]+"="+kv[1])
			}
		}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := elbctl(true); err != nil || !strings.Contains(out, p.Env.PerformanceELBID) {
		t.Errorf("elbctl lb list with ELB_CA_FILE: %v\n%s", err, out)
	}
	if out, err := elbctl(false); err == nil || !strings.Contains(out, "certificate") {
		t.Errorf("elbctl lb list without ELB_CA_FILE: %v, want a certificate error:\n%s", err, out)
	}
}
