package apiv2

import "encoding/json"

// Request bodies, field for field as services/elb/v2/model defines them (CreateLoadbalancerReq,
// UpdateLoadbalancerReq, CreateListenerReq, ...): one struct serves a resource's create and
// update, every field a pointer so that a handler can tell a field left out from a zero value.

type loadBalancerReq struct {
	Name         *string `json:"name"`
	Description  *string `json:"description"`
	VIPSubnetID  *string `json:"vip_subnet_id"`
	VIPAddress   *string `json:"vip_address"`
	AdminStateUp *bool   `json:"admin_state_up"`
}

type listenerReq struct {
	LoadBalancerID  *string `json:"loadbalancer_id"`
	Protocol        *string `json:"protocol"`
	ProtocolPort    *int    `json:"protocol_port"`
	Name            *string `json:"name"`
	Description     *string `json:"description"`
	AdminStateUp    *bool   `json:"admin_state_up"`
	ConnectionLimit *int    `json:"connection_limit"`
	Http2Enable     *bool   `json:"http2_enable"`
	// DefaultPoolID is raw so that an update can tell null (unbind) from absent (keep).
	DefaultPoolID          json.RawMessage `json:"default_pool_id"`
	DefaultTLSContainerRef *string         `json:"default_tls_container_ref"`
}

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

type memberReq struct {
	Address      *string `json:"address"`
	ProtocolPort *int    `json:"protocol_port"`
	SubnetID     *string `json:"subnet_id"`
	Weight       *int    `json:"weight"`
	Name         *string `json:"name"`
	AdminStateUp *bool   `json:"admin_state_up"`
}

type healthMonitorReq struct {
	PoolID        *string `json:"pool_id"`
	Type          *string `json:"type"`
	Delay         *int    `json:"delay"`
	Timeout       *int    `json:"timeout"`
	MaxRetries    *int    `json:"max_retries"`
	Name          *string `json:"name"`
	AdminStateUp  *bool   `json:"admin_state_up"`
	MonitorPort   *int    `json:"monitor_port"`
	ExpectedCodes *string `json:"expected_codes"`
	DomainName    *string `json:"domain_name"`
	URLPath       *string `json:"url_path"`
	HTTPMethod    *string `json:"http_method"`
}
