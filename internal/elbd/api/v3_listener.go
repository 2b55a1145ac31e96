package api

import (
	"net/http"

	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/elbd/api/wire"
	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// v3Listener is the SDK's model.Listener as elbd fills it.
type v3Listener struct {
	AdminStateUp              bool                `json:"admin_state_up"`
	ClientCaTLSContainerRef   string              `json:"client_ca_tls_container_ref"`
	ConnectionLimit           int                 `json:"connection_limit"`
	CreatedAt                 string              `json:"created_at"`
	DefaultPoolID             string              `json:"default_pool_id"`
	DefaultTLSContainerRef    string              `json:"default_tls_container_ref"`
	Description               string              `json:"description"`
	Http2Enable               bool                `json:"http2_enable"`
	ID                        string              `json:"id"`
	Loadbalancers             []map[string]string `json:"loadbalancers"`
	Name                      string              `json:"name"`
	ProjectID                 string              `json:"project_id"`
	EnterpriseProjectID       string              `json:"enterprise_project_id"`
	Protocol                  string              `json:"protocol"`
	ProtocolPort              int                 `json:"protocol_port"`
	SniContainerRefs          []string            `json:"sni_container_refs"`
	SniMatchAlgo              string              `json:"sni_match_algo"`
	Tags                      []store.Tag         `json:"tags"`
	UpdatedAt                 string              `json:"updated_at"`
	TLSCiphersPolicy          string              `json:"tls_ciphers_policy"`
	SecurityPolicyID          string              `json:"security_policy_id"`
	EnableMemberRetry         bool                `json:"enable_member_retry"`
	KeepaliveTimeout          int                 `json:"keepalive_timeout"`
	ClientTimeout             int                 `json:"client_timeout"`
	MemberTimeout             int                 `json:"member_timeout"`
	TransparentClientIPEnable bool                `json:"transparent_client_ip_enable"`
	EnhanceL7policyEnable     bool                `json:"enhance_l7policy_enable"`
}

func renderV3Listener(l store.Listener) v3Listener {
	return v3Listener{
		AdminStateUp: l.AdminStateUp, ConnectionLimit: -1, CreatedAt: ts(l.CreatedAt), DefaultPoolID: l.DefaultPoolID,
		Description: l.Description, Http2Enable: l.Http2Enable, ID: l.ID, Loadbalancers: refs(l.LoadBalancerID),
		Name: l.Name, ProjectID: l.ProjectID, EnterpriseProjectID: "0", Protocol: l.Protocol, ProtocolPort: l.ProtocolPort,
		SniContainerRefs: []string{}, Tags: append([]store.Tag{}, l.Tags...), UpdatedAt: ts(l.UpdatedAt), EnableMemberRetry: true,
		KeepaliveTimeout: l.KeepaliveTimeout, ClientTimeout: l.ClientTimeout, MemberTimeout: l.MemberTimeout,
		TransparentClientIPEnable: l.TransparentClientIPEnable,
	}
}

// v3ListenerOptions are the listener fields a create sets and an update changes.
type v3ListenerOptions struct {
	wire.Named
	Http2Enable               *bool `json:"http2_enable"`
	KeepaliveTimeout          *int  `json:"keepalive_timeout"`
	ClientTimeout             *int  `json:"client_timeout"`
	MemberTimeout             *int  `json:"member_timeout"`
	TransparentClientIPEnable *bool `json:"transparent_client_ip_enable"`
}

// apply sets the options given on l, after checking them against l's protocol.
func (o *v3ListenerOptions) apply(l *store.Listener) error {
	if l.Protocol != store.ProtocolHTTP && l.Protocol != store.ProtocolHTTPS && (o.ClientTimeout != nil || o.MemberTimeout != nil) {
		return apierr.Invalid("client_timeout and member_timeout apply to HTTP and HTTPS listeners only; leave them out for a %s listener", l.Protocol)
	}
	if o.KeepaliveTimeout != nil {
		if err := store.CheckKeepaliveTimeout(l.Protocol, *o.KeepaliveTimeout); err != nil {
			return err
		}
	}
	// A v3 listener's load balancer is dedicated (the v3 API does not change shared ones, E8), so
	// transparent_client_ip_enable can only be true (elbrules.TransparentClientIPOnlyTrue,
	// services/elb/v3/model/model_create_listener_option.go, model_update_listener_option.go).
	if o.TransparentClientIPEnable != nil && !*o.TransparentClientIPEnable && elbrules.TransparentClientIPOnlyTrue(true, l.Protocol) {
		return apierr.Invalid("dedicated load balancers only support transparent_client_ip_enable true; leave it out or set true")
	}
	o.Named.Apply(&l.Name, &l.Description, &l.AdminStateUp)
	l.Http2Enable = wire.Or(o.Http2Enable, l.Http2Enable)
	l.KeepaliveTimeout = wire.Or(o.KeepaliveTimeout, l.KeepaliveTimeout)
	l.ClientTimeout = wire.Or(o.ClientTimeout, l.ClientTimeout)
	l.MemberTimeout = wire.Or(o.MemberTimeout, l.MemberTimeout)
	l.TransparentClientIPEnable = wire.Or(o.TransparentClientIPEnable, l.TransparentClientIPEnable)
	return nil
}

type v3CreateListener struct {
	wire.ListenerKey
	Tags          []store.Tag `json:"tags"`
	DefaultPoolID *string     `json:"default_pool_id"`
	bodyProject
	v3ListenerOptions
}

// listenerDefaults are the real API's timeouts: keepalive 300 s for TCP/UDP, 60 s for HTTP(S);
// client and member timeouts (60 s) apply to HTTP(S) only.
func listenerDefaults(protocol string) (keepalive, client, member int) {
	switch protocol {
	case store.ProtocolHTTP, store.ProtocolHTTPS:
		return 60, 60, 60
	default:
		return 300, 0, 0
	}
}

func (h *v3) createListener(r *http.Request, sc store.Scope, in *v3CreateListener) (int, any, error) {
	if err := wire.Required("listener", wire.GivenText("loadbalancer_id", in.LoadBalancerID),
		wire.GivenText("protocol", in.Protocol).Taking("TCP, UDP, HTTP, HTTPS or QUIC"),
		wire.Given("protocol_port", in.ProtocolPort).Taking("1-65535")); err != nil {
		return 0, nil, err
	}
	l := store.Listener{LoadBalancerID: *in.LoadBalancerID, Protocol: *in.Protocol, ProtocolPort: *in.ProtocolPort,
		DefaultPoolID: wire.Or(in.DefaultPoolID, ""), AdminStateUp: true, ConnectionLimit: -1, Tags: in.Tags,
		TransparentClientIPEnable: elbrules.TransparentClientIPOnlyTrue(true, *in.Protocol)} // the default: true on a dedicated load balancer
	l.KeepaliveTimeout, l.ClientTimeout, l.MemberTimeout = listenerDefaults(l.Protocol)
	if err := in.apply(&l); err != nil {
		return 0, nil, err
	}
	l, err := h.st.CreateListener(sc, l)
	return replyListener(r, sc, http.StatusCreated, l, err)
}

var replyListener = replyOf("listener", renderV3Listener)

func (h *v3) listListeners(r *http.Request, sc store.Scope) (int, any, error) {
	ls, err := h.indexedListeners(r.URL.Query(), sc)
	if err != nil {
		return 0, nil, err
	}
	type L = store.Listener
	filters := []filter[L]{
		strF("id", func(v L) string { return v.ID }),
		strF("name", func(v L) string { return v.Name }),
		strF("description", func(v L) string { return v.Description }),
		strF("protocol", func(v L) string { return v.Protocol }),
		intF("protocol_port", func(v L) int { return v.ProtocolPort }),
		strF("loadbalancer_id", func(v L) string { return v.LoadBalancerID }),
		strF("default_pool_id", func(v L) string { return v.DefaultPoolID }),
		boolF("admin_state_up", func(v L) bool { return v.AdminStateUp }),
		boolF("http2_enable", func(v L) bool { return v.Http2Enable }),
		intF("connection_limit", func(L) int { return -1 }),
		intF("keepalive_timeout", func(v L) int { return v.KeepaliveTimeout }),
		intF("client_timeout", func(v L) int { return v.ClientTimeout }),
		intF("member_timeout", func(v L) int { return v.MemberTimeout }),
		boolF("transparent_client_ip_enable", func(v L) bool { return v.TransparentClientIPEnable }),
		strF("enterprise_project_id", func(L) string { return "0" }),
		strsF("member_address", poolMemberAddresses(h, sc, func(v L) string { return v.DefaultPoolID })),
		boolF("enable_member_retry", func(L) bool { return true }),
		boolF("proxy_protocol_enable", func(L) bool { return false }),
		boolF("enhance_l7policy_enable", func(L) bool { return false }),
		boolF("ssl_early_data_enable", func(L) bool { return false }),
		boolF("nat64_enable", func(L) bool { return false }),
		strF("protection_status", func(L) string { return "nonProtection" }),
	}
	filters = append(filters, absent[L]("default_tls_container_ref", "client_ca_tls_container_ref", "tls_ciphers_policy",
		"member_device_id", "member_instance_id")...)
	return listed(r, "listeners", ls, filters, func(v L) string { return v.ID }, renderV3Listener)
}

type v3UpdateListener struct {
	DefaultPoolID orNull[string] `json:"default_pool_id"`
	v3ListenerOptions
}

func (h *v3) updateListener(r *http.Request, sc store.Scope, in *v3UpdateListener) (int, any, error) {
	l, err := h.st.UpdateListener(sc, r.PathValue("id"), func(l *store.Listener) error {
		if in.DefaultPoolID.set {
			l.DefaultPoolID = in.DefaultPoolID.value // "" or null unbinds
		}
		return in.apply(l)
	})
	return replyListener(r, sc, http.StatusOK, l, err)
}

// poolMemberAddresses maps an item to the addresses of the members of its pool (pool() names
// it), for ?member_address=. Members are read once, on the first item asked about.
func poolMemberAddresses[T any](h *v3, sc store.Scope, pool func(T) string) func(T) []string {
	var byPool map[string][]string
	return func(v T) []string {
		if byPool == nil {
			byPool = map[string][]string{}
			ms, _ := h.st.ListAllMembers(sc)
			for _, m := range ms {
				byPool[m.PoolID] = append(byPool[m.PoolID], m.Address)
			}
		}
		return byPool[pool(v)]
	}
}
