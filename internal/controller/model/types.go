// Package model turns a Service, its EndpointSlices and the cluster's Nodes into the ELB state this
// cluster wants: one listener per Service port, its pool, and this cluster's members with their
// weights. It is pure: no I/O, so every rule of R2–R4 is unit-testable.
package model

import (
	"time"

	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/common/ownership"
)

// Mode says what a cluster's members are.
type Mode string

const (
	// ModePassThrough: members are the ready target Pods (pod IP : targetPort). R2.
	ModePassThrough Mode = "pass-through"
	// ModeNode: members are the nodes running ready target Pods (node IP : nodePort). R3.
	ModeNode Mode = "node"
)

// RecyclePolicy is kubernetes.io/elb.multicluster-resource-recycle-policy.
type RecyclePolicy string

const (
	RecycleMemberOnly RecyclePolicy = "member-only"
	RecycleCascade    RecyclePolicy = "cascade"
)

// ServiceRef names the Service a desired state belongs to, within one cluster. It is the one the
// ownership marks name.
type ServiceRef = ownership.ServiceRef

// Desired is everything one Service of one cluster wants on one ELB.
type Desired struct {
	Service   ServiceRef
	ELBID     string
	Class     elbrules.Class
	MultiVPC  bool // members are IP-type (no subnet), S2 / R11
	Mode      Mode
	Recycle   RecyclePolicy
	Weight    int // the cluster weight W actually applied (elbrules.MinWeight–MaxWeight)
	Listeners []Listener
	// PreviousPorts are the ports the Service was bound to before (kubernetes.io/elb.listener-port,
	// R8): their listeners are read too, so that this cluster's members of a port the Service
	// dropped (or switched from TCP to UDP) are released at once (C1, C11).
	PreviousPorts []int32
	// DeregistrationDelay is how long a member no longer wanted keeps weight 0 before it is
	// removed (T1); 0 removes it at once.
	DeregistrationDelay time.Duration
}

// Listener is one Service port: one ELB listener on Port with one pool.
type Listener struct {
	Port     int32  // Service port = ELB listener protocol_port
	Protocol string // "TCP" or "UDP"
	Pool     Pool
	Members  []Member // this cluster's members only
	// EffectiveWeightSum is the sum of Members' weights; it differs from Desired.Weight when the
	// integer ceilings of R2/R3 distort the requested share.
	EffectiveWeightSum int
}

// Pool is the configuration a pool is created with when this Service is the first (R5).
type Pool struct {
	Algorithm     string         // ROUND_ROBIN, LEAST_CONNECTIONS, SOURCE_IP
	HealthMonitor *HealthMonitor // nil: no monitor
}

// HealthMonitor is the health check a new pool gets.
type HealthMonitor struct {
	Type       string // elbrules.MonitorTCP, elbrules.MonitorUDPConnect, elbrules.MonitorHTTP
	Delay      int32  // seconds between probes
	Timeout    int32  // seconds
	MaxRetries int32  // successes to mark up
	URLPath    string // HTTP only
}

// Member is one backend this cluster wants in the pool.
type Member struct {
	Address  string // pod IP (pass-through) or node InternalIP (node mode)
	Port     int32  // targetPort or nodePort
	Weight   int    // elbrules.MinWeight–MaxWeight
	SubnetID string // "" for IP-type members (multivpc)
	NodeName string // for reports and events
	Pods     int    // ready target Pods this member stands for
}
