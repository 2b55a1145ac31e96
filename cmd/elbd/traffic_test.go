package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	modelv2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"

	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
	"github.com/fleetlb/fleetlb/internal/elbd/membertest"
)

// freePort returns a TCP port free on addr right now.
func freePort(t *testing.T, host string) int {
	t.Helper()
	return elbdtest.FreePort(t, host)
}

// The wired elbd serves both API families and carries traffic from a listener to its members.
func TestServesTrafficAndBothFamilies(t *testing.T) {
	cfg, dir := writeConfig(t), t.TempDir()
	metrics := fmt.Sprintf("127.0.0.1:%d", freePort(t, "127.0.0.1"))
	ctxEndpoint, _ := startWith(t, cfg, dir, "--metrics-address", metrics)
	c := client(t, ctxEndpoint)

	port, _ := membertest.Serve(t, "127.10.1.10:0", "vm-1")
	lb, l, _, _ := elbdtest.Serving(t, c, "127.10.1.77", elbdtest.Member{Address: "127.10.1.10", Port: port})
	vip := fmt.Sprintf("127.10.1.77:%d", l.ProtocolPort)
	var got string
	for deadline := time.Now().Add(5 * time.Second); got != "vm-1" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		got, _ = membertest.Ask(vip)
	}
	if got != "vm-1" {
		t.Fatalf("connection to %s got %q, want the member's answer", vip, got)
	}
	st, err := c.ShowLoadBalancerStatus(&model.ShowLoadBalancerStatusRequest{LoadbalancerId: lb.Id})
	if err != nil {
		t.Fatal(err)
	}
	if s := *st.Statuses.Loadbalancer.Listeners[0].OperatingStatus; s != "ONLINE" {
		t.Errorf("listener %s, want ONLINE", s)
	}

	// The v2 family is mounted: a shared LB is created there; v3 shows it as guaranteed=false (E8).
	shared, err := elbdtest.V2Client(t, ctxEndpoint, "AK1", "SK1-secret", "p1").CreateLoadbalancer(&modelv2.CreateLoadbalancerRequest{Body: &modelv2.CreateLoadbalancerRequestBody{
		Loadbalancer: &modelv2.CreateLoadbalancerReq{VipSubnetId: "subnet-a1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.ShowLoadBalancer(&model.ShowLoadBalancerRequest{LoadbalancerId: shared.Loadbalancer.Id}); err != nil || got.Loadbalancer.Guaranteed {
		t.Errorf("v3 show of the shared LB: %v; want it with guaranteed=false", err)
	}

	resp, err := http.Get("http://" + metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "go_goroutines") {
		t.Errorf("metrics: %d, %d bytes", resp.StatusCode, len(body))
	}
}

// O10: --console-address serves the web console, which starts at its login page.
func TestConsoleAddressServesTheConsole(t *testing.T) {
	cfg, dir := writeConfig(t), t.TempDir()
	console := fmt.Sprintf("127.0.0.1:%d", freePort(t, "127.0.0.1"))
	startWith(t, cfg, dir, "--console-address", console)
	resp, err := http.Get("http://" + console + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/login" || !strings.Contains(string(body), `id="login-form"`) {
		t.Errorf("GET / on the console: %d at %s, want the login page", resp.StatusCode, resp.Request.URL.Path)
	}
}
