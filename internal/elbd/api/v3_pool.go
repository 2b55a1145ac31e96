package api

import (
	"net/http"

	"github.com/fleetlb/fleetlb/internal/elbd/api/wire"
	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// v3Pool is the SDK's model.Pool as elbd fills it.
type v3Pool struct {
	AdminStateUp                   bool                  `json:"admin_state_up"`
	Description                    string                `json:"description"`
	HealthmonitorID                string                `json:"healthmonitor_id"`
	ID                             string                `json:"id"`
	LbAlgorithm                    string                `json:"lb_algorithm"`
	Listeners                      []map[string]string   `json:"listeners"`
	Loadbalancers                  []map[string]string   `json:"loadbalancers"`
	Members                        []map[string]string   `json:"members"`
	Name                           string                `json:"name"`
	ProjectID                      string                `json:"project_id"`
	Protocol                       string                `json:"protocol"`
	SessionPersistence             *v3SessionPersist     `json:"session_persistence"`
	IPVersion                      string                `json:"ip_version"`
	SlowStart                      map[string]any        `json:"slow_start"`
	MemberDeletionProtectionEnable bool                  `json:"member_deletion_protection_enable"`
	CreatedAt                      string                `json:"created_at"`
	UpdatedAt                      string                `json:"updated_at"`
	VpcID                          string                `json:"vpc_id"`
	Type                           string                `json:"type"`
	AnyPortEnable                  bool                  `json:"any_port_enable"`
	ConnectionDrain                store.ConnectionDrain `json:"connection_drain"`
}

type v3SessionPersist struct {
	CookieName         *string `json:"cookie_name,omitempty"`
	Type               string  `json:"type"`
	PersistenceTimeout *int    `json:"persistence_timeout,omitempty"`
}

func toStoreSP(in *v3SessionPersist) *store.SessionPersistence {
	if in == nil {
		return nil
	}
	return &store.SessionPersistence{Type: in.Type, CookieName: wire.Or(in.CookieName, ""), PersistenceTimeout: wire.Or(in.PersistenceTimeout, 0)}
}

func fromStoreSP(sp *store.SessionPersistence) *v3SessionPersist {
	if sp == nil {
		return nil
	}
	out := &v3SessionPersist{Type: sp.Type}
	if sp.CookieName != "" {
		out.CookieName = &sp.CookieName
	}
	if sp.PersistenceTimeout != 0 {
		t := sp.PersistenceTimeout
		out.PersistenceTimeout = &t
	}
	return out
}

// poolRelations are what a pool response lists besides the pool: its listener, its members and
// its load balancer's VPC.
type poolRelations struct {
	listener map[string]string   // pool ID → listener ID
	members  map[string][]string // pool ID → member IDs
	vpc      map[string]string   // load balancer ID → VPC ID
}

func (h *v3) relations(sc store.Scope) (poolRelations, error) {
	rel := poolRelations{listener: map[string]string{}, members: map[string][]string{}, vpc: map[string]string{}}
	ls, err := h.st.ListListeners(sc)
	if err != nil {
		return rel, err
	}
	for _, l := range ls {
		if l.DefaultPoolID != "" {
			rel.listener[l.DefaultPoolID] = l.ID
		}
	}
	ms, err := h.st.ListAllMembers(sc)
	if err != nil {
		return rel, err
	}
	for _, m := range ms {
		rel.members[m.PoolID] = append(rel.members[m.PoolID], m.ID)
	}
	lbs, err := h.st.ListLoadBalancers(sc)
	if err != nil {
		return rel, err
	}
	for _, lb := range lbs {
		rel.vpc[lb.ID] = lb.VPCID
	}
	return rel, nil
}

func renderV3Pool(p store.Pool, rel poolRelations) v3Pool {
	return v3Pool{
		AdminStateUp: p.AdminStateUp, Description: p.Description, HealthmonitorID: p.HealthMonitorID, ID: p.ID,
		LbAlgorithm: p.LBAlgorithm, Listeners: refs(rel.listener[p.ID]), Loadbalancers: refs(p.LoadBalancerID),
		Members: refs(rel.members[p.ID]...), Name: p.Name, ProjectID: p.ProjectID, Protocol: p.Protocol,
		SessionPersistence: fromStoreSP(p.SessionPersistence), IPVersion: "v4",
		SlowStart: slowStartOf(p), MemberDeletionProtectionEnable: p.MemberDeletionProtection,
		AnyPortEnable: p.AnyPortEnable, ConnectionDrain: drainOf(p), CreatedAt: ts(p.CreatedAt), UpdatedAt: ts(p.UpdatedAt),
		VpcID: rel.vpc[p.LoadBalancerID], Type: p.Type,
	}
}

// slowStartOf is the pool's slow_start as the API shows it: off, 30 s, unless set.
func slowStartOf(p store.Pool) map[string]any {
	if p.SlowStart == nil {
		return map[string]any{"enable": false, "duration": 30}
	}
	return map[string]any{"enable": p.SlowStart.Enable, "duration": p.SlowStart.Duration}
}

// drainOf is the pool's connection_drain as the API shows it.
func drainOf(p store.Pool) store.ConnectionDrain {
	if p.ConnectionDrain == nil {
		return store.ConnectionDrain{}
	}
	return *p.ConnectionDrain
}

// v3PoolOptions are the options of CreatePoolOption and UpdatePoolOption that elbd stores beside
// the basic fields (E6, E7).
type v3PoolOptions struct {
	SlowStart                      *v3SlowStart           `json:"slow_start"`
	MemberDeletionProtectionEnable *bool                  `json:"member_deletion_protection_enable"`
	AnyPortEnable                  *bool                  `json:"any_port_enable"`
	ConnectionDrain                *store.ConnectionDrain `json:"connection_drain"`
}

type v3SlowStart struct {
	Enable   *bool `json:"enable"`
	Duration *int  `json:"duration"`
}

// apply sets the options given on p; those not given stay as they are.
func (o v3PoolOptions) apply(p *store.Pool) {
	if o.SlowStart != nil {
		cur := slowStartOf(*p)
		p.SlowStart = &store.SlowStart{Enable: wire.Or(o.SlowStart.Enable, cur["enable"].(bool)), Duration: wire.Or(o.SlowStart.Duration, cur["duration"].(int))}
	}
	p.MemberDeletionProtection = wire.Or(o.MemberDeletionProtectionEnable, p.MemberDeletionProtection)
	p.AnyPortEnable = wire.Or(o.AnyPortEnable, p.AnyPortEnable)
	if o.ConnectionDrain != nil {
		cd := *o.ConnectionDrain
		p.ConnectionDrain = &cd
	}
}

// poolRelations of one pool, read without scanning the project's other members.
func (h *v3) relationsOf(sc store.Scope, p store.Pool) (poolRelations, error) {
	rel := poolRelations{listener: map[string]string{}, members: map[string][]string{}, vpc: map[string]string{}}
	lid, err := h.st.PoolListenerID(sc, p.ID)
	if err != nil {
		return rel, err
	}
	rel.listener[p.ID] = lid
	ms, err := h.st.ListMembers(sc, p.ID)
	if err != nil {
		return rel, err
	}
	for _, m := range ms {
		rel.members[p.ID] = append(rel.members[p.ID], m.ID)
	}
	lb, err := h.st.GetLoadBalancer(sc, p.LoadBalancerID)
	if err != nil {
		return rel, err
	}
	rel.vpc[lb.ID] = lb.VPCID
	return rel, nil
}

// replyPool answers a call that yields one pool: err, or the pool with its relations.
func (h *v3) replyPool(r *http.Request, sc store.Scope, status int, p store.Pool, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	rel, err := h.relationsOf(sc, p)
	if err != nil {
		return 0, nil, err
	}
	return replied(r, status, "pool", renderV3Pool(p, rel))
}

type v3CreatePool struct {
	wire.PoolFields
	SessionPersistence *v3SessionPersist `json:"session_persistence"`
	Type               *string           `json:"type"`
	VpcID              *string           `json:"vpc_id"`
	IPVersion          *string           `json:"ip_version"`
	bodyProject
	wire.Named
	v3PoolOptions
}

func (h *v3) createPool(r *http.Request, sc store.Scope, in *v3CreatePool) (int, any, error) {
	if err := wire.Required("pool", wire.GivenText("lb_algorithm", in.LBAlgorithm).Taking("ROUND_ROBIN, LEAST_CONNECTIONS or SOURCE_IP"),
		wire.GivenText("protocol", in.Protocol).Taking("TCP, UDP, HTTP, HTTPS or QUIC")); err != nil {
		return 0, nil, err
	}
	switch {
	case wire.Or(in.LoadBalancerID, "") == "" && wire.Or(in.ListenerID, "") == "":
		return 0, nil, apierr.Invalid("one of pool.loadbalancer_id and pool.listener_id is required")
	case in.IPVersion != nil && *in.IPVersion != "v4":
		return 0, nil, apierr.Invalid("ip_version %q is not supported; elbd serves IPv4 (v4) only", *in.IPVersion)
	}
	// type instance needs vpc_id, type ip forbids it (model_create_pool_option.go type). E6h.
	switch vpc := wire.Or(in.VpcID, ""); {
	case wire.Or(in.Type, "") == store.PoolTypeInstance && vpc == "":
		return 0, nil, apierr.Invalid("a pool of type instance needs vpc_id: give the VPC of its load balancer")
	case wire.Or(in.Type, "") == store.PoolTypeIP && vpc != "":
		return 0, nil, apierr.Invalid("a pool of type ip takes no vpc_id; leave vpc_id out")
	}
	if in.VpcID != nil && *in.VpcID != "" && wire.Or(in.LoadBalancerID, "") != "" {
		lb, err := h.st.GetLoadBalancer(sc, *in.LoadBalancerID)
		if err == nil && lb.VPCID != *in.VpcID {
			return 0, nil, apierr.Invalid("vpc_id %s differs from the VPC %s of load balancer %s; leave vpc_id out", *in.VpcID, lb.VPCID, lb.ID)
		}
	}
	np := store.Pool{
		LoadBalancerID: wire.Or(in.LoadBalancerID, ""), Protocol: *in.Protocol, LBAlgorithm: *in.LBAlgorithm,
		Type: wire.Or(in.Type, store.PoolTypeAny), AdminStateUp: true, SessionPersistence: toStoreSP(in.SessionPersistence),
	}
	in.Named.Apply(&np.Name, &np.Description, &np.AdminStateUp)
	in.v3PoolOptions.apply(&np)
	p, err := h.st.CreatePool(sc, np, wire.Or(in.ListenerID, ""))
	return h.replyPool(r, sc, http.StatusCreated, p, err)
}

func (h *v3) listPools(r *http.Request, sc store.Scope) (int, any, error) {
	ps, err := h.st.ListPools(sc)
	if err != nil {
		return 0, nil, err
	}
	rel, err := h.relations(sc)
	if err != nil {
		return 0, nil, err
	}
	var memberAddrs map[string][]string
	type P = store.Pool
	filters := []filter[P]{
		strF("id", func(v P) string { return v.ID }),
		strF("name", func(v P) string { return v.Name }),
		strF("description", func(v P) string { return v.Description }),
		boolF("admin_state_up", func(v P) bool { return v.AdminStateUp }),
		strF("healthmonitor_id", func(v P) string { return v.HealthMonitorID }),
		strF("loadbalancer_id", func(v P) string { return v.LoadBalancerID }),
		strF("listener_id", func(v P) string { return rel.listener[v.ID] }),
		strF("protocol", func(v P) string { return v.Protocol }),
		strF("lb_algorithm", func(v P) string { return v.LBAlgorithm }),
		strF("type", func(v P) string { return v.Type }),
		strF("vpc_id", func(v P) string { return rel.vpc[v.LoadBalancerID] }),
		strF("ip_version", func(P) string { return "v4" }),
		strF("enterprise_project_id", func(P) string { return "0" }),
		boolF("member_deletion_protection_enable", func(v P) bool { return v.MemberDeletionProtection }),
		strsF("member_address", func(v P) []string {
			if memberAddrs == nil {
				memberAddrs = map[string][]string{}
				ms, _ := h.st.ListAllMembers(sc)
				for _, m := range ms {
					memberAddrs[m.PoolID] = append(memberAddrs[m.PoolID], m.Address)
				}
			}
			return memberAddrs[v.ID]
		}),
		strF("protection_status", func(P) string { return "nonProtection" }),
		boolF("connection_drain", func(v P) bool { return v.ConnectionDrain != nil && v.ConnectionDrain.Enable }),
		boolF("any_port_enable", func(v P) bool { return v.AnyPortEnable }),
	}
	filters = append(filters, absent[P]("member_device_id", "member_instance_id")...)
	return listed(r, "pools", ps, filters, func(v P) string { return v.ID }, func(v P) v3Pool { return renderV3Pool(v, rel) })
}

type v3UpdatePool struct {
	wire.Named
	LbAlgorithm        *string           `json:"lb_algorithm"`
	SessionPersistence *v3SessionPersist `json:"session_persistence"`
	Type               *string           `json:"type"`
	v3PoolOptions
	clearSP bool
}

func (h *v3) updatePool(r *http.Request, sc store.Scope) (int, any, error) {
	var in v3UpdatePool
	var raw struct {
		Pool map[string]jsonRaw `json:"pool"`
	}
	if err := apierr.Decode(r, &raw); err != nil {
		return 0, nil, err
	}
	if raw.Pool == nil {
		return 0, nil, apierr.Invalid("request body must be a JSON object with a \"pool\" object")
	}
	if sp, ok := raw.Pool["session_persistence"]; ok && string(sp) == "null" {
		in.clearSP = true // null switches stickiness off
	}
	if err := decodeRaw(mustJSON(raw.Pool), "pool", &in); err != nil {
		return 0, nil, err
	}
	p, err := h.st.UpdatePool(sc, r.PathValue("id"), func(p *store.Pool) error {
		in.Named.Apply(&p.Name, &p.Description, &p.AdminStateUp)
		p.LBAlgorithm = wire.Or(in.LbAlgorithm, p.LBAlgorithm)
		p.Type = wire.Or(in.Type, p.Type)
		in.v3PoolOptions.apply(p)
		if in.SessionPersistence != nil {
			p.SessionPersistence = toStoreSP(in.SessionPersistence)
		} else if in.clearSP {
			p.SessionPersistence = nil
		}
		return nil
	})
	return h.replyPool(r, sc, http.StatusOK, p, err)
}
