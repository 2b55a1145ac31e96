package apiv2

import (
	"net/http"
	"time"

	"github.com/fleetlb/fleetlb/internal/elbd/api/handler"

	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// Response bodies, field for field as services/elb/v2/model defines them (LoadbalancerResp,
// ListenerResp, PoolResp, MemberResp, HealthmonitorResp, StatusResp). Fields the real API
// returns as null are pointers here.

type ref struct {
	ID string `json:"id"`
}

func refs(ids ...string) []ref {
	out := make([]ref, 0, len(ids))
	for _, id := range ids {
		if id != "" {
			out = append(out, ref{id})
		}
	}
	return out
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// timeFormat is how the v2 API writes times: UTC, no zone suffix.
const timeFormat = "2006-01-02T15:04:05"

func stamp(t time.Time) string { return t.UTC().Format(timeFormat) }

// owned are the fields every response starts with; tenant_id repeats project_id, as the real
// API does.
type owned struct {
	ID           string `json:"id"`
	TenantID     string `json:"tenant_id"`
	ProjectID    string `json:"project_id"`
	Name         string `json:"name"`
	AdminStateUp bool   `json:"admin_state_up"`
}

func ownedBy(m store.Meta, name string, adminStateUp bool) owned {
	return owned{ID: m.ID, TenantID: m.ProjectID, ProjectID: m.ProjectID, Name: name, AdminStateUp: adminStateUp}
}

type loadBalancerResp struct {
	owned
	Description         string   `json:"description"`
	VIPSubnetID         string   `json:"vip_subnet_id"`
	VIPPortID           string   `json:"vip_port_id"`
	VIPAddress          string   `json:"vip_address"`
	Listeners           []ref    `json:"listeners"`
	Pools               []ref    `json:"pools"`
	Provider            string   `json:"provider"`
	OperatingStatus     string   `json:"operating_status"`
	ProvisioningStatus  string   `json:"provisioning_status"`
	CreatedAt           string   `json:"created_at"`
	UpdatedAt           string   `json:"updated_at"`
	EnterpriseProjectID string   `json:"enterprise_project_id"`
	Tags                []string `json:"tags"`
	PublicIPs           []any    `json:"publicips"`
	ChargeMode          *string  `json:"charge_mode"`
	BillingInfo         *string  `json:"billing_info"`
	// Not in the SDK's v2 model; sent so that a client can tell a shared load balancer apart.
	Guaranteed bool   `json:"guaranteed"`
	VPCID      string `json:"vpc_id"`
}

type listenerResp struct {
	owned
	Description             string            `json:"description"`
	LoadBalancers           []ref             `json:"loadbalancers"`
	ConnectionLimit         int               `json:"connection_limit"`
	Http2Enable             bool              `json:"http2_enable"`
	Protocol                string            `json:"protocol"`
	ProtocolPort            int               `json:"protocol_port"`
	DefaultPoolID           *string           `json:"default_pool_id"`
	DefaultTLSContainerRef  *string           `json:"default_tls_container_ref"`
	ClientCATLSContainerRef *string           `json:"client_ca_tls_container_ref"`
	SNIContainerRefs        []string          `json:"sni_container_refs"`
	Tags                    []string          `json:"tags"`
	CreatedAt               string            `json:"created_at"`
	UpdatedAt               string            `json:"updated_at"`
	InsertHeaders           map[string]string `json:"insert_headers"`
	TLSCiphersPolicy        *string           `json:"tls_ciphers_policy"`
	// Not in the SDK's v2 model: the data plane's view of the listener.
	OperatingStatus string `json:"operating_status"`
}

type sessionPersistence struct {
	Type               string  `json:"type"`
	CookieName         *string `json:"cookie_name,omitempty"`
	PersistenceTimeout *int    `json:"persistence_timeout,omitempty"`
}

type poolResp struct {
	owned
	Description        string              `json:"description"`
	LoadBalancers      []ref               `json:"loadbalancers"`
	Listeners          []ref               `json:"listeners"`
	Members            []ref               `json:"members"`
	HealthMonitorID    *string             `json:"healthmonitor_id"`
	SessionPersistence *sessionPersistence `json:"session_persistence"`
	Protocol           string              `json:"protocol"`
	LBAlgorithm        string              `json:"lb_algorithm"`
}

type memberResp struct {
	owned
	ProtocolPort    int    `json:"protocol_port"`
	SubnetID        string `json:"subnet_id"`
	Address         string `json:"address"`
	Weight          int    `json:"weight"`
	OperatingStatus string `json:"operating_status"`
	// Not in the SDK's v2 model.
	PoolID string `json:"pool_id"`
}

type healthMonitorResp struct {
	owned
	MonitorPort    *int    `json:"monitor_port"`
	Timeout        int     `json:"timeout"`
	Type           string  `json:"type"`
	ExpectedCodes  *string `json:"expected_codes"`
	DomainName     *string `json:"domain_name"`
	URLPath        *string `json:"url_path"`
	HTTPMethod     *string `json:"http_method"`
	Delay          int     `json:"delay"`
	MaxRetries     int     `json:"max_retries"`
	Pools          []ref   `json:"pools"`
	MaxRetriesDown int     `json:"max_retries_down"`
}

// views turns store records into responses; it holds what a response needs beyond the record
// itself (which listener uses a pool, which members a pool has), read once per request.
type views struct {
	status    StatusSource
	prov      *provisioning // nil: every load balancer ACTIVE
	listeners []store.Listener
	pools     []store.Pool
	members   []store.Member
}

func (v *views) loadBalancer(lb store.LoadBalancer) loadBalancerResp {
	ls := store.IDsWhere(v.listeners, func(l store.Listener) bool { return l.LoadBalancerID == lb.ID })
	ps := store.IDsWhere(v.pools, func(p store.Pool) bool { return p.LoadBalancerID == lb.ID })
	return loadBalancerResp{
		owned: ownedBy(lb.Meta, lb.Name, lb.AdminStateUp), Description: lb.Description,
		VIPSubnetID: lb.VIPSubnetID, VIPAddress: lb.VIPAddress, Listeners: refs(ls...), Pools: refs(ps...),
		Provider: "vlb", OperatingStatus: "ONLINE", ProvisioningStatus: v.prov.status(lb.ID, lb.ID),
		CreatedAt: stamp(lb.CreatedAt), UpdatedAt: stamp(lb.UpdatedAt), EnterpriseProjectID: "0",
		Tags: []string{}, PublicIPs: []any{}, Guaranteed: lb.Guaranteed(), VPCID: lb.VPCID,
	}
}

func (v *views) listener(l store.Listener) listenerResp {
	return listenerResp{
		owned: ownedBy(l.Meta, l.Name, l.AdminStateUp), Description: l.Description, LoadBalancers: refs(l.LoadBalancerID), ConnectionLimit: l.ConnectionLimit,
		Http2Enable: l.Http2Enable, Protocol: l.Protocol, ProtocolPort: l.ProtocolPort, DefaultPoolID: nullable(l.DefaultPoolID),
		SNIContainerRefs: []string{}, Tags: []string{}, CreatedAt: stamp(l.CreatedAt), UpdatedAt: stamp(l.UpdatedAt),
		InsertHeaders: map[string]string{}, OperatingStatus: v.status.ListenerStatus(l.ID),
	}
}

func (v *views) pool(p store.Pool) poolResp {
	listeners := store.IDsWhere(v.listeners, func(l store.Listener) bool { return l.DefaultPoolID == p.ID })
	members := store.IDsWhere(v.members, func(m store.Member) bool { return m.PoolID == p.ID })
	out := poolResp{
		owned: ownedBy(p.Meta, p.Name, p.AdminStateUp), Description: p.Description, LoadBalancers: refs(p.LoadBalancerID), Listeners: refs(listeners...),
		Members: refs(members...), HealthMonitorID: nullable(p.HealthMonitorID), Protocol: p.Protocol, LBAlgorithm: p.LBAlgorithm,
	}
	if sp := p.SessionPersistence; sp != nil {
		out.SessionPersistence = &sessionPersistence{Type: sp.Type, CookieName: nullable(sp.CookieName)}
		if sp.PersistenceTimeout != 0 {
			out.SessionPersistence.PersistenceTimeout = &sp.PersistenceTimeout
		}
	}
	return out
}

func (v *views) member(m store.Member) memberResp {
	return memberResp{
		owned: ownedBy(m.Meta, m.Name, m.AdminStateUp), ProtocolPort: m.ProtocolPort, SubnetID: m.SubnetID, Address: m.Address, Weight: m.Weight,
		OperatingStatus: v.status.MemberStatus(m.ID), PoolID: m.PoolID,
	}
}

func (v *views) healthMonitor(h store.HealthMonitor) healthMonitorResp {
	out := healthMonitorResp{
		owned: ownedBy(h.Meta, h.Name, h.AdminStateUp), Timeout: h.Timeout, Type: h.Type, Delay: h.Delay, MaxRetries: h.MaxRetries, Pools: refs(h.PoolID),
		MaxRetriesDown: h.MaxRetriesDown, DomainName: nullable(h.DomainName),
	}
	if h.MonitorPort != 0 {
		out.MonitorPort = &h.MonitorPort
	}
	if h.Type == elbrules.MonitorHTTP {
		out.URLPath, out.ExpectedCodes, out.HTTPMethod = nullable(h.URLPath), nullable(h.ExpectedCodes), nullable(h.HTTPMethod)
	}
	return out
}

// replier is the handler.Reply of one kind: {key: render(x)} rendered with the views load reads
// for the caller's scope (statusViews, or load for the load balancer and pool bodies, which name
// their listeners, pools and members).
func replier[T, R any](load func(store.Scope) (*views, error), key string, render func(*views, T) R) handler.Reply[T] {
	return func(_ *http.Request, sc store.Scope, status int, x T, err error) (int, any, error) {
		if err != nil {
			return 0, nil, err
		}
		v, err := load(sc)
		if err != nil {
			return 0, nil, err
		}
		return status, map[string]any{key: render(v, x)}, nil
	}
}

// memberAddresses are the addresses of the members keep selects (the member_address filter).
func (v *views) memberAddresses(keep func(store.Member) bool) []string {
	var out []string
	for _, m := range v.members {
		if keep(m) {
			out = append(out, m.Address)
		}
	}
	return out
}

// statusViews renders resources that name no children: only operating statuses.
func (h *Handler) statusViews(store.Scope) (*views, error) { return &views{status: h.status}, nil }

// items renders xs as list items; err is the read of xs.
func items[T any](xs []T, err error, render func(T) item) ([]item, error) {
	if err != nil {
		return nil, err
	}
	out := make([]item, 0, len(xs))
	for _, x := range xs {
		out = append(out, render(x))
	}
	return out, nil
}
