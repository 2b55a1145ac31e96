package model

import (
	"time"

	"github.com/fleetlb/fleetlb/internal/common/elbrules"
)

// The Service annotations a ServiceConfig is read from (the source document's R1, and CCE's names
// for the pool settings), and the ones the controller writes back. This is their one definition:
// internal/controller/annotations parses them, and every message that tells a user what to set
// names them from here.
const (
	AnnotationELBID         = "kubernetes.io/elb.id"
	AnnotationClass         = "kubernetes.io/elb.class"
	AnnotationMultiCluster  = "kubernetes.io/elb.multicluster"
	AnnotationMultiVPC      = "kubernetes.io/elb.multivpc"
	AnnotationWeight        = "kubernetes.io/elb.multicluster-loadbalancer-weight"
	AnnotationRecyclePolicy = "kubernetes.io/elb.multicluster-resource-recycle-policy"
	// Pool settings used when this Service creates the listener (CCE's annotation names).
	AnnotationAlgorithm         = "kubernetes.io/elb.lb-algorithm"
	AnnotationHealthCheckFlag   = "kubernetes.io/elb.health-check-flag"
	AnnotationHealthCheckOption = "kubernetes.io/elb.health-check-option"
	// AnnotationListenerPort is written by the controller after the listeners exist (R8); users
	// must not set it.
	AnnotationListenerPort = "kubernetes.io/elb.listener-port"
	// AnnotationAppliedWeight records the cluster weight W last applied to the ELB, so that
	// removing the weight annotation keeps the weights already configured (R4).
	AnnotationAppliedWeight = "fleetlb.io/applied-weight"
	// AnnotationFleetView is written by the controller: the fleet view of each of the Service's
	// listeners, one line per port after an "as of <time>" line: every owner's requested weight
	// and share, effective weight and share, members, and STALE owners (T12). It is rewritten
	// only when a line changes: "as of" is when the view took its present form.
	AnnotationFleetView = "fleetlb.io/fleet-view"
	// AnnotationDeregistrationDelay is how long a member this cluster no longer wants (its Pod
	// terminating, a scale-down, the Service deleted, a port released) keeps weight 0 before it is
	// removed, so that connections in flight end and no new one reaches a stopping Pod (T1): a Go
	// duration ("20s", "1m30s") or seconds ("20"); 0 removes at once.
	AnnotationDeregistrationDelay = "fleetlb.io/deregistration-delay"
	// AnnotationMemberReadyGate opts a Service into the Pod readiness gate (T5): 'true' makes the
	// controller set the Pod condition PodReadinessGate on Pods that list it in
	// spec.readinessGates, True once the Pod's member is ONLINE on the ELB.
	AnnotationMemberReadyGate = "fleetlb.io/elb-member-ready"
)

// PodReadinessGate is the Pod condition type (spec.readinessGates[].conditionType) the
// controller sets True once a Pod's member is ONLINE on the ELB (T5). It is the annotation's name.
const PodReadinessGate = AnnotationMemberReadyGate

// DefaultDeregistrationDelay is the drain of a Service without AnnotationDeregistrationDelay
// (the flag --deregistration-delay changes it per cluster), and MaxDeregistrationDelay the
// longest one accepted: an hour, as long as any connection should outlive its backend's removal.
const (
	DefaultDeregistrationDelay = 15 * time.Second
	MaxDeregistrationDelay     = time.Hour
)

// ServiceConfig is what a Service's annotations ask for, parsed and validated
// (internal/controller/annotations produces it). It is defined here, beside the desired-state types, so that
// Build can take it without the model depending on how annotations are spelled.
type ServiceConfig struct {
	ELBID        string         // kubernetes.io/elb.id
	Class        elbrules.Class // kubernetes.io/elb.class
	MultiCluster bool           // kubernetes.io/elb.multicluster: 'true'
	MultiVPC     bool           // kubernetes.io/elb.multivpc: 'true'
	Weight       *int           // kubernetes.io/elb.multicluster-loadbalancer-weight; nil when absent
	Recycle      RecyclePolicy  // kubernetes.io/elb.multicluster-resource-recycle-policy (default member-only)

	// Pool settings a listener gets when this Service creates it (R5: later Services are told
	// when they ask for something else).
	Algorithm      string         // kubernetes.io/elb.lb-algorithm; "" = ROUND_ROBIN
	HealthCheckOff bool           // kubernetes.io/elb.health-check-flag: 'off'
	HealthCheck    *HealthMonitor // kubernetes.io/elb.health-check-option; nil = DefaultHealthMonitor

	// DeregistrationDelay is fleetlb.io/deregistration-delay; nil when absent (Settings'
	// DeregistrationDelay applies then).
	DeregistrationDelay *time.Duration
	// MemberReadyGate is fleetlb.io/elb-member-ready: 'true' (T5).
	MemberReadyGate bool

	// Written by the controller, never by users.
	AppliedWeight *int    // last W applied to the ELB (R4); nil when never applied
	ListenerPorts []int32 // kubernetes.io/elb.listener-port as last written back (R8)
}
