package apiv2

import (
	"net/http"

	"github.com/fleetlb/fleetlb/internal/elbd/api/statustree"
	"github.com/fleetlb/fleetlb/internal/elbd/api/wire"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// load reads what responses refer to beyond a record: listeners, pools and members of sc.
func (h *Handler) load(sc store.Scope) (*views, error) {
	v := &views{status: h.status, prov: h.prov}
	var err error
	if v.listeners, err = h.st.ListListeners(sc); err != nil {
		return nil, err
	}
	if v.pools, err = h.st.ListPools(sc); err != nil {
		return nil, err
	}
	if v.members, err = h.st.ListAllMembers(sc); err != nil {
		return nil, err
	}
	return v, nil
}

func (h *Handler) createLoadBalancer(r *http.Request, sc store.Scope, req *loadBalancerReq) (int, any, error) {
	if err := wire.Required("loadbalancer", wire.Given("vip_subnet_id", req.VIPSubnetID)); err != nil {
		return 0, nil, err
	}
	nlb := store.LoadBalancer{VIPSubnetID: *req.VIPSubnetID, VIPAddress: wire.Or(req.VIPAddress, ""), AdminStateUp: true}
	req.Named.Apply(&nlb.Name, &nlb.Description, &nlb.AdminStateUp)
	lb, err := h.st.CreateLoadBalancer(sc, nlb)
	return h.replyLB(r, sc, http.StatusCreated, lb, err)
}

func (h *Handler) showLoadBalancer(r *http.Request, sc store.Scope) (int, any, error) {
	lb, err := h.st.GetLoadBalancer(sc, r.PathValue("id"))
	if err != nil {
		// A load balancer deleted within the provisioning delay is still PENDING_DELETE (E2).
		if gone, ok := h.prov.buried(r.PathValue("id")); ok && gone.ProjectID == sc.ProjectID {
			return http.StatusOK, map[string]any{"loadbalancer": gone}, nil
		}
	}
	return h.replyLB(r, sc, http.StatusOK, lb, err)
}

func (h *Handler) updateLoadBalancer(r *http.Request, sc store.Scope, req *loadBalancerReq) (int, any, error) {
	lb, err := h.st.UpdateLoadBalancer(sc, r.PathValue("id"), func(lb *store.LoadBalancer) error {
		req.Named.Apply(&lb.Name, &lb.Description, &lb.AdminStateUp)
		return nil
	})
	return h.replyLB(r, sc, http.StatusOK, lb, err)
}

// loadBalancerFilters are the filters of the SDK's v2 ListLoadbalancersRequest.
var loadBalancerFilters = []string{"id", "name", "description", "operating_status", "provisioning_status", "vip_address",
	"vip_port_id", "vip_subnet_id", "vpc_id", "enterprise_project_id", "admin_state_up", "member_address", "member_device_id"}

func (h *Handler) listLoadBalancers(r *http.Request, sc store.Scope) (int, any, error) {
	return list(r, "loadbalancers", loadBalancerFilters, func() ([]item, error) {
		v, err := h.load(sc)
		if err != nil {
			return nil, err
		}
		lbs, err := h.st.ListLoadBalancers(sc)
		return items(lbs, err, func(lb store.LoadBalancer) item {
			addrs := v.memberAddresses(func(m store.Member) bool { return m.LoadBalancerID == lb.ID })
			return item{id: lb.ID, body: v.loadBalancer(lb), extra: map[string][]string{"member_address": addrs, "member_device_id": nil}}
		})
	})
}

// showStatuses is the status tree of a load balancer (ShowLoadbalancersStatus).
func (h *Handler) showStatuses(r *http.Request, sc store.Scope) (int, any, error) {
	id := r.PathValue("id")
	tree, err := statustree.Read(h.st, sc, id, v2Statuses{h.status, h.prov, id})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"statuses": map[string]any{"loadbalancer": tree}}, nil
}

// v2Statuses are the data plane's operating statuses and the provisioning window's
// provisioning statuses of one load balancer's objects.
type v2Statuses struct {
	StatusSource
	prov *provisioning
	lbID string
}

func (s v2Statuses) Provisioning(id string) string { return s.prov.status(s.lbID, id) }
