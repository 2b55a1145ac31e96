package main

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"

	"github.com/fleetlb/fleetlb/internal/common/promtext"
	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
	"github.com/fleetlb/fleetlb/internal/elbd/membertest"
)

// TestMetricsMoveAfterTrafficAndChecks: O7, elbd's /metrics on --metrics-address after an
// action: API requests by operation and status (also refused and unknown ones), connections and
// bytes per listener and member, and a health transition when a member stops answering.
func TestMetricsMoveAfterTrafficAndChecks(t *testing.T) {
	cfg, dir := writeConfig(t), t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t, "127.0.0.1"))
	metrics := "http://" + addr + "/metrics"
	endpoint, _ := startWith(t, cfg, dir, "--metrics-address", addr)
	c := client(t, endpoint)
	before := scrape(t, metrics)
	if n := before.Sum("elbd_api_requests_total", map[string]string{"operation": "POST /v3/elb/loadbalancers"}); n != 0 {
		t.Fatalf("load balancer creations before any: %v", n)
	}

	port, stopMember := membertest.Serve(t, "127.10.1.10:0", "hello from vm-1")
	_, l, p, ms := elbdtest.Serving(t, c, "127.10.1.78", elbdtest.Member{Address: "127.10.1.10", Port: port})
	m := ms[0]
	if _, err := c.CreateHealthMonitor(&model.CreateHealthMonitorRequest{Body: &model.CreateHealthMonitorRequestBody{
		Healthmonitor: &model.CreateHealthMonitorOption{PoolId: p.Id, Type: "TCP", Delay: 1, Timeout: 1, MaxRetries: 1}}}); err != nil {
		t.Fatal(err)
	}
	// 10 connections answered through the VIP.
	vip := fmt.Sprintf("127.10.1.78:%d", l.ProtocolPort)
	answered := 0
	for deadline := time.Now().Add(10 * time.Second); answered < 10 && time.Now().Before(deadline); {
		if name, err := membertest.Ask(vip); err == nil && name == "hello from vm-1" {
			answered++
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if answered < 10 {
		t.Fatalf("%d of 10 connections answered", answered)
	}
	// An unsigned request and a path no API serves.
	for _, path := range []string{"/v3/p1/elb/loadbalancers", "/nothing/here"} {
		resp, err := http.Get(endpoint + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}

	after := scrape(t, metrics)
	member := map[string]string{"member": m.Id}
	listener := map[string]string{"listener": l.Id}
	for _, c := range []struct {
		name  string
		match map[string]string
		min   float64
	}{
		{"elbd_api_requests_total", map[string]string{"operation": "POST /v3/elb/loadbalancers", "code": "201"}, 1},
		{"elbd_api_requests_total", map[string]string{"operation": "POST /v3/elb/pools/{id}/members", "code": "201"}, 1},
		{"elbd_api_requests_total", map[string]string{"operation": "unauthenticated", "code": "401"}, 1},
		{"elbd_api_requests_total", map[string]string{"operation": "unknown", "code": "404"}, 1},
		{"elbd_api_request_duration_seconds", map[string]string{"operation": "POST /v3/elb/listeners"}, 1},
		{"elbd_member_connections_total", member, 10},
		{"elbd_member_bytes_out_total", member, 10 * 16},
		{"elbd_listener_connections_total", listener, 10},
		{"elbd_listener_bytes_out_total", listener, 10 * 16},
	} {
		if got := after.Sum(c.name, c.match); got < c.min {
			t.Errorf("%s%v = %v, want at least %v", c.name, c.match, got, c.min)
		}
	}

	// The member stops answering: its health check marks it down, and the transition is counted.
	downBefore := after.Sum("elbd_member_health_transitions_total", map[string]string{"to": "down"})
	stopMember()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if scrape(t, metrics).Sum("elbd_member_health_transitions_total", map[string]string{"to": "down"}) > downBefore {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no health transition to down counted after the member stopped answering")
		}
	}
}

// scrape reads elbd's metrics at url (http://ADDRESS/metrics).
func scrape(t *testing.T, url string) promtext.Families {
	t.Helper()
	f, err := promtext.Fetch(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
