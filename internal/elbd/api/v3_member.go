package api

import (
	"net/http"

	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/elbd/api/wire"
	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// v3Member is the SDK's model.Member (and MemberInfo, BatchMember, BatchUpdateMember: the same
// fields plus a few) as elbd fills it.
type v3Member struct {
	ID               string           `json:"id"`
	AvailabilityZone string           `json:"availability_zone"`
	Name             string           `json:"name"`
	ProjectID        string           `json:"project_id"`
	PoolID           string           `json:"pool_id,omitempty"`
	LoadbalancerID   string           `json:"loadbalancer_id,omitempty"`
	AdminStateUp     bool             `json:"admin_state_up"`
	SubnetCidrID     *string          `json:"subnet_cidr_id,omitempty"`
	ProtocolPort     int              `json:"protocol_port"`
	Weight           int              `json:"weight"`
	Address          string           `json:"address"`
	IPVersion        string           `json:"ip_version"`
	OperatingStatus  string           `json:"operating_status"`
	Status           []v3MemberStatus `json:"status"`
	CreatedAt        string           `json:"created_at"`
	UpdatedAt        string           `json:"updated_at"`
	MemberType       string           `json:"member_type"`
	InstanceID       string           `json:"instance_id"`
	PortID           string           `json:"port_id"`
	RetStatus        string           `json:"ret_status,omitempty"`
}

type v3MemberStatus struct {
	ListenerID      string `json:"listener_id"`
	OperatingStatus string `json:"operating_status"`
}

// replyMember answers a call that yields one member of poolID: err, or the member.
func (h *v3) replyMember(r *http.Request, sc store.Scope, status int, poolID string, m store.Member, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	return replied(r, status, "member", h.poolMember(sc, poolID)(m))
}

// poolMember renders members of poolID, whose status names the listener the pool serves (read
// once).
func (h *v3) poolMember(sc store.Scope, poolID string) func(store.Member) v3Member {
	lid, _ := h.st.PoolListenerID(sc, poolID)
	return func(m store.Member) v3Member { return h.renderMember(m, lid, false) }
}

// renderMember fills a member response; listenerID is the listener its pool serves, if any.
func (h *v3) renderMember(m store.Member, listenerID string, global bool) v3Member {
	st := h.dp.MemberStatus(m.ID)
	out := v3Member{
		ID: m.ID, Name: m.Name, ProjectID: m.ProjectID, AdminStateUp: m.AdminStateUp, ProtocolPort: m.ProtocolPort,
		Weight: m.Weight, Address: m.Address, IPVersion: "v4", OperatingStatus: st, Status: []v3MemberStatus{},
		CreatedAt: ts(m.CreatedAt), UpdatedAt: ts(m.UpdatedAt), MemberType: m.MemberType(),
	}
	if m.SubnetID != "" {
		s := m.SubnetID
		out.SubnetCidrID = &s
	}
	if listenerID != "" {
		out.Status = append(out.Status, v3MemberStatus{ListenerID: listenerID, OperatingStatus: st})
	}
	if global {
		out.PoolID, out.LoadbalancerID = m.PoolID, m.LoadBalancerID
	}
	return out
}

type v3CreateMember struct {
	wire.MemberFields
	SubnetCidrID *string `json:"subnet_cidr_id"`
	bodyProject
}

// toMember applies the v3 defaults (weight 1, admin_state_up true) and checks required fields;
// where names the member in messages ("member" or "members[3]").
func (in v3CreateMember) toMember(where string) (store.Member, error) {
	if in.Address == nil || *in.Address == "" {
		return store.Member{}, apierr.Invalid("%s.address is required", where)
	}
	if in.ProtocolPort == nil {
		return store.Member{}, apierr.Invalid("%s.protocol_port is required (1-65535)", where)
	}
	return in.New(orDefault(in.SubnetCidrID, "")), nil
}

func (h *v3) createMember(r *http.Request, sc store.Scope, in *v3CreateMember) (int, any, error) {
	m, err := in.toMember("member")
	if err != nil {
		return 0, nil, err
	}
	poolID := r.PathValue("pool_id")
	m, err = h.st.CreateMember(sc, poolID, m)
	return h.replyMember(r, sc, http.StatusCreated, poolID, m, err)
}

func (h *v3) showMember(r *http.Request, sc store.Scope) (int, any, error) {
	poolID := r.PathValue("pool_id")
	m, err := h.st.GetMember(sc, poolID, r.PathValue("id"))
	return h.replyMember(r, sc, http.StatusOK, poolID, m, err)
}

func (h *v3) memberFilters() []filter[store.Member] {
	type M = store.Member
	return []filter[M]{
		strF("id", func(v M) string { return v.ID }),
		strF("name", func(v M) string { return v.Name }),
		intF("weight", func(v M) int { return v.Weight }),
		boolF("admin_state_up", func(v M) bool { return v.AdminStateUp }),
		strF("subnet_cidr_id", func(v M) string { return v.SubnetID }),
		strF("address", func(v M) string { return v.Address }),
		intF("protocol_port", func(v M) int { return v.ProtocolPort }),
		strF("operating_status", func(v M) string { return h.dp.MemberStatus(v.ID) }),
		strF("member_type", func(v M) string { return v.MemberType() }),
		strF("ip_version", func(M) string { return "v4" }),
		strF("enterprise_project_id", func(M) string { return "0" }),
		strF("pool_id", func(v M) string { return v.PoolID }),
		strF("loadbalancer_id", func(v M) string { return v.LoadBalancerID }),
		// elbd members are addresses, never ECS instances, and have no availability zone.
		strsF("instance_id", func(M) []string { return nil }),
		strsF("availability_zone", func(M) []string { return nil }),
	}
}

func (h *v3) listMembers(r *http.Request, sc store.Scope) (int, any, error) {
	poolID := r.PathValue("pool_id")
	ms, err := h.st.ListMembers(sc, poolID)
	if err != nil {
		return 0, nil, err
	}
	return listed(r, "members", ms, h.memberFilters(), func(v store.Member) string { return v.ID }, h.poolMember(sc, poolID))
}

func (h *v3) listAllMembers(r *http.Request, sc store.Scope) (int, any, error) {
	ms, err := h.indexedMembers(r.URL.Query(), sc)
	if err != nil {
		return 0, nil, err
	}
	listenerOf := h.poolListeners(sc)
	return listed(r, "members", ms, h.memberFilters(), func(v store.Member) string { return v.ID },
		func(v store.Member) v3Member { return h.renderMember(v, listenerOf(v.PoolID), true) })
}

type v3UpdateMember struct {
	wire.MemberChange
	ProtocolPort *int `json:"protocol_port"`
}

func (h *v3) updateMember(r *http.Request, sc store.Scope, in *v3UpdateMember) (int, any, error) {
	poolID := r.PathValue("pool_id")
	m, err := h.st.UpdateMember(sc, poolID, r.PathValue("id"), func(m *store.Member) error {
		if in.ProtocolPort != nil && *in.ProtocolPort != m.ProtocolPort {
			return apierr.Invalid("protocol_port cannot be changed (it is %d); add a member on the new port and delete this one", m.ProtocolPort)
		}
		in.MemberChange.Apply(m)
		return nil
	})
	return h.replyMember(r, sc, http.StatusOK, poolID, m, err)
}

func (h *v3) deleteMember(r *http.Request, sc store.Scope) (int, any, error) {
	return gone(h.st.DeleteMember(sc, r.PathValue("pool_id"), r.PathValue("id")))
}

// decodeBatch decodes {"members": [...]} and checks the batch size.
func decodeBatch[T any](r *http.Request) ([]T, error) {
	var in struct {
		Members *[]T `json:"members"`
	}
	if err := apierr.Decode(r, &in); err != nil {
		return nil, err
	}
	if in.Members == nil || len(*in.Members) == 0 {
		return nil, apierr.Invalid("request body must have a non-empty \"members\" array")
	}
	if len(*in.Members) > elbrules.MaxBatchMembers {
		return nil, apierr.Invalid("%d members in one call; at most %d are allowed, split the batch", len(*in.Members), elbrules.MaxBatchMembers)
	}
	return *in.Members, nil
}

func (h *v3) batchAddMembers(r *http.Request, sc store.Scope) (int, any, error) {
	ins, err := decodeBatch[v3CreateMember](r)
	if err != nil {
		return 0, nil, err
	}
	ms := make([]store.Member, len(ins))
	for i, in := range ins {
		where := "members[" + itoa(i) + "]"
		if err := checkBodyProject(sc, in.ProjectID); err != nil {
			return 0, nil, err
		}
		if ms[i], err = in.toMember(where); err != nil {
			return 0, nil, err
		}
	}
	poolID := r.PathValue("pool_id")
	res, err := h.st.BatchAddMembers(sc, poolID, ms)
	if err != nil {
		return 0, nil, err
	}
	render := h.poolMember(sc, poolID)
	out := make([]v3Member, 0, len(res))
	for _, br := range res {
		m := render(br.Member)
		m.RetStatus = "successful"
		if br.Existed {
			m.RetStatus = "existed"
		}
		out = append(out, m)
	}
	return replied(r, http.StatusOK, "members", out)
}

type v3BatchDeleteRef struct {
	ID           *string `json:"id"`
	Address      *string `json:"address"`
	ProtocolPort *int    `json:"protocol_port"`
}

func (h *v3) batchDeleteMembers(r *http.Request, sc store.Scope) (int, any, error) {
	ins, err := decodeBatch[v3BatchDeleteRef](r)
	if err != nil {
		return 0, nil, err
	}
	refs := make([]store.MemberRef, len(ins))
	for i, in := range ins {
		if in.ID != nil && (in.Address != nil || in.ProtocolPort != nil) {
			return 0, nil, apierr.Invalid("members[%d]: give either id, or address and protocol_port, not both", i)
		}
		refs[i] = store.MemberRef{ID: orDefault(in.ID, ""), Address: orDefault(in.Address, ""), ProtocolPort: orDefault(in.ProtocolPort, 0)}
	}
	res, err := h.st.BatchDeleteMembers(sc, r.PathValue("pool_id"), refs)
	if err != nil {
		return 0, nil, err
	}
	// The SDK's model_batch_delete_members_state.go: ret_status "successful" or "not found" (E5).
	type state struct {
		ID        string `json:"id"`
		RetStatus string `json:"ret_status"`
	}
	out := make([]state, 0, len(res))
	for _, d := range res {
		st := state{ID: d.ID, RetStatus: "successful"}
		if d.NotFound {
			st.RetStatus = "not found"
		}
		out = append(out, st)
	}
	return replied(r, http.StatusOK, "members", out)
}

type v3BatchUpdate struct {
	ID *string `json:"id"`
	v3UpdateMember
}

func (h *v3) batchUpdateMembers(r *http.Request, sc store.Scope) (int, any, error) {
	ins, err := decodeBatch[v3BatchUpdate](r)
	if err != nil {
		return 0, nil, err
	}
	poolID := r.PathValue("pool_id")
	ups := make([]store.MemberUpdate, len(ins))
	for i, in := range ins {
		if in.ID == nil || *in.ID == "" {
			return 0, nil, apierr.Invalid("members[%d].id is required", i)
		}
		if in.ProtocolPort != nil {
			cur, err := h.st.GetMember(sc, poolID, *in.ID)
			if err == nil && cur.ProtocolPort != *in.ProtocolPort {
				return 0, nil, apierr.Invalid("members[%d]: protocol_port cannot be changed (it is %d)", i, cur.ProtocolPort)
			}
		}
		ups[i] = store.MemberUpdate{ID: *in.ID, Name: in.Name, Weight: in.Weight, AdminStateUp: in.AdminStateUp}
	}
	ms, err := h.st.BatchUpdateMembers(sc, poolID, ups)
	if err != nil {
		return 0, nil, err
	}
	render := h.poolMember(sc, poolID)
	out := make([]v3Member, 0, len(ms))
	for _, m := range ms {
		out = append(out, render(m))
	}
	return replied(r, http.StatusOK, "members", out)
}
