package api

import (
	"net/http"

	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// v3 serves /v3/{project_id}/elb/...: the dedicated ("performance") ELB API.
type v3 struct {
	st *store.Store
	dp DataPlane
}

func newV3(st *store.Store, dp DataPlane) *http.ServeMux {
	h := &v3{st: st, dp: dp}
	mux := http.NewServeMux()
	h.routes(mux)
	return mux
}

func (h *v3) routes(mux *http.ServeMux) {}
