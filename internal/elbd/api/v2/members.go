package apiv2

import (
	"net/http"

	"github.com/fleetlb/fleetlb/internal/elbd/api/wire"
	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

func (h *Handler) createMember(r *http.Request, sc store.Scope, req *memberReq) (int, any, error) {
	// subnet_id is required here: shared load balancers have no IP-type members (the store says so too).
	if err := wire.Required("member", wire.Given("address", req.Address), wire.Given("protocol_port", req.ProtocolPort)); err != nil {
		return 0, nil, err
	}
	m, err := h.st.CreateMember(sc, r.PathValue("pool_id"), req.New(wire.Or(req.SubnetID, "")))
	return h.replyMember(r, sc, http.StatusCreated, m, err)
}

func (h *Handler) showMember(r *http.Request, sc store.Scope) (int, any, error) {
	m, err := h.st.GetMember(sc, r.PathValue("pool_id"), r.PathValue("id"))
	return h.replyMember(r, sc, http.StatusOK, m, err)
}

func (h *Handler) updateMember(r *http.Request, sc store.Scope, req *memberReq) (int, any, error) {
	if req.Address != nil || req.ProtocolPort != nil || req.SubnetID != nil {
		return 0, nil, apierr.Invalid("address, protocol_port and subnet_id of a member cannot change; add a new member and delete this one")
	}
	m, err := h.st.UpdateMember(sc, r.PathValue("pool_id"), r.PathValue("id"), func(m *store.Member) error {
		req.MemberChange.Apply(m)
		return nil
	})
	return h.replyMember(r, sc, http.StatusOK, m, err)
}

func (h *Handler) deleteMember(r *http.Request, sc store.Scope) (int, any, error) {
	return http.StatusNoContent, nil, h.st.DeleteMember(sc, r.PathValue("pool_id"), r.PathValue("id"))
}

// memberFilters are the filters of the SDK's v2 ListMembersRequest.
var memberFilters = []string{"id", "name", "address", "protocol_port", "subnet_id", "admin_state_up", "weight", "enterprise_project_id"}

func (h *Handler) listMembers(r *http.Request, sc store.Scope) (int, any, error) {
	return list(r, "members", memberFilters, func() ([]item, error) {
		v := &views{status: h.status}
		ms, err := h.st.ListMembers(sc, r.PathValue("pool_id"))
		return items(ms, err, func(m store.Member) item {
			return item{id: m.ID, body: v.member(m), extra: map[string][]string{"enterprise_project_id": {"0"}}}
		})
	})
}
