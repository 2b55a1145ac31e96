package model

// ServiceConfig is what a Service's annotations ask for, parsed and validated
// (internal/controller/annotations produces it). It is defined here, beside the desired-state types, so that
// Build can take it without the model depending on how annotations are spelled.
type ServiceConfig struct {
	ELBID        string        // kubernetes.io/elb.id
	Class        Class         // kubernetes.io/elb.class
	MultiCluster bool          // kubernetes.io/elb.multicluster: 'true'
	MultiVPC     bool          // kubernetes.io/elb.multivpc: 'true'
	Weight       *int          // kubernetes.io/elb.multicluster-loadbalancer-weight; nil when absent
	Recycle      RecyclePolicy // kubernetes.io/elb.multicluster-resource-recycle-policy (default member-only)

	// Pool settings a listener gets when this Service creates it (R5: later Services are told
	// when they ask for something else).
	Algorithm      string         // kubernetes.io/elb.lb-algorithm; "" = ROUND_ROBIN
	HealthCheckOff bool           // kubernetes.io/elb.health-check-flag: 'off'
	HealthCheck    *HealthMonitor // kubernetes.io/elb.health-check-option; nil = TCP / UDP_CONNECT defaults

	// Written by the controller, never by users.
	AppliedWeight *int    // last W applied to the ELB (R4); nil when never applied
	ListenerPorts []int32 // kubernetes.io/elb.listener-port as last written back (R8)
}
