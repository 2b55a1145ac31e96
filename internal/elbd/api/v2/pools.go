package apiv2

import (
	"encoding/json"
	"net/http"

	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

type poolReq struct {
	Protocol       *string `json:"protocol"`
	LBAlgorithm    *string `json:"lb_algorithm"`
	LoadBalancerID *string `json:"loadbalancer_id"`
	ListenerID     *string `json:"listener_id"`
	Name           *string `json:"name"`
	Description    *string `json:"description"`
	AdminStateUp   *bool   `json:"admin_state_up"`
	// SessionPersistence is raw so that an update can tell null (turn off) from absent (keep).
	SessionPersistence json.RawMessage `json:"session_persistence"`
}

// persistence reads session_persistence: (value, true) when sent; nil for null.
func (q *poolReq) persistence() (*store.SessionPersistence, bool, error) {
	if len(q.SessionPersistence) == 0 {
		return nil, false, nil
	}
	var sp *sessionPersistence
	if err := json.Unmarshal(q.SessionPersistence, &sp); err != nil {
		return nil, false, apierr.Invalid("pool.session_persistence must be null or an object {\"type\": \"SOURCE_IP\"|\"HTTP_COOKIE\"|\"APP_COOKIE\", ...}")
	}
	if sp == nil {
		return nil, true, nil
	}
	return &store.SessionPersistence{Type: sp.Type, CookieName: or(sp.CookieName, ""), PersistenceTimeout: or(sp.PersistenceTimeout, 0)}, true, nil
}

// poolBody answers a call that yields one pool: its error, or the pool with status.
func (h *Handler) poolBody(sc store.Scope, p store.Pool, status int, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	v, err := h.load(sc)
	if err != nil {
		return 0, nil, err
	}
	return status, map[string]any{"pool": v.pool(p)}, nil
}

func (h *Handler) createPool(r *http.Request, sc store.Scope) (int, any, error) {
	req, err := decodeBody[poolReq](r, "pool")
	if err != nil {
		return 0, nil, err
	}
	if err := required("pool", has("protocol", req.Protocol), has("lb_algorithm", req.LBAlgorithm)); err != nil {
		return 0, nil, err
	}
	if req.LoadBalancerID == nil && req.ListenerID == nil {
		return 0, nil, apierr.Invalid("pool.loadbalancer_id or pool.listener_id is required: name the load balancer, or the listener whose default pool this becomes")
	}
	sp, _, err := req.persistence()
	if err != nil {
		return 0, nil, err
	}
	p, err := h.st.CreatePool(sc, store.Pool{
		Protocol: *req.Protocol, LBAlgorithm: *req.LBAlgorithm, LoadBalancerID: or(req.LoadBalancerID, ""),
		Name: or(req.Name, ""), Description: or(req.Description, ""), AdminStateUp: or(req.AdminStateUp, true),
		SessionPersistence: sp,
	}, or(req.ListenerID, ""))
	return h.poolBody(sc, p, http.StatusCreated, err)
}

func (h *Handler) showPool(r *http.Request, sc store.Scope) (int, any, error) {
	p, err := h.st.GetPool(sc, r.PathValue("id"))
	return h.poolBody(sc, p, http.StatusOK, err)
}

func (h *Handler) updatePool(r *http.Request, sc store.Scope) (int, any, error) {
	req, err := decodeBody[poolReq](r, "pool")
	if err != nil {
		return 0, nil, err
	}
	if req.Protocol != nil || req.LoadBalancerID != nil || req.ListenerID != nil {
		return 0, nil, apierr.Invalid("protocol, loadbalancer_id and listener_id of a pool cannot change; bind a pool to a listener with the listener's default_pool_id")
	}
	sp, spSent, err := req.persistence()
	if err != nil {
		return 0, nil, err
	}
	p, err := h.st.UpdatePool(sc, r.PathValue("id"), func(p *store.Pool) error {
		set(&p.LBAlgorithm, req.LBAlgorithm)
		set(&p.Name, req.Name)
		set(&p.Description, req.Description)
		set(&p.AdminStateUp, req.AdminStateUp)
		if spSent {
			p.SessionPersistence = sp
		}
		return nil
	})
	return h.poolBody(sc, p, http.StatusOK, err)
}

func (h *Handler) deletePool(r *http.Request, sc store.Scope) (int, any, error) {
	return http.StatusNoContent, nil, h.st.DeletePool(sc, r.PathValue("id"))
}

// poolFilters are the filters of the SDK's v2 ListPoolsRequest.
var poolFilters = []string{"id", "name", "description", "healthmonitor_id", "loadbalancer_id", "protocol", "lb_algorithm",
	"member_address", "member_device_id", "enterprise_project_id", "admin_state_up"}

func (h *Handler) listPools(r *http.Request, sc store.Scope) (int, any, error) {
	return list(r, "pools", poolFilters, func() ([]item, error) {
		v, err := h.load(sc)
		if err != nil {
			return nil, err
		}
		items := make([]item, 0, len(v.pools))
		for _, p := range v.pools {
			var addrs []string
			for _, m := range v.members {
				if m.PoolID == p.ID {
					addrs = append(addrs, m.Address)
				}
			}
			items = append(items, item{id: p.ID, body: v.pool(p), extra: map[string][]string{
				"loadbalancer_id": {p.LoadBalancerID}, "member_address": addrs, "member_device_id": nil, "enterprise_project_id": {"0"}}})
		}
		return items, nil
	})
}
