//go:build linux

package docs

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fleetlb/fleetlb/internal/common/promtext"
	"github.com/fleetlb/fleetlb/internal/controller/reconciler"
	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
)

// descNames records the names of the metrics registered with it.
type descNames struct {
	prometheus.Registerer
	names map[string]bool
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (d descNames) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 64)
	go func() { c.Describe(ch); close(ch) }()
	for desc := range ch {
		if m := fqName.FindStringSubmatch(desc.String()); m != nil {
			d.names[m[1]] = true
		}
	}
	return d.Registerer.Register(c)
}

// elbdMetricNames are the families elbd's /metrics serves once it has a load balancer with a
// listener, a pool and a member and has answered API calls.
func elbdMetricNames(t *testing.T) map[string]bool {
	srv := elbdtest.Start(t, elbdtest.Config, elbdtest.Options{RealDataPlane: true})
	c := elbdtest.V3Client(t, srv.URL, "AK1", "SK1-secret", "p1")
	elbdtest.Serving(t, c, "127.10.1.91", elbdtest.Member{Address: "127.10.1.92", Port: 18081})
	// The data plane takes up the new member asynchronously (elbd's runtime follows the store):
	// read until its per-member families are served, for at most 10 s.
	names := map[string]bool{}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		fams, err := promtext.Fetch(context.Background(), srv.MetricsURL)
		if err != nil {
			t.Fatal(err)
		}
		for n := range fams {
			names[n] = true
		}
		// elbd_member_up is served per member (elbd_member_health_transitions_total, always).
		if names["elbd_member_up"] || time.Now().After(deadline) {
			return names
		}
	}
}

// TestGrafanaDashboardQueriesExistingMetrics: O8, every fleetlb_* and elbd_* metric the
// dashboard's PromQL queries is one the programs register (the controller's, gathered from its
// registration) or serve (elbd's /metrics).
func TestGrafanaDashboardQueriesExistingMetrics(t *testing.T) {
	data, err := os.ReadFile("grafana/fleetlb.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("grafana/fleetlb.json: %v", err)
	}
	known := descNames{Registerer: prometheus.NewRegistry(), names: map[string]bool{}}
	reconciler.NewMetrics(known)
	for n := range elbdMetricNames(t) {
		known.names[n] = true
	}
	metric := regexp.MustCompile(`\b(?:fleetlb|elbd)_[a-z0-9_]+\b`)
	queried := 0
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			for _, name := range metric.FindAllString(tg.Expr, -1) {
				queried++
				base := name
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if b, ok := strings.CutSuffix(name, suffix); ok && known.names[b] {
						base = b
					}
				}
				if !known.names[base] {
					t.Errorf("panel %q queries %s, which neither program registers", p.Title, name)
				}
			}
		}
	}
	if queried < 20 {
		t.Errorf("the dashboard queries only %d metrics", queried)
	}

	// O9: the README's list of metrics names every fleetlb_* and elbd_* metric the programs have
	// (elbd's per-listener and per-member families by their prefix).
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for name := range known.names {
		if !metric.MatchString(name) {
			continue // Go and process metrics
		}
		listed := strings.Contains(string(readme), "`"+name)
		for _, family := range []string{"elbd_listener_", "elbd_member_"} {
			listed = listed || strings.HasPrefix(name, family) && strings.Contains(string(readme), "`"+family+"*`")
		}
		if !listed {
			t.Errorf("README.md does not list the metric %s", name)
		}
	}
}
