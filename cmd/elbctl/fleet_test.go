package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/common/fleetrecord"
	"github.com/fleetlb/fleetlb/internal/common/ownership"
	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
)

// sharedListener makes, with elbctl against elbd's v3 API, a listener on port 80 whose pool
// holds two members of cluster uid-a (weights 30, 30), one of cluster uid-b (20) and a VM added
// by hand (20). It returns the environment, the load balancer, listener and member IDs by name.
func sharedListener(t *testing.T, extra map[string]string) (e func(string) string, lbID, listenerID string, ids []string) {
	t.Helper()
	srv := elbdtest.Start(t, elbdtest.Config, elbdtest.Options{})
	vars := map[string]string{"HUAWEICLOUD_SDK_AK": "AK1", "HUAWEICLOUD_SDK_SK": "SK1-secret",
		"HUAWEICLOUD_SDK_PROJECT_ID": "p1", "ELB_ENDPOINT": srv.URL}
	for k, v := range extra {
		vars[k] = v
	}
	e = env(vars)
	lbID = cliJSON[obj](t, e, "lb", "create", "--name", "edge", "--vip-subnet-id", "subnet-a1")["id"].(string)
	listenerID = cliJSON[obj](t, e, "listener", "create", "--lb", lbID, "--protocol", "TCP", "--port", "80")["id"].(string)
	poolID := cliJSON[obj](t, e, "pool", "create", "--listener", listenerID, "--protocol", "TCP", "--algorithm", "ROUND_ROBIN")["id"].(string)
	name := func(cluster string) string {
		return ownership.MemberName(ownership.ServiceRef{ClusterID: cluster, Namespace: "shop", Name: "web"}, 80)
	}
	for i, m := range []struct{ name, weight string }{{name("uid-a"), "30"}, {name("uid-a"), "30"}, {name("uid-b"), "20"}, {"vm-1", "20"}} {
		got := cliJSON[obj](t, e, "member", "add", "--pool", poolID, "--address", fmt.Sprintf("127.10.1.%d", 30+i), "--port", "8080",
			"--weight", m.weight, "--subnet-id", "subnet-a1", "--name", m.name)
		ids = append(ids, got["id"].(string))
	}
	return e, lbID, listenerID, ids
}

// TestListenerShowByOwner: O3, the per-owner table under the listener's details, found by ID or
// by load balancer and port, as a table, JSON and YAML.
func TestListenerShowByOwner(t *testing.T) {
	e, lbID, listenerID, _ := sharedListener(t, nil)
	table := cli(t, e, "listener", "show", listenerID)
	for _, want := range []string{"protocol_port      80", "OWNER", "REQUESTED WEIGHT", "EXPECTED SHARE",
		"\nuid-a   2        60*", "60.0%", "\nuid-b   1        20*", "20.0%", "\nmanual  1        20*", "* no weight recorded"} {
		if !strings.Contains(table, want) {
			t.Errorf("listener show lacks %q:\n%s", want, table)
		}
	}
	if strings.Contains(table, "MEASURED") {
		t.Errorf("listener show claims a measurement:\n%s", table)
	}
	byPort := cliJSON[obj](t, e, "listener", "show", "--lb", lbID, "--port", "80")
	owners, _ := byPort["owners"].(map[string]any)
	rows, _ := owners["owners"].([]any)
	if byPort["id"] != listenerID || len(rows) != 3 {
		t.Fatalf("listener show --lb --port -o json: %v", byPort)
	}
	first := rows[0].(map[string]any)
	if first["owner"] != "uid-a" || first["effectiveWeight"] != 60.0 || first["expectedShare"] != 0.6 || first["members"] != 2.0 {
		t.Errorf("first owner %v", first)
	}
	// uid-a's owner record in the listener's tags: its requested weight is shown as recorded.
	api, err := elbclient.New(elbclient.Config{Endpoint: e("ELB_ENDPOINT"), ProjectID: "p1", AK: "AK1", SK: "SK1-secret"})
	if err != nil {
		t.Fatal(err)
	}
	tag, err := fleetrecord.Encode(fleetrecord.Record{ClusterID: "uid-a", Weight: 75, Heartbeat: time.Now().Truncate(time.Second), InstallID: fleetrecord.NewInstallID()})
	if err != nil {
		t.Fatal(err)
	}
	if err := api.API(elbrules.ClassPerformance).TagListener(context.Background(), listenerID, []elbclient.Tag{{Key: tag.Key, Value: tag.Value}}); err != nil {
		t.Fatal(err)
	}
	if table := cli(t, e, "listener", "show", listenerID); !strings.Contains(table, "\nuid-a   2        75  ") || !strings.Contains(table, "\nuid-b   1        20*") {
		t.Errorf("listener show with uid-a's record:\n%s", table)
	}
	// uid-b's record with a heartbeat older than the TTL (T13): uid-b is shown stale.
	old, err := fleetrecord.Encode(fleetrecord.Record{ClusterID: "uid-b", Weight: 20, Heartbeat: time.Now().Add(-fleetrecord.DefaultTTL - time.Minute).Truncate(time.Second), InstallID: fleetrecord.NewInstallID()})
	if err != nil {
		t.Fatal(err)
	}
	if err := api.API(elbrules.ClassPerformance).TagListener(context.Background(), listenerID, []elbclient.Tag{{Key: old.Key, Value: old.Value}}); err != nil {
		t.Fatal(err)
	}
	if table := cli(t, e, "listener", "show", listenerID); !strings.Contains(table, "\nuid-b (stale)") || strings.Contains(table, "uid-a (stale)") {
		t.Errorf("listener show with uid-b's old record: uid-b should be marked stale, uid-a not:\n%s", table)
	}
	var y map[string]any
	if err := yaml.Unmarshal([]byte(cli(t, e, "listener", "show", listenerID, "-o", "yaml")), &y); err != nil || y["id"] != listenerID || y["owners"] == nil {
		t.Errorf("-o yaml: %v %v", y, err)
	}
	// Naming errors, with their exit codes.
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"listener", "show"}, exitUsage, "its ID, or --lb LB --port PORT"},
		{[]string{"listener", "show", listenerID, "--lb", lbID, "--port", "80"}, exitUsage, "not both"},
		{[]string{"listener", "show", "--lb", lbID}, exitUsage, "missing --port"},
		{[]string{"listener", "show", "--lb", lbID, "--port", "81"}, exitNotFound, "has no listener on port 81"},
		{[]string{"listener", "show", "no-such-listener"}, exitNotFound, "HTTP 404"},
	} {
		code, _, stderr := runCLI(t, e, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want exit %d with %q", c.args, code, stderr, c.code, c.want)
		}
	}
}

// fakeMetrics serves elbd_member_connections_total as elbd's /metrics does; every scrape after
// the first finds the counters grown by step.
type fakeMetrics struct {
	mu      sync.Mutex
	counts  map[string]int
	step    map[string]int
	scrapes int
}

func (f *fakeMetrics) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.scrapes++; f.scrapes > 1 {
		for id, n := range f.step {
			f.counts[id] += n
		}
	}
	fmt.Fprintln(w, "# TYPE elbd_member_connections_total counter")
	for id, n := range f.counts {
		fmt.Fprintf(w, "elbd_member_connections_total{address=\"x\",member=%q,pool=\"p\"} %d\n", id, n)
	}
}

// TestTopMeasuresShares: O4, top refreshes the owners with the share of the connections counted
// between refreshes; without a metrics endpoint (the real ELB) it says measured shares are not
// available.
func TestTopMeasuresShares(t *testing.T) {
	m := &fakeMetrics{counts: map[string]int{}, step: map[string]int{}}
	metrics := httptest.NewServer(m)
	defer metrics.Close()
	e, lbID, listenerID, ids := sharedListener(t, map[string]string{"ELBD_METRICS_URL": metrics.URL + "/metrics"})
	// 1000 connections before the first refresh (they must not count); during each interval
	// uid-a 50+25, uid-b 15, the VM 10: 75%, 15%, 10%.
	for i, id := range ids {
		m.counts[id] = 250
		m.step[id] = []int{50, 25, 15, 10}[i]
	}
	out := cli(t, e, "top", "--lb", lbID, "--port", "80", "--interval", "300ms", "--count", "2")
	parts := strings.Split(out, "listener "+listenerID)
	if len(parts) != 3 {
		t.Fatalf("want 2 frames:\n%s", out)
	}
	if !strings.Contains(parts[1], "measuring") || strings.Contains(parts[1], "MEASURED SHARE") {
		t.Errorf("first frame:\n%s", parts[1])
	}
	for _, want := range []string{"MEASURED SHARE", "75.0%", "15.0%", "10.0%", "100 new connections in the last 300ms"} {
		if !strings.Contains(parts[2], want) {
			t.Errorf("second frame lacks %q:\n%s", want, parts[2])
		}
	}

	// Without a metrics endpoint.
	out = cli(t, e, "top", "--listener", listenerID, "--interval", "100ms", "--count", "1", "--metrics-url", "")
	if !strings.Contains(out, "measured shares are not available") || !strings.Contains(out, "60.0%") {
		t.Errorf("top without metrics:\n%s", out)
	}
	if code, _, stderr := runCLI(t, e, "top", "--listener", listenerID, "--metrics-url", "ftp://x"); code != exitUsage || !strings.Contains(stderr, "must be a URL") {
		t.Errorf("bad --metrics-url: exit %d %q", code, stderr)
	}
}
