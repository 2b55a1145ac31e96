// Package faults is elbd's test-only fault injector (F6): an HTTP middleware in front of the API
// that answers some calls the way the real cloud's API sometimes answers a fleet of clients, so
// that clients (elbclient's retries, the controllers) are tested against them over real HTTP.
// It is off unless elbd's config has a `faults:` section (config.Faults), which picks a seeded
// random fraction of calls; tests of clients may instead script the faults of the next writes
// (Script, Every). Injector is the only fault injector of the repository: elbd's server wires it
// (server.Options.Config.Faults) and client tests put it in front of elbd's handler.
//
// What each fault looks like, and why:
//
//   - Busy (409 ELB.8907 "Invalid state PENDING_UPDATE of loadbalancer resource <id>"), writes
//     only: a shared load balancer still applying an earlier change, as elbd's own busy window
//     answers it (internal/elbd/api/v2/provisioning.go, E2, after Neutron LBaaS's StateInvalid;
//     the load balancer's provisioning_status is v2 model_loadbalancer_resp.go, v3
//     model_load_balancer.go). The call is not made; the next two reads of a load balancer show
//     it PENDING_UPDATE, so a client waiting for ACTIVE sees the wait.
//   - ServerError (500 ELB.0001, apierr.CodeInternal): the call is not made.
//   - Throttle (429 APIG.0308, throttle.Code, as internal/elbd/throttle answers, E3): the call is
//     not made.
//   - Timeout: the call is held past the client's timeout (config.Faults.TimeoutHold), not made,
//     and its connection closed without a reply.
//   - Lost: the call is made and committed, then its connection closed without a reply (the
//     client cannot tell whether it was done: elbclient's C5 path).
package faults

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/auth"
	"github.com/fleetlb/fleetlb/internal/elbd/config"
	"github.com/fleetlb/fleetlb/internal/elbd/throttle"
)

// Kind is one kind of fault; "" (None) passes a call through.
type Kind string

// The kinds of fault (see the package doc).
const (
	None        Kind = ""
	Busy        Kind = "409-busy"
	ServerError Kind = "500"
	Throttle    Kind = "429"
	Timeout     Kind = "timeout"
	Lost        Kind = "lost"
)

// Kinds are all the faults, in the order a random draw tries them.
var Kinds = []Kind{Busy, ServerError, Throttle, Timeout, Lost}

// maxLog bounds Log's memory in long runs.
const maxLog = 10000

// Injector sits in front of elbd's API handler Next. The zero value with Next set passes every
// call through until Script or Every is used; New adds the random faults of a config section.
// It is safe for concurrent use.
type Injector struct {
	Next http.Handler

	mu sync.Mutex
	// The random faults (New): fractions in Kinds' order, drawn from rng.
	fractions []float64
	rng       *rand.Rand
	keys      map[string]bool // nil: every access key
	hold      time.Duration
	log       *slog.Logger
	// The scripted faults of writes: script first, then every round-robin.
	script, every []Kind
	n             int
	busyReads     int
	seen          []string
	injected      map[Kind]int
	answered      map[int]int
}

// New returns an Injector in front of next that faults the fractions of calls spec asks for,
// drawn from a random source seeded with spec.Seed, and logs each fault it injects to log (nil:
// discarded). spec nil injects nothing (until Script or Every).
func New(next http.Handler, spec *config.Faults, log *slog.Logger) *Injector {
	i := &Injector{Next: next, log: log}
	if spec == nil {
		return i
	}
	i.fractions = []float64{spec.Busy, spec.ServerError, spec.Throttle, spec.Timeout, spec.LostResponse}
	i.rng = rand.New(rand.NewPCG(spec.Seed, spec.Seed^0x9e3779b97f4a7c15))
	i.hold = spec.Hold()
	if len(spec.AccessKeys) > 0 {
		i.keys = map[string]bool{}
		for _, k := range spec.AccessKeys {
			i.keys[k] = true
		}
	}
	return i
}

// Script sets the faults of the next writes (requests other than GET), and clears the log.
func (i *Injector) Script(faults ...Kind) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.script, i.seen = faults, nil
}

// Every sets the faults of writes used round-robin once the script is done (None passes one
// through); none stops them.
func (i *Injector) Every(faults ...Kind) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.every, i.n = faults, 0
}

// Log is "METHOD path -> fault" of the requests since the last Script (the last maxLog).
func (i *Injector) Log() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return strings.Join(i.seen, "\n")
}

// Injected counts the faults injected so far, by kind.
func (i *Injector) Injected() map[Kind]int {
	i.mu.Lock()
	defer i.mu.Unlock()
	out := map[Kind]int{}
	for k, v := range i.injected {
		out[k] = v
	}
	return out
}

// Answered counts the writes the API behind answered with status code (not injected faults).
func (i *Injector) Answered(code int) int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.answered[code]
}

// pick chooses r's fault and notes it (the caller holds mu).
func (i *Injector) pick(r *http.Request) Kind {
	write := r.Method != http.MethodGet && r.Method != http.MethodHead
	fault := None
	switch {
	case write && len(i.script) > 0:
		fault, i.script = i.script[0], i.script[1:]
	case write && len(i.every) > 0:
		fault = i.every[i.n%len(i.every)]
		i.n++
	case i.rng != nil && (i.keys == nil || i.keys[auth.AccessKeyOf(r)]):
		// One draw per call, faulted or not, so the sequence depends only on the calls' order.
		u, sum := i.rng.Float64(), 0.0
		for k, f := range i.fractions {
			if sum += f; u < sum {
				fault = Kinds[k]
				break
			}
		}
		if fault == Busy && !write {
			fault = None // the busy 409 refuses writes; reads of a busy load balancer succeed
		}
	}
	if len(i.seen) < maxLog {
		i.seen = append(i.seen, r.Method+" "+r.URL.Path+" -> "+string(fault))
	}
	if fault != None {
		if i.injected == nil {
			i.injected = map[Kind]int{}
		}
		i.injected[fault]++
	}
	return fault
}

// ServeHTTP answers r with its fault, or passes it to Next.
func (i *Injector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i.mu.Lock()
	fault := i.pick(r)
	pending := false
	if fault == Busy {
		i.busyReads = 2
	} else if r.Method == http.MethodGet && i.busyReads > 0 && isLoadBalancer(r.URL.Path) {
		i.busyReads--
		pending = true
	}
	hold := i.hold
	i.mu.Unlock()
	if fault != None && i.log != nil {
		i.log.Info("fault injected", "fault", string(fault), "method", r.Method, "path", r.URL.Path)
	}
	switch fault {
	case Busy:
		// The words of elbd's busy window (internal/elbd/api/v2/provisioning.go begin), which
		// elbclient's waitActive recognises by "PENDING_".
		apierr.Write(w, r, apierr.Conflict("Invalid state PENDING_UPDATE of loadbalancer resource %s: the load balancer is still applying an earlier change; wait until its provisioning_status is ACTIVE and retry (fault injected by elbd's faults: section)", loadBalancerOf(r.URL.Path)))
		return
	case ServerError:
		apierr.Write(w, r, &apierr.Error{Status: http.StatusInternalServerError, Code: apierr.CodeInternal, Msg: "internal server error (fault injected by elbd's faults: section); retry"})
		return
	case Throttle:
		apierr.Write(w, r, &apierr.Error{Status: http.StatusTooManyRequests, Code: throttle.Code, Msg: "The throttling threshold has been reached: policy user over ratelimit,limit:0,time:1 second (fault injected by elbd's faults: section)"})
		return
	case Timeout:
		if hold <= 0 {
			hold = config.DefaultTimeoutHold
		}
		t := time.NewTimer(hold)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done(): // the client gave up first
		}
		panic(http.ErrAbortHandler) // close the connection, no reply (not logged by net/http)
	}
	rec := apierr.NewRecorder()
	i.Next.ServeHTTP(rec, r)
	if r.Method != http.MethodGet {
		i.mu.Lock()
		if i.answered == nil {
			i.answered = map[int]int{}
		}
		i.answered[rec.Code]++
		i.mu.Unlock()
	}
	if fault == Lost {
		panic(http.ErrAbortHandler) // done and committed; the reply is dropped
	}
	body := rec.Body.Bytes()
	if pending {
		body = showPending(body)
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}

// isLoadBalancer: path reads one load balancer (v3 .../elb/loadbalancers/{id}, v2 .../elb/loadbalancers/{id}).
func isLoadBalancer(path string) bool {
	_, after, ok := strings.Cut(path, "/elb/loadbalancers/")
	return ok && after != "" && !strings.Contains(after, "/")
}

// loadBalancerOf is the load balancer a path names, or "(unknown)" when it names none.
func loadBalancerOf(path string) string {
	if _, after, ok := strings.Cut(path, "/loadbalancers/"); ok {
		id, _, _ := strings.Cut(after, "/")
		if id != "" {
			return id
		}
	}
	return "(unknown)"
}

// showPending rewrites a load balancer's provisioning_status to PENDING_UPDATE.
func showPending(body []byte) []byte {
	var doc map[string]any
	if json.Unmarshal(body, &doc) != nil {
		return body
	}
	lb, ok := doc["loadbalancer"].(map[string]any)
	if !ok {
		return body
	}
	lb["provisioning_status"] = "PENDING_UPDATE"
	out, err := json.Marshal(doc)
	if err != nil {
		return body
	}
	return out
}

var descInjected = prometheus.NewDesc("elbd_faults_injected_total", "API calls answered with an injected fault (elbd's test-only faults: section), by kind.", []string{"kind"}, nil)

// Describe implements prometheus.Collector.
func (i *Injector) Describe(ch chan<- *prometheus.Desc) { ch <- descInjected }

// Collect implements prometheus.Collector: elbd_faults_injected_total{kind}, every kind.
func (i *Injector) Collect(ch chan<- prometheus.Metric) {
	got := i.Injected()
	for _, k := range Kinds {
		ch <- prometheus.MustNewConstMetric(descInjected, prometheus.CounterValue, float64(got[k]), string(k))
	}
}

// String summarises the counts, "409-busy=3 500=1 ...", for logs and test reports.
func (i *Injector) String() string {
	got := i.Injected()
	var b strings.Builder
	for n, k := range Kinds {
		if n > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", k, got[k])
	}
	return b.String()
}
