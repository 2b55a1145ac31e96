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
	if err := wire.Required(where, wire.GivenText("address", in.Address), wire.Given("protocol_port", in.ProtocolPort).Taking("1-65535")); err != nil {
		return store.Member{}, err
	}
	return in.New(wire.Or(in.SubnetCidrID, "")), nil
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

// batch is the shape of the batch member calls: decode {"members": [...]}, turn each entry into
// the store call's argument (i is its index, for messages), call the store on the path's pool,
// and answer {"members": [...]} with each result rendered, in order.
func batch[In, Arg, Res, Out any](r *http.Request, conv func(i int, in In) (Arg, error),
	call func(poolID string, args []Arg) ([]Res, error), render func(Res) Out) (int, any, error) {
	ins, err := decodeBatch[In](r)
	if err != nil {
		return 0, nil, err
	}
	args := make([]Arg, len(ins))
	for i, in := range ins {
		if args[i], err = conv(i, in); err != nil {
			return 0, nil, err
		}
	}
	res, err := call(r.PathValue("pool_id"), args)
	if err != nil {
		return 0, nil, err
	}
	out := make([]Out, 0, len(res))
	for _, x := range res {
		out = append(out, render(x))
	}
	return replied(r, http.StatusOK, "members", out)
}

func (h *v3) batchAddMembers(r *http.Request, sc store.Scope) (int, any, error) {
	conv := func(i int, in v3CreateMember) (store.Member, error) {
		if err := checkBodyProject(sc, in.ProjectID); err != nil {
			return store.Member{}, err
		}
		return in.toMember("members[" + itoa(i) + "]")
	}
	render := h.poolMember(sc, r.PathValue("pool_id"))
	return batch(r, conv, func(poolID string, ms []store.Member) ([]store.BatchAddResult, error) {
		return h.st.BatchAddMembers(sc, poolID, ms)
	}, func(br store.BatchAddResult) v3Member {
		m := render(br.Member)
		m.RetStatus = "successful"
		if br.Existed {
			m.RetStatus = "existed"
		}
		return m
	})
}

type v3BatchDeleteRef struct {
	ID           *string `json:"id"`
	Address      *string `json:"address"`
	ProtocolPort *int    `json:"protocol_port"`
}

// v3BatchDeleted is one entry of a batch delete's answer: the SDK's
// model_batch_delete_members_state.go, ret_status "successful" or "not found" (E5).
type v3BatchDeleted struct {
	ID        string `json:"id"`
	RetStatus string `json:"ret_status"`
}

func (h *v3) batchDeleteMembers(r *http.Request, sc store.Scope) (int, any, error) {
	conv := func(i int, in v3BatchDeleteRef) (store.MemberRef, error) {
		if in.ID != nil && (in.Address != nil || in.ProtocolPort != nil) {
			return store.MemberRef{}, apierr.Invalid("members[%d]: give either id, or address and protocol_port, not both", i)
		}
		return store.MemberRef{ID: wire.Or(in.ID, ""), Address: wire.Or(in.Address, ""), ProtocolPort: wire.Or(in.ProtocolPort, 0)}, nil
	}
	return batch(r, conv, func(poolID string, refs []store.MemberRef) ([]store.BatchDeleteResult, error) {
		return h.st.BatchDeleteMembers(sc, poolID, refs)
	}, func(d store.BatchDeleteResult) v3BatchDeleted {
		if d.NotFound {
			return v3BatchDeleted{ID: d.ID, RetStatus: "not found"}
		}
		return v3BatchDeleted{ID: d.ID, RetStatus: "successful"}
	})
}

type v3BatchUpdate struct {
	ID *string `json:"id"`
	v3UpdateMember
}

func (h *v3) batchUpdateMembers(r *http.Request, sc store.Scope) (int, any, error) {
	poolID := r.PathValue("pool_id")
	conv := func(i int, in v3BatchUpdate) (store.MemberUpdate, error) {
		if err := wire.Required("members["+itoa(i)+"]", wire.GivenText("id", in.ID)); err != nil {
			return store.MemberUpdate{}, err
		}
		if in.ProtocolPort != nil {
			cur, err := h.st.GetMember(sc, poolID, *in.ID)
			if err == nil && cur.ProtocolPort != *in.ProtocolPort {
				return store.MemberUpdate{}, apierr.Invalid("members[%d]: protocol_port cannot be changed (it is %d)", i, cur.ProtocolPort)
			}
		}
		return store.MemberUpdate{ID: *in.ID, Name: in.Name, Weight: in.Weight, AdminStateUp: in.AdminStateUp}, nil
	}
	return batch(r, conv, func(poolID string, ups []store.MemberUpdate) ([]store.Member, error) {
		return h.st.BatchUpdateMembers(sc, poolID, ups)
	}, h.poolMember(sc, poolID))
}
