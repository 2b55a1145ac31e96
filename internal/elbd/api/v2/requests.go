package apiv2

import (
	"encoding/json"

	"github.com/fleetlb/fleetlb/internal/elbd/api/wire"
)

// Request bodies, field for field as services/elb/v2/model defines them (CreateLoadbalancerReq,
// UpdateLoadbalancerReq, CreateListenerReq, ...): one struct serves a resource's create and
// update, every field a pointer so that a handler can tell a field left out from a zero value.

type loadBalancerReq struct {
	wire.Named
	VIPSubnetID *string `json:"vip_subnet_id"`
	VIPAddress  *string `json:"vip_address"`
}

type listenerReq struct {
	wire.Named
	wire.ListenerKey
	ConnectionLimit *int  `json:"connection_limit"`
	Http2Enable     *bool `json:"http2_enable"`
	// DefaultPoolID is raw so that an update can tell null (unbind) from absent (keep).
	DefaultPoolID          json.RawMessage `json:"default_pool_id"`
	DefaultTLSContainerRef *string         `json:"default_tls_container_ref"`
}

type poolReq struct {
	wire.Named
	wire.PoolFields
	// SessionPersistence is raw so that an update can tell null (turn off) from absent (keep).
	SessionPersistence json.RawMessage `json:"session_persistence"`
}

type memberReq struct {
	wire.MemberFields
	SubnetID *string `json:"subnet_id"`
}

type healthMonitorReq struct {
	wire.MonitorFields
	MonitorPort *int `json:"monitor_port"`
}
