package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	elb "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"

	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
)

func writeConfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "elbd.yaml")
	if err := os.WriteFile(path, []byte(elbdtest.Config), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// start runs elbd in-process on a free port until the returned stop is called.
func start(t *testing.T, cfg, dataDir string, logs *elbdtest.Logs) (endpoint string, stop func()) {
	t.Helper()
	return startLogged(t, cfg, dataDir, logs)
}

// startWith starts elbd with extra flags, logs discarded.
func startWith(t *testing.T, cfg, dataDir string, extra ...string) (endpoint string, stop func()) {
	t.Helper()
	return startLogged(t, cfg, dataDir, &elbdtest.Logs{}, extra...)
}

func startLogged(t *testing.T, cfg, dataDir string, logs *elbdtest.Logs, extra ...string) (endpoint string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		args := append([]string{"--config", cfg, "--data-dir", dataDir, "--api-address", "127.0.0.1:0"}, extra...)
		done <- run(ctx, args, logs, ready)
	}()
	select {
	case addr := <-ready:
		endpoint = "http://" + addr
	case err := <-done:
		cancel()
		t.Fatalf("elbd exited: %v\n%s", err, logs)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("elbd did not start")
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("elbd stopped with %v", err)
		}
	}
	t.Cleanup(stop)
	return endpoint, stop
}

func client(t *testing.T, endpoint string) *elb.ElbClient {
	t.Helper()
	return elbdtest.V3Client(t, endpoint, "AK1", "SK1-secret", "p1")
}

func ptr[T any](v T) *T { return &v }

// A restart keeps every resource, with the same IDs and fields.
func TestRestartKeepsState(t *testing.T) {
	cfg, dir := writeConfig(t), t.TempDir()
	logs := &elbdtest.Logs{}
	endpoint, stop := start(t, cfg, dir, logs)
	c := client(t, endpoint)
	lb, err := c.CreateLoadBalancer(&model.CreateLoadBalancerRequest{Body: &model.CreateLoadBalancerRequestBody{
		Loadbalancer: &model.CreateLoadBalancerOption{Name: ptr("kept"), VipSubnetCidrId: ptr("subnet-a1"), IpTargetEnable: ptr(true)}}})
	if err != nil {
		t.Fatal(err)
	}
	l, p := elbdtest.ListenerWithPool(t, c, lb.Loadbalancer)
	if _, err := c.BatchCreateMembers(&model.BatchCreateMembersRequest{PoolId: p.Id, Body: &model.BatchCreateMembersRequestBody{Members: []model.BatchCreateMembersOption{
		{Address: "127.10.1.10", ProtocolPort: 8080, SubnetCidrId: ptr("subnet-a1"), Weight: ptr(int32(80))},
		{Address: "10.0.0.1", ProtocolPort: 8080, Weight: ptr(int32(20))},
	}}}); err != nil {
		t.Fatal(err)
	}
	hm, err := c.CreateHealthMonitor(&model.CreateHealthMonitorRequest{Body: &model.CreateHealthMonitorRequestBody{
		Healthmonitor: &model.CreateHealthMonitorOption{PoolId: p.Id, Type: "TCP", Delay: 5, Timeout: 3, MaxRetries: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	before, err := c.ListAllMembers(&model.ListAllMembersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	stop()
	if !strings.Contains(logs.String(), "elbd stopped") {
		t.Errorf("no clean-stop log line in:\n%s", logs)
	}

	endpoint, _ = start(t, cfg, dir, &elbdtest.Logs{})
	c = client(t, endpoint)
	gotLB, err := c.ShowLoadBalancer(&model.ShowLoadBalancerRequest{LoadbalancerId: lb.Loadbalancer.Id})
	if err != nil {
		t.Fatal(err)
	}
	if gotLB.Loadbalancer.VipAddress != lb.Loadbalancer.VipAddress || !gotLB.Loadbalancer.IpTargetEnable || gotLB.Loadbalancer.Name != "kept" {
		t.Errorf("LB after restart %+v", gotLB.Loadbalancer)
	}
	gotL, err := c.ShowListener(&model.ShowListenerRequest{ListenerId: l.Id})
	if err != nil || gotL.Listener.DefaultPoolId != p.Id {
		t.Errorf("listener after restart: %v %+v", err, gotL)
	}
	gotP, err := c.ShowPool(&model.ShowPoolRequest{PoolId: p.Id})
	if err != nil || gotP.Pool.HealthmonitorId != hm.Healthmonitor.Id || len(gotP.Pool.Members) != 2 {
		t.Errorf("pool after restart: %v %+v", err, gotP)
	}
	after, err := c.ListAllMembers(&model.ListAllMembersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(*after.Members) != 2 {
		t.Fatalf("%d members after restart, want 2", len(*after.Members))
	}
	for i, m := range *after.Members {
		b := (*before.Members)[i]
		if m.Id != b.Id || m.Address != b.Address || m.Weight != b.Weight || *m.MemberType != *b.MemberType || *m.CreatedAt != *b.CreatedAt {
			t.Errorf("member %d after restart %+v, before %+v", i, m, b)
		}
	}
	// The next VIP does not reuse the kept LB's.
	lb2, err := c.CreateLoadBalancer(&model.CreateLoadBalancerRequest{Body: &model.CreateLoadBalancerRequestBody{
		Loadbalancer: &model.CreateLoadBalancerOption{VipSubnetCidrId: ptr("subnet-a1")}}})
	if err != nil || lb2.Loadbalancer.VipAddress == lb.Loadbalancer.VipAddress {
		t.Errorf("second LB: %v %+v", err, lb2)
	}
}

func TestFlagAndConfigErrors(t *testing.T) {
	cfg := writeConfig(t)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("credentials: []\nvpcs:\n  - id: v\n    cidr: 127.0.0.1/8\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--data-dir", t.TempDir()}, "--config is required"},
		{[]string{"--config", cfg}, "--data-dir is required"},
		{[]string{"--config", cfg, "--data-dir", t.TempDir(), "extra"}, `unexpected argument "extra"`},
		{[]string{"--config", "/nonexistent.yaml", "--data-dir", t.TempDir()}, "reading config"},
		{[]string{"--config", bad, "--data-dir", t.TempDir()}, "at least one access key"},
		{[]string{"--config", bad, "--data-dir", t.TempDir()}, "did you mean 127.0.0.0/8"},
		{[]string{"--config", cfg, "--data-dir", t.TempDir(), "--log-level", "loud"}, "--log-level"},
		{[]string{"--config", cfg, "--data-dir", t.TempDir(), "--api-address", "256.0.0.1:1"}, "--api-address"},
		// F1: plain HTTP beyond loopback is refused before anything listens; TLS needs both files.
		{[]string{"--config", cfg, "--data-dir", t.TempDir(), "--api-address", "0.0.0.0:9080"}, "pass --insecure-http"},
		{[]string{"--config", cfg, "--data-dir", t.TempDir(), "--api-address", ":9080"}, "give --tls-cert and --tls-key"},
		{[]string{"--config", cfg, "--data-dir", t.TempDir(), "--tls-cert", cfg}, "--tls-cert and --tls-key go together"},
		{[]string{"--config", cfg, "--data-dir", t.TempDir(), "--tls-cert", cfg, "--tls-key", cfg}, "--tls-cert " + cfg},
		// O10: the console's login form carries a secret key: the same rule as the API's.
		{[]string{"--config", cfg, "--data-dir", t.TempDir(), "--console-address", "0.0.0.0:9090"}, "refusing to serve the web console over plain HTTP on 0.0.0.0:9090"},
		{[]string{"--config", cfg, "--data-dir", t.TempDir(), "--console-address", "127.0.0.1:99999"}, "--console-address 127.0.0.1:99999"},
		// K9: the kernel data plane needs a namespace of its own; only proxy or kernel.
		{[]string{"--config", cfg, "--data-dir", t.TempDir(), "--dataplane", "kernel"}, "--dataplane kernel needs --netns NAME"},
		{[]string{"--config", cfg, "--data-dir", t.TempDir(), "--dataplane", "ebpf"}, `--dataplane "ebpf": use proxy or kernel`},
		{[]string{"--config", cfg, "--data-dir", t.TempDir(), "--dataplane", "kernel", "--netns", "a/b"}, "no slashes"},
	} {
		err := run(context.Background(), c.args, &elbdtest.Logs{}, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("elbd %v: error %v, want it to mention %q", c.args, err, c.want)
		}
	}
	// A data dir another elbd holds is refused with a clear message.
	dir := t.TempDir()
	start(t, cfg, dir, &elbdtest.Logs{})
	err := run(context.Background(), []string{"--config", cfg, "--data-dir", dir, "--api-address", "127.0.0.1:0"}, &elbdtest.Logs{}, nil)
	if err == nil || !strings.Contains(err.Error(), "another elbd") {
		t.Errorf("second elbd on one data dir: %v", err)
	}
}

// elbdProc is a built elbd running as its own process.
type elbdProc struct {
	cmd  *exec.Cmd
	logs *elbdtest.Logs
}

// buildElbd builds this command into the test's temporary directory.
func buildElbd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "elbd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startElbdProc runs bin with args and waits until it serves; the test's cleanup kills it.
func startElbdProc(t *testing.T, bin string, args ...string) *elbdProc {
	t.Helper()
	p := &elbdProc{logs: &elbdtest.Logs{}}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stderr = p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.cmd.Process.Kill(); _, _ = p.cmd.Process.Wait() })
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(p.logs.String(), "elbd serving") {
		if time.Now().After(deadline) {
			t.Fatalf("elbd did not start:\n%s", p.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return p
}

func (p *elbdProc) api() string {
	s := p.logs.String()
	s = s[strings.Index(s, "api=http://")+len("api="):]
	return strings.Fields(s)[0]
}

// The built binary stops cleanly on SIGTERM, and its logs hold no secret.
func TestBinaryStopsOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	p := startElbdProc(t, buildElbd(t), "--config", writeConfig(t), "--data-dir", t.TempDir(), "--api-address", "127.0.0.1:0")
	addr := p.api()
	if _, err := client(t, addr).ListLoadBalancers(&model.ListLoadBalancersRequest{}); err != nil {
		t.Fatalf("list via the binary: %v", err)
	}
	if _, err := client(t, addr).ShowLoadBalancer(&model.ShowLoadBalancerRequest{LoadbalancerId: "x"}); err == nil {
		t.Fatal("show of an unknown LB succeeded")
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("elbd exited with %v after SIGTERM:\n%s", err, p.logs)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("elbd did not stop after SIGTERM")
	}
	out := p.logs.String()
	if !strings.Contains(out, "elbd stopped") || !strings.Contains(out, "status=404") {
		t.Errorf("logs lack the stop line or request lines:\n%s", out)
	}
	if strings.Contains(out, "SK1-secret") {
		t.Error("logs contain the secret key")
	}
}
