package api

import (
	"net/http"

	"github.com/fleetlb/fleetlb/internal/elbd/api/statustree"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// v3Statuses are the data plane's operating statuses; v3 writes are synchronous, so every
// object is ACTIVE.
type v3Statuses struct{ DataPlane }

func (v3Statuses) Provisioning(string) string { return "ACTIVE" }

func (h *v3) showLoadBalancerStatus(r *http.Request, sc store.Scope) (int, any, error) {
	tree, err := statustree.Read(h.st, sc, r.PathValue("id"), v3Statuses{h.dp})
	if err != nil {
		return 0, nil, err
	}
	return replied(r, http.StatusOK, "statuses", map[string]any{"loadbalancer": tree})
}
