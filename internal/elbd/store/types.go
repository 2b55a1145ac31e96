// Package store is elbd's persistent state: load balancers, listeners, pools, members and health
// monitors of both API families, kept in one bbolt file.
//
// Every write runs in one bbolt transaction that first checks the rules both families share (see
// rules.go) and commits with fsync before the method returns, so an acknowledged write survives a
// crash. Rule violations come back as *Error (an apierr.Error) carrying the HTTP status and ELB
// error code the handlers answer with. All methods are safe for concurrent use.
//
// Each family sees only its own resources: a v2 (shared) call never finds a v3 (dedicated) load
// balancer or anything under it, and the other way round; to the other family it does not exist.
package store

import (
	"time"

	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
)

// Family is the API family that owns a load balancer and everything under it.
type Family string

const (
	// FamilyV3 is the dedicated ("performance") ELB of the /v3 API; guaranteed=true.
	FamilyV3 Family = "v3"
	// FamilyV2 is the shared ("union") ELB of the /v2 API; guaranteed=false.
	FamilyV2 Family = "v2"
)

// Error is a rule violation or a missing resource: HTTP status, ELB error code, message.
type Error = apierr.Error

// Scope names who asks: the API family and the project from the URL. Every read and write is
// limited to resources of that family in that project.
type Scope struct {
	Family    Family
	ProjectID string
}

// Protocols.
const (
	ProtocolTCP   = "TCP"
	ProtocolUDP   = "UDP"
	ProtocolHTTP  = "HTTP"
	ProtocolHTTPS = "HTTPS"
	// ProtocolTerminatedHTTPS is the v2 name of an HTTPS listener.
	ProtocolTerminatedHTTPS = "TERMINATED_HTTPS"
	// ProtocolQUIC is a v3 pool/listener protocol; accepted and stored, not served by the data plane.
	ProtocolQUIC = "QUIC"
)

// Pool load-balancing algorithms.
const (
	AlgRoundRobin       = elbrules.AlgorithmRoundRobin
	AlgLeastConnections = elbrules.AlgorithmLeastConnections
	AlgSourceIP         = elbrules.AlgorithmSourceIP
)

// Pool types (v3). PoolTypeAny ("") takes both kinds of member.
const (
	PoolTypeAny      = ""
	PoolTypeIP       = "ip"
	PoolTypeInstance = "instance"
)

// Member types, reported as member_type.
const (
	MemberTypeInstance = "instance" // has a subnet of the LB's address plan
	MemberTypeIP       = "ip"       // IP-type (cross-VPC) member: no subnet
)

// Meta is what every stored resource carries: its ID, who owns it (family and project) and
// when it was created and last changed. The store fills it on create and keeps it on update,
// but for UpdatedAt.
type Meta struct {
	ID        string    `json:"id"`
	ProjectID string    `json:"project_id"`
	Family    Family    `json:"family"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// IDsWhere are the IDs of the records keep selects, in their order.
func IDsWhere[T interface{ Base() Meta }](xs []T, keep func(T) bool) []string {
	var out []string
	for _, x := range xs {
		if keep(x) {
			out = append(out, x.Base().ID)
		}
	}
	return out
}

// LoadBalancer is an ELB instance with one VIP.
type LoadBalancer struct {
	Meta
	Name        string `json:"name"`
	Description string `json:"description"`
	// VIPSubnetID is the config subnet the VIP comes from (v3 vip_subnet_cidr_id, v2 vip_subnet_id).
	VIPSubnetID string `json:"vip_subnet_id"`
	VIPAddress  string `json:"vip_address"`
	// VPCID is the subnet's VPC, filled by the store.
	VPCID string `json:"vpc_id"`
	// IPTargetEnable allows IP-type (cross-VPC) members; v3 only.
	IPTargetEnable bool `json:"ip_target_enable"`
	// AvailabilityZones is the v3 availability_zone_list, kept as given: elbd has one zone.
	AvailabilityZones []string `json:"availability_zones,omitempty"`
	// Tags are the v3 tags (E9; see tags.go).
	Tags         []Tag `json:"tags,omitempty"`
	AdminStateUp bool  `json:"admin_state_up"`
}

// Guaranteed is the API's "guaranteed" field: true for a dedicated (v3) load balancer.
func (lb LoadBalancer) Guaranteed() bool { return lb.Family == FamilyV3 }

// Listener is a protocol and port on a load balancer's VIP.
type Listener struct {
	Meta
	LoadBalancerID string `json:"loadbalancer_id"`
	Name           string `json:"name"`
	Description    string `json:"description"`
	Protocol       string `json:"protocol"`
	ProtocolPort   int    `json:"protocol_port"`
	// DefaultPoolID is the pool traffic goes to; "" for none. A pool is the default pool of at
	// most one listener, and this field is the only record of that binding.
	DefaultPoolID string `json:"default_pool_id"`
	AdminStateUp  bool   `json:"admin_state_up"`
	// ConnectionLimit is v2's connection_limit; -1 means unlimited.
	ConnectionLimit int  `json:"connection_limit"`
	Http2Enable     bool `json:"http2_enable"`
	// Timeouts in seconds (v3); 0 means the protocol's default.
	KeepaliveTimeout          int  `json:"keepalive_timeout"`
	ClientTimeout             int  `json:"client_timeout"`
	MemberTimeout             int  `json:"member_timeout"`
	TransparentClientIPEnable bool `json:"transparent_client_ip_enable"`
	// Tags are the v3 tags (E9; see tags.go).
	Tags []Tag `json:"tags,omitempty"`
}

// SessionPersistence is a pool's stickiness setting.
type SessionPersistence struct {
	Type               string `json:"type"` // SOURCE_IP, HTTP_COOKIE, APP_COOKIE
	CookieName         string `json:"cookie_name,omitempty"`
	PersistenceTimeout int    `json:"persistence_timeout,omitempty"`
}

// Pool is a backend server group of one load balancer.
type Pool struct {
	Meta
	LoadBalancerID string `json:"loadbalancer_id"`
	Name           string `json:"name"`
	Description    string `json:"description"`
	Protocol       string `json:"protocol"`
	LBAlgorithm    string `json:"lb_algorithm"`
	// Type is PoolTypeIP, PoolTypeInstance or PoolTypeAny (v3); always PoolTypeAny in v2.
	Type               string              `json:"type"`
	AdminStateUp       bool                `json:"admin_state_up"`
	SessionPersistence *SessionPersistence `json:"session_persistence,omitempty"`
	// HealthMonitorID is the pool's monitor, "" for none (kept by the store).
	HealthMonitorID string `json:"healthmonitor_id"`
	// v3 options; see CheckPool (E6) and the data plane (E7).
	SlowStart                *SlowStart       `json:"slow_start,omitempty"` // nil: not given
	MemberDeletionProtection bool             `json:"member_deletion_protection_enable,omitempty"`
	AnyPortEnable            bool             `json:"any_port_enable,omitempty"`
	ConnectionDrain          *ConnectionDrain `json:"connection_drain,omitempty"` // nil: off
}

// SlowStart is a pool's slow_start (model_create_pool_slow_start_option.go).
type SlowStart struct {
	Enable   bool `json:"enable"`
	Duration int  `json:"duration"` // seconds, 30-1200
}

// ConnectionDrain is a pool's connection_drain (model_connection_drain.go): when enabled, a
// removed or unhealthy member keeps its established connections for Timeout seconds.
type ConnectionDrain struct {
	Enable  bool `json:"enable"`
	Timeout int  `json:"timeout"` // seconds, 10-4000
}

// Member is a backend server of a pool.
type Member struct {
	Meta
	PoolID         string `json:"pool_id"`
	LoadBalancerID string `json:"loadbalancer_id"` // the pool's, filled by the store
	Name           string `json:"name"`
	Address        string `json:"address"`
	ProtocolPort   int    `json:"protocol_port"`
	// Weight 0..100; 0 takes no new traffic.
	Weight       int  `json:"weight"`
	AdminStateUp bool `json:"admin_state_up"`
	// SubnetID is the config subnet the address lies in (v3 subnet_cidr_id, v2 subnet_id); ""
	// makes an IP-type member.
	SubnetID string `json:"subnet_id"`
}

// MemberType is "instance" for a member with a subnet, "ip" for one without.
func (m Member) MemberType() string {
	if m.SubnetID == "" {
		return MemberTypeIP
	}
	return MemberTypeInstance
}

// HealthMonitor checks the members of one pool.
type HealthMonitor struct {
	Meta
	PoolID         string `json:"pool_id"`
	LoadBalancerID string `json:"loadbalancer_id"` // the pool's, filled by the store
	Name           string `json:"name"`
	Type           string `json:"type"`
	// Delay between checks, Timeout of one check, in seconds.
	Delay          int `json:"delay"`
	Timeout        int `json:"timeout"`
	MaxRetries     int `json:"max_retries"`      // successes to go ONLINE
	MaxRetriesDown int `json:"max_retries_down"` // failures to go OFFLINE
	// MonitorPort overrides the member's port when non-zero.
	MonitorPort   int    `json:"monitor_port"`
	URLPath       string `json:"url_path"`
	ExpectedCodes string `json:"expected_codes"`
	HTTPMethod    string `json:"http_method"`
	DomainName    string `json:"domain_name"`
	AdminStateUp  bool   `json:"admin_state_up"`
}

// Snapshot is every resource of both families at one point in time, each slice ordered by
// (CreatedAt, ID). The data plane builds its configuration from it.
type Snapshot struct {
	LoadBalancers  []LoadBalancer
	Listeners      []Listener
	Pools          []Pool
	Members        []Member
	HealthMonitors []HealthMonitor
}

// MemberRef names a member to delete in a batch: by ID, or by Address and ProtocolPort.
type MemberRef struct {
	ID           string
	Address      string
	ProtocolPort int
}

// BatchAddResult is one member of a batch add: the stored member, and whether it already existed
// (same address and port in the pool), in which case it was left unchanged.
type BatchAddResult struct {
	Member  Member
	Existed bool
}

// BatchDeleteResult is one ref of a batch delete: the deleted member's ID, or NotFound when the
// pool had no such member (ID is then the ref's ID, "" for a ref by address).
type BatchDeleteResult struct {
	ID       string
	NotFound bool
}

// MemberUpdate is one member's change in a batch update; nil fields stay as they are.
type MemberUpdate struct {
	ID           string
	Name         *string
	Weight       *int
	AdminStateUp *bool
}
