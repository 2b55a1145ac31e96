package reconciler

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/elbclient/elbtest"
	"github.com/fleetlb/fleetlb/internal/controller/model"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// elbdCalls counts the calls elbd answers: tag writes and reads apart; log has every call
// ("GET /v3/...?query") in order.
type elbdCalls struct {
	tagWrites atomic.Int64
	gets      *atomic.Int64 // the server's Reads
	mu        sync.Mutex
	log       []string
}

func (c *elbdCalls) counts() (tagWrites, gets int) {
	return int(c.tagWrites.Load()), int(c.gets.Load())
}

// fleetHarness is the unit harness with a Fleet on elbd (over HTTP, the official SDK): one
// dedicated ELB with a TCP/80 listener, a clock the test moves.
func fleetHarness(t *testing.T, services ...string) (*harness, *elbdCalls, *time.Time) {
	t.Helper()
	calls := &elbdCalls{}
	e := elbtest.Serve(t, `
credentials:
  - {accessKey: AK-HB, secretKey: SK-hb-secret, projectID: p-hb}
vpcs:
  - id: vpc-1
    cidr: 127.0.0.0/8
    subnets:
      - {id: subnet-1, cidr: 127.16.0.0/16}
      - {id: subnet-vip, cidr: 127.250.0.0/24}
`, elbtest.Options{Front: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet && strings.Contains(r.URL.Path, "/tags") {
				calls.tagWrites.Add(1)
			}
			calls.mu.Lock()
			calls.log = append(calls.log, r.Method+" "+r.URL.RequestURI())
			calls.mu.Unlock()
			h.ServeHTTP(w, r)
		})
	}})
	calls.gets = &e.Reads
	lb := e.LoadBalancer(t, store.FamilyV3, "p-hb", store.LoadBalancer{Name: "shared", VIPSubnetID: "subnet-vip", IPTargetEnable: true})
	if _, err := e.Store.CreateListener(store.Scope{Family: store.FamilyV3, ProjectID: "p-hb"}, store.Listener{LoadBalancerID: lb.ID, Protocol: "TCP", ProtocolPort: 80, AdminStateUp: true, ConnectionLimit: -1}); err != nil {
		t.Fatal(err)
	}
	c := e.Client(t, elbclient.Config{ProjectID: "p-hb", AK: "AK-HB", SK: "SK-hb-secret", Timeout: 10 * time.Second, QPS: 1000, Burst: 1000})
	var objs []client.Object
	for _, name := range services {
		objs = append(objs, seedService(name, map[string]string{model.AnnotationELBID: lb.ID}), readySlice(name, "127.16.0.1"))
	}
	hn := newHarness(t, objs...)
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	hn.r.Fleet = NewFleet(&Fleet{ELB: c, ClusterID: "cluster-a", InstallID: "install1", Heartbeat: time.Minute,
		Now: func() time.Time { return now }}, prometheus.NewRegistry())
	return hn, calls, &now
}

// F12: two Services of this cluster on one listener (blue and green in one pool) refresh this
// cluster's record there once per heartbeat period between them, not once each; a Service
// whose listener had its heartbeat within the period reads nothing.
func TestF12HeartbeatOncePerListener(t *testing.T) {
	h, calls, now := fleetHarness(t, "blue", "green")
	h.mustReconcile("blue")
	h.mustReconcile("green")
	if w, _ := calls.counts(); w != 1 {
		t.Fatalf("binding two Services on one listener wrote its fleet record %d times, want 1", w)
	}
	for period := 1; period <= 3; period++ {
		*now = now.Add(time.Minute)
		h.mustReconcile("blue")
		_, readsBefore := calls.counts()
		h.mustReconcile("green")
		w, reads := calls.counts()
		if w != 1+period {
			t.Fatalf("after %d heartbeat periods with both Services reconciled in each: %d record writes, want %d (one per listener per period)", period, w, 1+period)
		}
		if reads != readsBefore {
			t.Errorf("period %d: green, whose listener blue had just refreshed, read the fleet records (%d GETs)", period, reads-readsBefore)
		}
	}
	for _, name := range []string{"blue", "green"} {
		if v := h.get(name).Annotations[model.AnnotationFleetView]; !strings.Contains(v, "cluster-a: requested 80") {
			t.Errorf("%s's fleet view %q lacks this cluster's record", name, v)
		}
	}
}

// F12: once a Service is bound, reconciles with nothing changed write nothing to the Service,
// also across heartbeats (the fleet view's "as of" alone does not rewrite it), and raise no Event.
func TestF12IdleReconcileWritesNothing(t *testing.T) {
	h, calls, now := fleetHarness(t, "web")
	h.mustReconcile("web")
	svc := h.get("web")
	if !strings.HasPrefix(svc.Annotations[model.AnnotationFleetView], "as of ") {
		t.Fatalf("no fleet view: %v", svc.Annotations)
	}
	_ = h.events()
	rv := svc.ResourceVersion
	for range 3 {
		*now = now.Add(time.Minute)
		h.mustReconcile("web")
		h.mustReconcile("web")
	}
	if got := h.get("web"); got.ResourceVersion != rv {
		t.Errorf("idle reconciles over three heartbeats changed the Service (resourceVersion %s -> %s), fleet view now %q", rv, got.ResourceVersion, got.Annotations[model.AnnotationFleetView])
	}
	if evs := h.events(); len(evs) > 0 {
		t.Errorf("idle reconciles raised Events: %v", evs)
	}
	if w, _ := calls.counts(); w != 4 {
		t.Errorf("%d record writes, want 4: the first and one per heartbeat", w)
	}
	// A change of the view (another weight) is written.
	h.update("web", func(s *corev1.Service) { s.Annotations[model.AnnotationWeight] = "40" })
	h.mustReconcile("web")
	if v := h.get("web").Annotations[model.AnnotationFleetView]; !strings.Contains(v, "cluster-a: requested 40") {
		t.Errorf("the view did not follow the weight change: %q", v)
	}
}

func TestSameView(t *testing.T) {
	a := "as of 2026-12-05T12:00:00Z\nTCP/80: cluster-a: requested 80 (100.0%)"
	for _, c := range []struct {
		b    string
		same bool
	}{
		{"as of 2026-12-05T12:05:00Z\nTCP/80: cluster-a: requested 80 (100.0%)", true},
		{"as of 2026-12-05T12:05:00Z\nTCP/80: cluster-a: requested 40 (100.0%)", false},
		{"", false},
	} {
		if got := sameView(a, c.b); got != c.same {
			t.Errorf("sameView(%q, %q) = %t", a, c.b, got)
		}
	}
}
