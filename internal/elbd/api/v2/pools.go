package apiv2

import (
	"encoding/json"
	"net/http"

	"github.com/fleetlb/fleetlb/internal/elbd/api/wire"
	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

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
	return &store.SessionPersistence{Type: sp.Type, CookieName: wire.Or(sp.CookieName, ""), PersistenceTimeout: wire.Or(sp.PersistenceTimeout, 0)}, true, nil
}

func (h *Handler) createPool(r *http.Request, sc store.Scope, req *poolReq) (int, any, error) {
	if err := wire.Required("pool", wire.Given("protocol", req.Protocol), wire.Given("lb_algorithm", req.LBAlgorithm)); err != nil {
		return 0, nil, err
	}
	if req.LoadBalancerID == nil && req.ListenerID == nil {
		return 0, nil, apierr.Invalid("pool.loadbalancer_id or pool.listener_id is required: name the load balancer, or the listener whose default pool this becomes")
	}
	sp, _, err := req.persistence()
	if err != nil {
		return 0, nil, err
	}
	np := store.Pool{Protocol: *req.Protocol, LBAlgorithm: *req.LBAlgorithm, LoadBalancerID: wire.Or(req.LoadBalancerID, ""),
		AdminStateUp: true, SessionPersistence: sp}
	req.Named.Apply(&np.Name, &np.Description, &np.AdminStateUp)
	p, err := h.st.CreatePool(sc, np, wire.Or(req.ListenerID, ""))
	return h.replyPool(r, sc, http.StatusCreated, p, err)
}

func (h *Handler) updatePool(r *http.Request, sc store.Scope, req *poolReq) (int, any, error) {
	if req.Protocol != nil || req.LoadBalancerID != nil || req.ListenerID != nil {
		return 0, nil, apierr.Invalid("protocol, loadbalancer_id and listener_id of a pool cannot change; bind a pool to a listener with the listener's default_pool_id")
	}
	sp, spSent, err := req.persistence()
	if err != nil {
		return 0, nil, err
	}
	p, err := h.st.UpdatePool(sc, r.PathValue("id"), func(p *store.Pool) error {
		wire.Set(&p.LBAlgorithm, req.LBAlgorithm)
		req.Named.Apply(&p.Name, &p.Description, &p.AdminStateUp)
		if spSent {
			p.SessionPersistence = sp
		}
		return nil
	})
	return h.replyPool(r, sc, http.StatusOK, p, err)
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
		return items(v.pools, nil, func(p store.Pool) item {
			addrs := v.memberAddresses(func(m store.Member) bool { return m.PoolID == p.ID })
			return item{id: p.ID, body: v.pool(p), extra: map[string][]string{
				"loadbalancer_id": {p.LoadBalancerID}, "member_address": addrs, "member_device_id": nil, "enterprise_project_id": {"0"}}}
		})
	})
}
