// Package elbclient is the one place that talks to an ELB. It wraps the official Huawei Cloud Go
// SDK (services/elb/v3 for dedicated "performance" ELBs, services/elb/v2 for shared "union" ELBs)
// behind the small interface the deployer needs, maps the SDK's errors to typed errors, and counts
// write calls.
//
// The same code talks to the real cloud and to elbd: only the endpoint differs.
package elbclient

import (
	"context"

	"github.com/fleetlb/fleetlb/internal/common/elbrules"
)

// LoadBalancer is what the deployer needs to know about an ELB instance.
type LoadBalancer struct {
	ID   string
	Name string
	VIP  string
	// Class is the family the ELB belongs to: performance (dedicated, v3) or union (shared, v2).
	Class elbrules.Class
	// IPTargetEnable: IP-type (cross-VPC) backends are switched on (R11).
	IPTargetEnable bool
	VPCID          string
	// SubnetID is the subnet of the VIP (v3: vip_subnet_cidr_id; v2: vip_subnet_id).
	SubnetID string
}

// Listener is one listener of an ELB.
type Listener struct {
	ID             string
	LoadBalancerID string
	Name           string
	Description    string
	Protocol       string // TCP, UDP, HTTP, ...
	Port           int32
	DefaultPoolID  string // "" when no pool is bound
}

// Pool is a backend server group.
type Pool struct {
	ID              string
	Name            string
	Description     string
	Protocol        string
	Algorithm       string // ROUND_ROBIN, LEAST_CONNECTIONS, SOURCE_IP
	HealthMonitorID string // "" when none
	// Type is the v3 pool type: "instance", "ip" or "" (any). Always "" on union.
	Type string
	// ConnectionDrain is the v3 pool's connection_drain timeout in seconds; 0 when it is off.
	ConnectionDrain int32
}

// Member is one backend server in a pool.
type Member struct {
	ID       string
	Name     string
	Address  string
	Port     int32
	Weight   int
	SubnetID string // "" for an IP-type member
	// OperatingStatus is the member's health as the ELB reports it when listed (ONLINE,
	// OFFLINE, NO_MONITOR, ...; services/elb/v3/model/model_member.go operating_status);
	// "" where a call does not report it.
	OperatingStatus string
}

// HealthMonitor is a pool's health check.
type HealthMonitor struct {
	ID         string
	PoolID     string
	Type       string // TCP, UDP_CONNECT, HTTP
	Delay      int32
	Timeout    int32
	MaxRetries int32
	URLPath    string
}

// ListenerSpec creates a listener.
type ListenerSpec struct {
	LoadBalancerID string
	Name           string
	Description    string
	Protocol       string
	Port           int32
}

// PoolSpec creates a pool bound to a listener as its default pool.
type PoolSpec struct {
	ListenerID  string
	Name        string
	Description string
	Protocol    string
	Algorithm   string
	// ConnectionDrain, in seconds, turns on the pool's connection_drain (v3 only: a shared ELB's
	// pool has none; services/elb/v3/model/model_connection_drain.go, elbrules.
	// ConnectionDrainTimeout); 0 leaves it off.
	ConnectionDrain int32
}

// MemberSpec adds one member.
type MemberSpec struct {
	Name    string
	Address string
	Port    int32
	Weight  int
	// SubnetID: "" adds an IP-type member on performance ELBs; on union ELBs the client fills in
	// the ELB's VIP subnet because v2 members always need one.
	SubnetID string
}

// AddedMember is the outcome of adding one member.
type AddedMember struct {
	Member Member
	// Existed: the ELB already had a member with this address and port (elbd and real v3 batch
	// add report this instead of failing); Member is then the existing one.
	Existed bool
}

// WeightUpdate changes one member's weight.
type WeightUpdate struct {
	MemberID string
	Weight   int
}

// HealthMonitorSpec creates a health monitor on a pool.
type HealthMonitorSpec struct {
	PoolID     string
	Name       string
	Type       string
	Delay      int32
	Timeout    int32
	MaxRetries int32
	URLPath    string
}

// Client reaches the ELBs of one project in one region, both families.
type Client interface {
	// Check makes one cheap read (list load balancers, limit 1) to prove that the endpoint and the
	// credentials work. The controller calls it at start-up.
	Check(ctx context.Context) error
	// GetLoadBalancer finds an ELB of either family. ErrNotFound (via errors.Is) when it does not exist.
	GetLoadBalancer(ctx context.Context, id string) (*LoadBalancer, error)
	// API returns the calls for ELBs of class c (v3 for performance, v2 for union).
	API(c elbrules.Class) API
	// Writes is the number of write calls made so far by this client (every family).
	Writes() int64
	// ListLoadBalancers lists the project's ELBs of both families (inventory.go).
	ListLoadBalancers(ctx context.Context) ([]LoadBalancer, error)
}

// API is what the deployer does on ELBs of one family. Every call that changes the ELB counts
// as a write (see Client.Writes and WithWriteCounter). v2 has no batch member calls: the union
// implementation makes one call per member, each counted.
type API interface {
	ListListeners(ctx context.Context, lbID string) ([]Listener, error)
	CreateListener(ctx context.Context, spec ListenerSpec) (*Listener, error)
	DeleteListener(ctx context.Context, id string) error

	GetPool(ctx context.Context, id string) (*Pool, error)
	CreatePool(ctx context.Context, spec PoolSpec) (*Pool, error)
	DeletePool(ctx context.Context, id string) error

	ListMembers(ctx context.Context, poolID string) ([]Member, error)
	AddMembers(ctx context.Context, poolID string, specs []MemberSpec) ([]AddedMember, error)
	UpdateMemberWeights(ctx context.Context, poolID string, updates []WeightUpdate) error
	DeleteMembers(ctx context.Context, poolID string, memberIDs []string) error

	GetHealthMonitor(ctx context.Context, id string) (*HealthMonitor, error)
	CreateHealthMonitor(ctx context.Context, spec HealthMonitorSpec) (*HealthMonitor, error)
	DeleteHealthMonitor(ctx context.Context, id string) error

	// ListListenersOnPort lists the ELB's listeners on one port (any protocol) with the list
	// filters: one call, whatever the number of listeners on the ELB (settings.go).
	ListListenersOnPort(ctx context.Context, lbID string, port int32) ([]Listener, error)
	// UpdatePoolAlgorithm and UpdateHealthMonitor change a pool's settings (its creator may).
	UpdatePoolAlgorithm(ctx context.Context, poolID, algorithm string) error
	UpdateHealthMonitor(ctx context.Context, id string, spec HealthMonitorSpec) error
	// UpdateListenerDescription, UpdatePoolDescription and RenameMembers rewrite ownership marks
	// in place (a new cluster ID, inventory.go).
	UpdateListenerDescription(ctx context.Context, id, description string) error
	UpdatePoolDescription(ctx context.Context, id, description string) error
	RenameMembers(ctx context.Context, poolID string, renames []MemberRename) error

	// ListenerTags, TagListener and UntagListener read and write a listener's tags, where the
	// owner clusters keep their fleet records (tags.go, T10); v3 and v2 alike.
	ListenerTags(ctx context.Context, listenerID string) ([]Tag, error)
	TagListener(ctx context.Context, listenerID string, tags []Tag) error
	UntagListener(ctx context.Context, listenerID string, keys []string) error
}
