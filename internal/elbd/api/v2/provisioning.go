package apiv2

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// Provisioning statuses (the SDK's v2 model_loadbalancer_resp.go provisioning_status, and the
// *_in_status_resp.go models of ShowLoadbalancersStatus).
const (
	StatusActive        = "ACTIVE"
	StatusPendingCreate = "PENDING_CREATE"
	StatusPendingUpdate = "PENDING_UPDATE"
	StatusPendingDelete = "PENDING_DELETE"
)

// provisioning makes the shared ELB asynchronous the way the real one is (E2): after a write, the
// load balancer and the object written report a PENDING_* provisioning_status for delay, and any
// other write to that load balancer meanwhile is refused 409, as Neutron LBaaS (which the shared
// ELB's v2 API follows) refuses writes to an immutable load balancer with "Invalid state
// PENDING_UPDATE of loadbalancer resource <id>". Writes to one load balancer are also serialized:
// one in flight holds the load balancer like a pending window does. delay 0 keeps elbd synchronous.
//
// The state lives in memory: after a restart every load balancer is ACTIVE.
type provisioning struct {
	delay time.Duration
	now   func() time.Time

	mu  sync.Mutex
	lbs map[string]*window
	// gone holds deleted load balancers, shown PENDING_DELETE until their window ends.
	gone map[string]tombstone
}

type tombstone struct {
	until time.Time
	lb    loadBalancerResp
}

// window is one load balancer's busy spell.
type window struct {
	inFlight bool
	until    time.Time
	lbStatus string
	objects  map[string]string // object ID → its pending status
}

func newProvisioning(delay time.Duration) *provisioning {
	return &provisioning{delay: delay, now: time.Now, lbs: map[string]*window{}, gone: map[string]tombstone{}}
}

// enabled reports whether writes have a pending window at all.
func (p *provisioning) enabled() bool { return p != nil && p.delay > 0 }

// current is lbID's window if it is still open (the caller holds mu).
func (p *provisioning) current(lbID string) *window {
	w, ok := p.lbs[lbID]
	if !ok {
		return nil
	}
	if !w.inFlight && !p.now().Before(w.until) {
		delete(p.lbs, lbID)
		return nil
	}
	return w
}

// begin claims lbID for one write, or answers the 409 of a busy load balancer.
func (p *provisioning) begin(lbID string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if w := p.current(lbID); w != nil {
		st := w.lbStatus
		if w.inFlight {
			st = StatusPendingUpdate
		}
		return apierr.Conflict("Invalid state %s of loadbalancer resource %s: the shared load balancer is still applying an earlier change; wait until its provisioning_status is ACTIVE (ShowLoadbalancer) and retry", st, lbID)
	}
	p.lbs[lbID] = &window{inFlight: true}
	return nil
}

// end closes a write begun on lbID (begin, or a create of the load balancer itself). A failed
// write leaves the load balancer as it was; a successful one opens the pending window, with
// lbStatus for the load balancer and objStatus for objID (when there is one). deleted drops the
// load balancer's window (it is gone).
func (p *provisioning) end(lbID string, ok bool, lbStatus, objID, objStatus string, deleted bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !ok || deleted {
		delete(p.lbs, lbID)
		return
	}
	w := &window{until: p.now().Add(p.delay), lbStatus: lbStatus, objects: map[string]string{}}
	if objID != "" && objID != lbID {
		w.objects[objID] = objStatus
	}
	p.lbs[lbID] = w
}

// bury shows the deleted load balancer lb as PENDING_DELETE for the window.
func (p *provisioning) bury(lb loadBalancerResp) {
	p.mu.Lock()
	defer p.mu.Unlock()
	lb.ProvisioningStatus = StatusPendingDelete
	p.gone[lb.ID] = tombstone{until: p.now().Add(p.delay), lb: lb}
}

// buried is the deleted load balancer id while it is still PENDING_DELETE.
func (p *provisioning) buried(id string) (loadBalancerResp, bool) {
	if !p.enabled() {
		return loadBalancerResp{}, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.gone[id]
	if ok && !p.now().Before(t.until) {
		delete(p.gone, id)
		ok = false
	}
	return t.lb, ok
}

// status is the provisioning_status of object id of load balancer lbID (id == lbID for the load
// balancer itself): its pending status while lbID's window is open, else ACTIVE.
func (p *provisioning) status(lbID, id string) string {
	if !p.enabled() {
		return StatusActive
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	w := p.current(lbID)
	if w == nil || w.inFlight {
		return StatusActive
	}
	if id == lbID {
		return w.lbStatus
	}
	if st, ok := w.objects[id]; ok {
		return st
	}
	return StatusActive
}

// writeTarget is what a v2 write touches: the load balancer it belongs to ("" for a new load
// balancer), and the object named in the path ("" for creates).
type writeTarget struct {
	lbID, objID string
	create      bool
	deleteLB    bool
}

// target works out which load balancer the write r (matched by pattern) belongs to. ok is false
// when it cannot tell (an unknown parent, a malformed body): the handler then answers the error.
func (h *Handler) target(r *http.Request, pattern string, sc store.Scope) (writeTarget, bool) {
	method, path, _ := strings.Cut(pattern, " ")
	path = strings.TrimPrefix(path, "/v2/{project_id}/elb/")
	t := writeTarget{create: method == http.MethodPost, objID: r.PathValue("id")}
	var err error
	switch {
	case path == "loadbalancers":
		return t, true
	case strings.HasPrefix(path, "loadbalancers/"):
		t.lbID, t.deleteLB = t.objID, method == http.MethodDelete
		_, err = h.st.GetLoadBalancer(sc, t.lbID)
	case path == "listeners":
		t.lbID = bodyField(r, "listener", "loadbalancer_id")
	case strings.HasPrefix(path, "listeners/"):
		var l store.Listener
		l, err = h.st.GetListener(sc, t.objID)
		t.lbID = l.LoadBalancerID
	case path == "pools":
		t.lbID = bodyField(r, "pool", "loadbalancer_id")
		if lid := bodyField(r, "pool", "listener_id"); t.lbID == "" && lid != "" {
			var l store.Listener
			l, err = h.st.GetListener(sc, lid)
			t.lbID = l.LoadBalancerID
		}
	case strings.HasPrefix(path, "pools/{pool_id}/members"):
		var p store.Pool
		p, err = h.st.GetPool(sc, r.PathValue("pool_id"))
		t.lbID = p.LoadBalancerID
	case strings.HasPrefix(path, "pools/"):
		var p store.Pool
		p, err = h.st.GetPool(sc, t.objID)
		t.lbID = p.LoadBalancerID
	case path == "healthmonitors":
		var p store.Pool
		p, err = h.st.GetPool(sc, bodyField(r, "healthmonitor", "pool_id"))
		t.lbID = p.LoadBalancerID
	case strings.HasPrefix(path, "healthmonitors/"):
		var m store.HealthMonitor
		m, err = h.st.GetHealthMonitor(sc, t.objID)
		t.lbID = m.LoadBalancerID
	}
	if err != nil || t.lbID == "" {
		return t, false
	}
	if _, err := h.st.GetLoadBalancer(sc, t.lbID); err != nil {
		return t, false
	}
	return t, true
}

// bodyField reads {"<object>": {"<field>": "..."}} from r's body and puts the body back.
func bodyField(r *http.Request, object, field string) string {
	data, err := io.ReadAll(io.LimitReader(r.Body, apierr.MaxBody+1))
	r.Body = io.NopCloser(bytes.NewReader(data))
	if err != nil {
		return ""
	}
	var env map[string]map[string]any
	if json.Unmarshal(data, &env) != nil {
		return ""
	}
	s, _ := env[object][field].(string)
	return s
}

// createdID is the "id" of the one object in a create's response body {"<kind>": {"id": ...}}.
func createdID(body any) string {
	data, err := json.Marshal(body)
	if err != nil {
		return ""
	}
	var env map[string]json.RawMessage
	if json.Unmarshal(data, &env) != nil {
		return ""
	}
	for _, raw := range env {
		var obj struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(raw, &obj) == nil && obj.ID != "" {
			return obj.ID
		}
	}
	return ""
}

// serveWrite runs the write fn under the pending-window rules of provisioning.
func (h *Handler) serveWrite(fn handlerFunc, pattern string, r *http.Request, sc store.Scope) (int, any, error) {
	t, ok := h.target(r, pattern, sc)
	if !ok {
		// A load balancer deleted within the window is still PENDING_DELETE to its project:
		// a write to it is busy (409), as it is shown, not a 404 (E2).
		if gone, buried := h.prov.buried(t.lbID); buried && gone.ProjectID == sc.ProjectID {
			return 0, nil, apierr.Conflict("Invalid state %s of loadbalancer resource %s: the shared load balancer is being deleted; wait until ShowLoadbalancer answers 404", StatusPendingDelete, t.lbID)
		}
		return fn(r, sc)
	}
	if t.lbID != "" {
		if err := h.prov.begin(t.lbID); err != nil {
			return 0, nil, err
		}
	}
	// A handler that panics (net/http recovers it) must not leave the load balancer held.
	returned := false
	defer func() {
		if !returned && t.lbID != "" {
			h.prov.end(t.lbID, false, "", "", "", false)
		}
	}()
	var before any
	if t.deleteLB {
		_, before, _ = h.showLoadBalancer(r, sc) // shown PENDING_DELETE once deleted
	}
	status, body, err := fn(r, sc)
	returned = true
	succeeded := err == nil && status < 300
	if succeeded && t.deleteLB {
		if m, ok := before.(map[string]any); ok {
			if lb, ok := m["loadbalancer"].(loadBalancerResp); ok {
				h.prov.bury(lb)
			}
		}
	}
	switch {
	case t.lbID == "": // a new load balancer
		if succeeded {
			if id := createdID(body); id != "" {
				h.prov.end(id, true, StatusPendingCreate, "", "", false)
				body = withLBStatus(body, StatusPendingCreate)
			}
		}
	case t.create:
		h.prov.end(t.lbID, succeeded, StatusPendingUpdate, createdID(body), StatusPendingCreate, false)
	default:
		h.prov.end(t.lbID, succeeded, StatusPendingUpdate, t.objID, StatusPendingUpdate, t.deleteLB)
	}
	if succeeded && t.lbID != "" && !t.deleteLB {
		body = withLBStatus(body, h.prov.status(t.lbID, t.lbID))
	}
	return status, body, err
}

// withLBStatus sets provisioning_status in a load balancer response, which was rendered before
// its window opened; other bodies pass unchanged.
func withLBStatus(body any, status string) any {
	m, ok := body.(map[string]any)
	if !ok {
		return body
	}
	if lb, ok := m["loadbalancer"].(loadBalancerResp); ok {
		lb.ProvisioningStatus = status
		m["loadbalancer"] = lb
	}
	return m
}
