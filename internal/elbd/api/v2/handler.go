// Package apiv2 serves the shared ("union") ELB API under /v2/{project_id}/elb/: load balancers,
// listeners, pools, members and health monitors with the envelopes and field names of the
// official SDK's services/elb/v2 model. The store enforces every rule both API families share; this
// package only translates v2 requests and responses and applies v2 defaults.
//
// Requests reach it through elbd's router, already authenticated and carrying a request ID and
// the project (apierr.RequestID, apierr.ProjectID).
//
// SDK calls served (services/elb/v2 ElbClient): Create/Show/List/Update/DeleteLoadbalancer,
// ShowLoadbalancersStatus, Create/Show/List/Update/DeleteListener, Create/Show/List/Update/DeletePool,
// Create/Show/List/Update/DeleteMember, CreateHealthmonitor, ShowHealthmonitors, ListHealthmonitors,
// Update/DeleteHealthmonitor, and the listener tags (tags.go). Not served (404 APIGW.0101): load
// balancer tags, *ByTags, whitelists and
// certificates; TERMINATED_HTTPS listeners are refused (400) since there are no certificates.
package apiv2

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/fleetlb/fleetlb/internal/elbd/api/handler"
	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// StatusSource reports live operating statuses (ONLINE, OFFLINE, NO_MONITOR); elbd's data plane
// (api.DataPlane) is one.
type StatusSource interface {
	MemberStatus(memberID string) string
	ListenerStatus(listenerID string) string
	// ListenerDataPlane is what serves a listener's traffic (api.DataPlane), "" for none.
	ListenerDataPlane(listenerID string) string
}

// Handler is the v2 API.
type Handler struct {
	st     *store.Store
	status StatusSource
	prov   *provisioning
	mux    *http.ServeMux

	// The answers of the calls that yield one record, per kind.
	replyLB       handler.Reply[store.LoadBalancer]
	replyListener handler.Reply[store.Listener]
	replyPool     handler.Reply[store.Pool]
	replyMember   handler.Reply[store.Member]
	replyMonitor  handler.Reply[store.HealthMonitor]
}

// Option configures the v2 API.
type Option func(*Handler)

// WithProvisioningDelay makes the shared load balancers asynchronous (E2): after a write, the load
// balancer and the object written are PENDING_* for d and other writes to the load balancer get a
// 409. 0 (the default) keeps every write synchronous.
func WithProvisioningDelay(d time.Duration) Option {
	return func(h *Handler) { h.prov = newProvisioning(d) }
}

// New returns the v2 API over st; status answers operating_status fields.
func New(st *store.Store, status StatusSource, opts ...Option) *Handler {
	h := &Handler{st: st, status: status, mux: http.NewServeMux()}
	for _, o := range opts {
		o(h)
	}
	h.replyLB = replier(h.load, "loadbalancer", (*views).loadBalancer)
	h.replyListener = replier(h.statusViews, "listener", (*views).listener)
	h.replyPool = replier(h.load, "pool", (*views).pool)
	h.replyMember = replier(h.statusViews, "member", (*views).member)
	h.replyMonitor = replier(h.statusViews, "healthmonitor", (*views).healthMonitor)
	const p = "/v2/{project_id}/elb"
	routes := slices.Concat(
		handler.CRUD(p+"/loadbalancers", withBody("loadbalancer", h.createLoadBalancer), h.listLoadBalancers,
			h.showLoadBalancer, withBody("loadbalancer", h.updateLoadBalancer), handler.Delete(h.st.DeleteLoadBalancer)),
		[]handler.Route{{Pattern: "GET " + p + "/loadbalancers/{id}/statuses", Fn: h.showStatuses}},
		handler.CRUD(p+"/listeners", withBody("listener", h.createListener), h.listListeners,
			handler.Show(h.st.GetListener, h.replyListener), withBody("listener", h.updateListener), handler.Delete(h.st.DeleteListener)),
		handler.CRUD(p+"/pools", withBody("pool", h.createPool), h.listPools,
			handler.Show(h.st.GetPool, h.replyPool), withBody("pool", h.updatePool), handler.Delete(h.st.DeletePool)),
		handler.CRUD(p+"/pools/{pool_id}/members", withBody("member", h.createMember), h.listMembers,
			h.showMember, withBody("member", h.updateMember), h.deleteMember),
		handler.CRUD(p+"/healthmonitors", withBody("healthmonitor", h.createHealthMonitor), h.listHealthMonitors,
			handler.Show(h.st.GetHealthMonitor, h.replyMonitor), withBody("healthmonitor", h.updateHealthMonitor),
			handler.Delete(h.st.DeleteHealthMonitor)),
	)
	for _, rt := range routes {
		fn, pattern := rt.Fn, rt.Pattern
		if h.prov.enabled() && !strings.HasPrefix(pattern, http.MethodGet+" ") {
			fn = func(r *http.Request, sc store.Scope) (int, any, error) { return h.serveWrite(rt.Fn, pattern, r, sc) }
		}
		h.mux.Handle(pattern, h.serve(fn))
	}
	h.tagRoutes()
	return h
}

func (h *Handler) serve(fn handlerFunc) http.Handler { return handler.Serve(store.FamilyV2, fn) }

// ServeHTTP answers unknown paths and methods with the API's 404 envelope, not the mux's text.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := h.mux.Handler(r); pattern == "" {
		apierr.Write(w, r, &apierr.Error{Status: http.StatusNotFound, Code: apierr.CodeAPINotExist,
			Msg: "no such API: " + r.Method + " " + r.URL.Path + " (shared load balancer API, /v2/{project_id}/elb/...)"})
		return
	}
	h.mux.ServeHTTP(w, r)
}

// handlerFunc is the handler shape both API versions share (internal/elbd/api/handle).
type handlerFunc = handler.Func

// withBody is fn with the {"<key>": {...}} request body of a create or update decoded into a T
// beforehand (decodeBody); a body that does not decode is answered without calling fn.
func withBody[T any](key string, fn func(*http.Request, store.Scope, *T) (int, any, error)) handlerFunc {
	return func(r *http.Request, sc store.Scope) (int, any, error) {
		req, err := decodeBody[T](r, key)
		if err != nil {
			return 0, nil, err
		}
		return fn(r, sc, req)
	}
}

// decodeBody reads a {"<key>": {...}} request body into a T; a missing key is a 400 that shows
// the expected shape. Unknown fields are tolerated, as the real API does.
func decodeBody[T any](r *http.Request, key string) (*T, error) {
	var env map[string]json.RawMessage
	if err := apierr.Decode(r, &env); err != nil {
		return nil, err
	}
	raw, ok := env[key]
	if !ok || string(raw) == "null" {
		return nil, apierr.Invalid("the request body must be a JSON object {%q: {...}}", key)
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && apierr.FieldPath(te) != "" {
			return nil, apierr.Invalid("%s.%s must be a JSON %s, got %s", key, apierr.FieldPath(te), jsonKind(te.Type.Kind()), te.Value)
		}
		return nil, apierr.Invalid("%s must be a JSON object: %v", key, err)
	}
	return &v, nil
}

func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.Bool:
		return "boolean"
	case reflect.String:
		return "string"
	case reflect.Int, reflect.Int32, reflect.Int64:
		return "integer"
	case reflect.Slice:
		return "array"
	default:
		return "object"
	}
}
