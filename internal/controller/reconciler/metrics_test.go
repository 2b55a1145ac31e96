package reconciler

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/promtext"
	"github.com/fleetlb/fleetlb/internal/controller/deploy"
	"github.com/fleetlb/fleetlb/internal/controller/model"
	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// scrape reads url (a /metrics endpoint) and sums the series name{labels} (labels "k=v,k=v").
func scrape(t *testing.T, url, name, labels string) float64 {
	t.Helper()
	fams, err := promtext.Fetch(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	match := map[string]string{}
	for _, kv := range strings.Split(labels, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			match[k] = v
		}
	}
	return fams.Sum(name, match)
}

// TestMetricsMoveAfterAReconcile: O6, the controller's /metrics after a reconcile against elbd's
// API: the reconcile counted as a success, the ELB API calls by operation and status code, the
// members owned and the requested vs effective weight of the Service port; then a reconcile
// against an ELB that cannot be reached counted as an error with its reason.
func TestMetricsMoveAfterAReconcile(t *testing.T) {
	srv := elbdtest.Start(t, elbdtest.Config, elbdtest.Options{})
	lb, err := srv.Store.CreateLoadBalancer(store.Scope{Family: store.FamilyV3, ProjectID: "p1"},
		store.LoadBalancer{Name: "shared", VIPSubnetID: "subnet-a1", IPTargetEnable: true, AdminStateUp: true})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	client, err := elbclient.New(elbclient.Config{Endpoint: srv.URL, ProjectID: "p1", AK: "AK1", SK: "SK1-secret",
		OnResponse: m.ObserveELBCall, Retry: elbclient.Retry{Attempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, seedService("nginx", map[string]string{model.AnnotationELBID: lb.ID}), readySlice("nginx", "127.10.1.5", "127.10.1.6"))
	h.r.Metrics = m
	h.r.Settings.SubnetID = "subnet-a1"
	h.r.Deployer = deploy.New(client, deploy.Options{})
	metrics := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer metrics.Close()
	url := metrics.URL + "/metrics"

	if n := scrape(t, url, "fleetlb_reconciles_total", "result=success"); n != 0 {
		t.Fatalf("reconciles before any: %v", n)
	}
	h.mustReconcile("nginx")
	port := "namespace=shop,service=nginx,protocol=TCP,port=80"
	for _, c := range []struct {
		name, labels string
		want         float64
	}{
		{"fleetlb_reconciles_total", "result=success", 1},
		{"fleetlb_elb_api_requests_total", "operation=POST /v3/elb/listeners,code=201", 1},
		{"fleetlb_elb_api_request_duration_seconds", "operation=POST /v3/elb/listeners", 1},
		{"fleetlb_members", port, 2},
		{"fleetlb_weight_requested", port, 80},
		{"fleetlb_weight_effective_sum", port, 80},
	} {
		if got := scrape(t, url, c.name, c.labels); got != c.want {
			t.Errorf("%s{%s} = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if got := scrape(t, url, "fleetlb_elb_api_requests_total", "code=200"); got < 1 {
		t.Errorf("no read counted with code 200 (%v)", got)
	}

	srv.Close()
	if _, err := h.reconcile("nginx"); err == nil {
		t.Fatal("reconcile against a closed ELB API succeeded")
	}
	if got := scrape(t, url, "fleetlb_reconciles_total", "result=error"); got != 1 {
		t.Errorf("failed reconciles %v, want 1", got)
	}
	if got := scrape(t, url, "fleetlb_reconcile_errors_total", "reason=elb_unreachable"); got != 1 {
		t.Errorf("errors by reason elb_unreachable: %v, want 1", got)
	}
}
