package model

import (
	"fmt"
	"strings"

	"github.com/fleetlb/fleetlb/internal/common/elbrules"
)

// Annotations the reconciler writes on a Service it binds (defined here so that AnnotationDocs
// lists every annotation once).
const (
	// AnnotationBoundELB records the ELB(s) this cluster's members are on, so that a Service
	// whose kubernetes.io/elb.id changes or disappears still releases the right ELB.
	AnnotationBoundELB = "fleetlb.io/bound-elb-id"
	// AnnotationBoundClass records the --load-balancer-class of the controller that bound the
	// Service ("" for none).
	AnnotationBoundClass = "fleetlb.io/bound-class"
)

// AnnotationDoc is one Service annotation as operators read it (P6): who sets it, the values it
// takes, its default and what it does. `fleetlb-controller reference` renders AnnotationDocs into
// docs/reference.md; the annotations package's TestAnnotationDocsMatchTheParser checks that the
// parser reads every user annotation here, requires the required ones, accepts each Example and
// refuses an invalid value, and that no annotation constant is missing.
type AnnotationDoc struct {
	Name     string
	User     bool   // set by users; false: written by the controller
	Required bool   // a bound Service must have it
	Values   string // what it takes
	Default  string // when absent
	Meaning  string
	Example  string // a value the parser accepts (user annotations)
}

// AnnotationDocs is every annotation of a Service the controller reads or writes, built from the
// same constants the parser and the deployer use.
var AnnotationDocs = []AnnotationDoc{
	{Name: AnnotationELBID, User: true, Required: true, Values: "the ID of an existing ELB (letters, digits, `-`; at most 64)",
		Meaning: "The ELB to bind. fleetlb never creates or deletes ELBs.", Example: "0b8f8f6e-6a1f-4c4b-9c1e-2f0b7a1d2c3e"},
	{Name: AnnotationClass, User: true, Required: true, Values: code(string(elbrules.ClassUnion), string(elbrules.ClassPerformance)),
		Meaning: "The ELB's type: `union` a shared ELB (ELB v2 API), `performance` a dedicated ELB (v3 API); must match the ELB.", Example: string(elbrules.ClassPerformance)},
	{Name: AnnotationMultiCluster, User: true, Values: code("true", "false"), Default: "`false`",
		Meaning: "`true`: this controller binds the Service and shares the ELB listener with other clusters and VMs. Without it the Service is not fleetlb's (it is refused only when it would take over a shared listener).", Example: "true"},
	{Name: AnnotationMultiVPC, User: true, Values: code("true", "false"), Default: "`false`",
		Meaning: "`true`: members are IP-type (cross-VPC) instead of instance-type; needs a dedicated ELB with IP-type backends enabled, TCP ports only, and multicluster.", Example: "true"},
	{Name: AnnotationWeight, User: true, Values: fmt.Sprintf("integer %d-%d", elbrules.MinWeight, elbrules.MaxWeight), Default: "`--default-weight`, or the weight applied before (`" + AnnotationAppliedWeight + "`)",
		Meaning: "This cluster's weight W on the shared listener (0 drains this cluster); removing the annotation keeps the weight applied before.", Example: "80"},
	{Name: AnnotationRecyclePolicy, User: true, Values: code(string(RecycleMemberOnly), string(RecycleCascade)), Default: code(string(RecycleMemberOnly)),
		Meaning: "On Service deletion: `member-only` removes only this cluster's members; `cascade` removes the listener, its pool and all members (other clusters' and VMs' too). An edit that ends the binding is always member-only.", Example: string(RecycleCascade)},
	{Name: AnnotationAlgorithm, User: true, Values: code(elbrules.Algorithms...), Default: code(DefaultAlgorithm),
		Meaning: "The pool's algorithm when this Service creates the listener (CCE's name). SOURCE_IP ignores member weights.", Example: elbrules.AlgorithmLeastConnections},
	{Name: AnnotationHealthCheckFlag, User: true, Values: code("on", "off"), Default: "`on`",
		Meaning: "`off`: the pool this Service creates gets no health check (`off` leaves an existing monitor in place).", Example: "off"},
	{Name: AnnotationHealthCheckOption, User: true,
		Values: fmt.Sprintf("JSON: `protocol` TCP, HTTP (with `path`) or UDP; `delay` %d-%d, `timeout` %d-%d, `max_retries` %d-%d (numbers or strings)",
			elbrules.MonitorDelay.Min, elbrules.MonitorDelay.Max, elbrules.MonitorTimeout.Min, elbrules.MonitorTimeout.Max, elbrules.MonitorMaxRetries.Min, elbrules.MonitorMaxRetries.Max),
		Default: healthMonitorDefault(),
		Meaning: "The health check of the pool this Service creates; a field left out keeps its default. UDP ports are always checked with UDP_CONNECT.", Example: `{"protocol":"HTTP","path":"/healthz","delay":"5"}`},
	{Name: AnnotationDeregistrationDelay, User: true, Values: fmt.Sprintf("a Go duration (`30s`, `1m30s`) or seconds (`30`), 0 to %s", MaxDeregistrationDelay), Default: "`--deregistration-delay` (" + DefaultDeregistrationDelay.String() + ")",
		Meaning: "How long a member no longer wanted keeps weight 0 before removal, so connections in flight end; 0 removes at once.", Example: "30s"},
	{Name: AnnotationMemberReadyGate, User: true, Values: code("true", "false"), Default: "`false`",
		Meaning: "`true`: Pods that list the readiness gate `" + PodReadinessGate + "` in `spec.readinessGates` become Ready only once their ELB member is ONLINE.", Example: "true"},

	{Name: AnnotationListenerPort, Values: "ports, comma-separated", Meaning: "Written by the controller: the Service ports that have a listener (R8). Do not set it."},
	{Name: AnnotationAppliedWeight, Values: fmt.Sprintf("integer %d-%d", elbrules.MinWeight, elbrules.MaxWeight), Meaning: "Written by the controller: the W last applied (R4); while the weight annotation is absent it is the weight, so editing it changes the weight."},
	{Name: AnnotationFleetView, Values: "text", Meaning: "Written by the controller at each heartbeat: every owner's requested and effective weight and share per port, and stale owners."},
	{Name: AnnotationBoundELB, Values: "ELB IDs, comma-separated", Meaning: "Written by the controller with its finalizer: the ELB(s) this cluster's members are on, so that a changed or removed `" + AnnotationELBID + "` still releases the right ELB."},
	{Name: AnnotationBoundClass, Values: "a load balancer class or empty", Meaning: "Written by the controller with its finalizer: the `--load-balancer-class` of the controller that bound the Service; only that one releases it."},
}

// code renders values as `a` | `b`.
func code(values ...string) string {
	return "`" + strings.Join(values, "` | `") + "`"
}

func healthMonitorDefault() string {
	hm := DefaultHealthMonitor()
	return fmt.Sprintf("%s, delay %d, timeout %d, max_retries %d", hm.Type, hm.Delay, hm.Timeout, hm.MaxRetries)
}
