package reconciler

import (
	"net/http"
	"strings"
	"testing"

	"github.com/fleetlb/fleetlb/internal/controller/deploy"
)

// F14: one bind (the fleet records read before Apply, Apply, the fleet view after it) sends each
// read once, and again only after a write; the load balancer is read once.
func TestF14ReconcileReadsEachOnce(t *testing.T) {
	h, calls, _ := fleetHarness(t, "web")
	h.r.Deployer = deploy.New(h.r.Fleet.ELB, deploy.Options{})
	h.mustReconcile("web")
	calls.mu.Lock()
	log := calls.log
	calls.mu.Unlock()
	seen := map[string]bool{}
	lbReads, writes := 0, 0
	for _, c := range log {
		method, uri, _ := strings.Cut(c, " ")
		if method != http.MethodGet {
			writes++
			clear(seen) // a write may change what the next read answers
			continue
		}
		if seen[uri] {
			t.Errorf("%s sent again with no write since, in one reconcile", c)
		}
		seen[uri] = true
		if path, _, _ := strings.Cut(uri, "?"); strings.Contains(path, "/elb/loadbalancers/") {
			lbReads++
		}
	}
	if lbReads != 1 {
		t.Errorf("the load balancer was read %d times in one reconcile, want 1", lbReads)
	}
	if writes == 0 || !strings.Contains(strings.Join(log, "\n"), "batch-add") {
		t.Errorf("the reconcile added no member (calls: %v)", log)
	}
}
