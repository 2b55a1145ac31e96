package api

import (
	"net/http"
	"slices"
	"time"

	"github.com/fleetlb/fleetlb/internal/elbd/api/handler"
	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// v3 serves /v3/{project_id}/elb/...: the dedicated ("performance") ELB API, in the shapes of the
// official SDK's services/elb/v3/model.
type v3 struct {
	st *store.Store
	dp DataPlane
}

func newV3(st *store.Store, dp DataPlane) *http.ServeMux {
	h := &v3{st: st, dp: dp}
	mux := http.NewServeMux()
	h.routes(mux)
	h.tagRoutes(mux)
	return mux
}

const v3Prefix = "/v3/{project_id}/elb/"

func (h *v3) routes(mux *http.ServeMux) {
	handle := routeOn(mux, v3Prefix)
	for _, rt := range slices.Concat(
		handler.CRUD("loadbalancers", withCreate("loadbalancer", h.createLoadBalancer), h.listLoadBalancers,
			handler.Show(h.st.LoadBalancerSeenFromV3, h.replyLB), // shared ones too, guaranteed=false (E8)
			withBody("loadbalancer", h.updateLoadBalancer), handler.Delete(h.st.DeleteLoadBalancer)),
		handler.CRUD("listeners", withCreate("listener", h.createListener), h.listListeners,
			handler.Show(h.st.GetListener, replyListener), withBody("listener", h.updateListener), handler.Delete(h.st.DeleteListener)),
		handler.CRUD("pools", withCreate("pool", h.createPool), h.listPools, handler.Show(h.st.GetPool, h.replyPool),
			h.updatePool, handler.Delete(h.st.DeletePool)),
		handler.CRUD("pools/{pool_id}/members", withCreate("member", h.createMember), h.listMembers,
			h.showMember, withBody("member", h.updateMember), h.deleteMember),
		handler.CRUD("healthmonitors", withCreate("healthmonitor", h.createHealthMonitor), h.listHealthMonitors,
			handler.Show(h.st.GetHealthMonitor, replyMonitor), withBody("healthmonitor", h.updateHealthMonitor),
			handler.Delete(h.st.DeleteHealthMonitor)),
	) {
		handle(rt.Pattern, rt.Fn)
	}
	// The cascading deletes remove a resource with everything under it.
	handle("DELETE loadbalancers/{id}/force-elb", handler.Delete(h.st.DeleteLoadBalancerCascade))
	handle("GET loadbalancers/{id}/statuses", h.showLoadBalancerStatus)
	handle("DELETE listeners/{id}/force", handler.Delete(h.st.DeleteListenerCascade))
	handle("DELETE pools/{id}/delete-cascade", handler.Delete(h.st.DeletePoolCascade))
	handle("POST pools/{pool_id}/members/batch-add", h.batchAddMembers)
	handle("POST pools/{pool_id}/members/batch-delete", h.batchDeleteMembers)
	handle("POST pools/{pool_id}/members/batch-update", h.batchUpdateMembers)
	handle("GET members", h.listAllMembers)
	handle("GET quotas", h.showQuota)
	handle("GET quotas/details", h.listQuotaDetails)
}

// routeOn registers v3 handlers on mux: pattern is "METHOD path", the path under prefix.
func routeOn(mux *http.ServeMux, prefix string) func(pattern string, fn handler.Func) {
	return func(pattern string, fn handler.Func) {
		method, path, _ := cut(pattern)
		mux.Handle(method+" "+prefix+path, handler.Serve(store.FamilyV3, fn))
	}
}

func cut(pattern string) (method, path string, ok bool) {
	for i := 0; i < len(pattern); i++ {
		if pattern[i] == ' ' {
			return pattern[:i], pattern[i+1:], true
		}
	}
	return "", pattern, false
}

// timeFormat is how the real API writes created_at/updated_at.
const timeFormat = "2006-01-02T15:04:05Z"

func ts(t time.Time) string { return t.UTC().Format(timeFormat) }

// answered answers a call that yields one resource: err for the error envelope, or v rendered
// under key with status.
func answered[T, W any](r *http.Request, status int, key string, v T, err error, render func(T) W) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	return replied(r, status, key, render(v))
}

// replyOf is the handler.Reply of a kind whose body is the record alone, rendered under key.
func replyOf[T, W any](key string, render func(T) W) handler.Reply[T] {
	return func(r *http.Request, _ store.Scope, status int, v T, err error) (int, any, error) {
		return answered(r, status, key, v, err, render)
	}
}

// replied is a resource response: {key: v, "request_id": ...} with the given status.
func replied(r *http.Request, status int, key string, v any) (int, any, error) {
	return status, map[string]any{key: v, "request_id": apierr.RequestID(r)}, nil
}

// gone answers a delete: err for the error envelope, or 204 No Content.
func gone(err error) (int, any, error) { return http.StatusNoContent, nil, err }

// bodyFunc is a handler that gets its request body decoded.
type bodyFunc[T any] func(r *http.Request, sc store.Scope, in *T) (int, any, error)

// withBody is fn with the {"<key>": {...}} body of an update decoded beforehand; a body that does
// not decode is answered without calling fn.
func withBody[T any](key string, fn bodyFunc[T]) handler.Func {
	return func(r *http.Request, sc store.Scope) (int, any, error) {
		var in T
		if err := decodeWrapped(r, key, &in); err != nil {
			return 0, nil, err
		}
		return fn(r, sc, &in)
	}
}

// withCreate is withBody for a create, whose body may name only the URL's project.
func withCreate[T interface{ project() *string }](key string, fn bodyFunc[T]) handler.Func {
	return withBody(key, func(r *http.Request, sc store.Scope, in *T) (int, any, error) {
		if err := checkBodyProject(sc, (*in).project()); err != nil {
			return 0, nil, err
		}
		return fn(r, sc, in)
	})
}

// decodeWrapped decodes {"<key>": {...}} into v; a missing key is a 400 naming it.
func decodeWrapped(r *http.Request, key string, v any) error {
	var env map[string]jsonRaw
	if err := apierr.Decode(r, &env); err != nil {
		return err
	}
	raw, ok := env[key]
	if !ok || string(raw) == "null" {
		return apierr.Invalid("request body must be a JSON object with a %q object", key)
	}
	return decodeRaw(raw, key, v)
}

func ref(id string) map[string]string { return map[string]string{"id": id} }

func refs(ids ...string) []map[string]string {
	out := make([]map[string]string, 0, len(ids))
	for _, id := range ids {
		if id != "" {
			out = append(out, ref(id))
		}
	}
	return out
}
