package reconciler

import (
	"github.com/fleetlb/fleetlb/internal/controller/deploy"
	"github.com/fleetlb/fleetlb/internal/controller/model"
)

// ReasonDoc is one reason the controller reports on a Service (an Event's reason, the reason of
// its condition fleetlb.io/Bound) or on a Pod (the readiness gate's condition): where it shows,
// what it means, and what to change (P8). `fleetlb-controller reference` renders the table into
// docs/reference.md; TestEveryReasonHasADoc keeps it equal to the reason constants in
// internal/controller/**.
type ReasonDoc struct {
	Reason  string
	Where   string // Event type and/or condition
	Meaning string
	Fix     string
}

// Where a reason shows.
const (
	whereWarningRefusal = "Warning Event; " + whereCondition
	whereWarning        = "Warning Event"
	whereNormal         = "Normal Event"
	whereCondition      = "condition `" + ConditionBound + "` False"
)

// ReasonDocs is every reason, in the order an operator meets them: refusals of the Service's
// settings, then the ELB's, then what happens while bound, releasing, and the fleet.
var ReasonDocs = []ReasonDoc{
	{ReasonBound, "condition `" + ConditionBound + "` True", "The Service is bound: listeners exist on the ELB, this cluster's members are applied with its weight, `status.loadBalancer.ingress` has the ELB's address.", "Nothing."},
	{ReasonApplied, whereNormal, "A reconcile changed the ELB: members added, updated (weights) or removed, listeners created. The note counts each.", "Nothing; one per change, not per resync."},

	// The Service's own settings.
	{ReasonInvalidAnnotations, whereWarningRefusal, "An annotation is missing or invalid (every problem at once, each naming the annotation, the value found and what to set). Nothing is changed on the ELB.", "Fix the annotations the note names (see *Service annotations* above); the Service is reconciled again at once."},
	{ReasonInvalidService, whereWarningRefusal, "The Service cannot become ELB listeners and members: a port protocol other than TCP or UDP, a port without a node port in overlay mode (`spec.allocateLoadBalancerNodePorts: false`), a weight out of range.", "Change the Service as the note says (protocol, `spec.allocateLoadBalancerNodePorts: true`)."},
	{deploy.ReasonInvalidDesired, whereWarningRefusal, "The desired state failed the deployer's own check before any ELB call: an invalid `--cluster-id`, a port outside 1-65535 or twice, a weight or recycle policy out of range.", "Change the Service or the controller's flag the note names."},
	{ReasonNotMultiCluster, whereWarningRefusal, "A Service without " + isTrue(model.AnnotationMultiCluster) + " names ports whose listeners on the ELB are shared across clusters; it must not take them over, so nothing is changed.", "Add " + isTrue(model.AnnotationMultiCluster) + " to join the shared listeners, or use other ports or another ELB."},
	{ReasonSystemAnnotation, whereWarning, "An annotation the controller writes (" + code(model.AnnotationListenerPort) + ", " + code(model.AnnotationAppliedWeight) + ") was edited into an unreadable value; it is ignored and rewritten, never acted upon.", "Nothing; do not edit the annotations the controller writes."},

	// The ELB refuses what the Service asks.
	{deploy.ReasonELBNotFound, whereWarningRefusal, code(model.AnnotationELBID) + " names no ELB in this project and region (fleetlb never creates ELBs).", "Set " + code(model.AnnotationELBID) + " to the ID of an existing ELB; check `--project-id`, `--region` and `--elb-endpoint` point at its region."},
	{deploy.ReasonELBClassMismatch, whereWarningRefusal, code(model.AnnotationClass) + " says `union` (shared) but the ELB is dedicated, or the reverse.", "Set " + code(model.AnnotationClass) + " to the ELB's type as the note says."},
	{deploy.ReasonMultiVPCInvalid, whereWarningRefusal, isTrue(model.AnnotationMultiVPC) + " (IP-type members) cannot work here: a shared ELB, IP-type backends not enabled on the ELB, a UDP port or pool, or the existing pool accepts only the other member type.", "Use a dedicated ELB with IP-type backends enabled (`ip_target_enable`) and TCP ports, or remove " + code(model.AnnotationMultiVPC) + ", as the note says."},
	{deploy.ReasonProtocolConflict, whereWarningRefusal, "The ELB already has a listener on the Service's port with the other protocol (TCP vs UDP).", "Change the Service's port or protocol, or remove that listener from the ELB."},
	{deploy.ReasonListenerNotShared, whereWarningRefusal, "The listener on that port belongs to a Service of another cluster that is not multi-cluster; only listeners of multi-cluster Services (or made by hand) are shared.", "Use another port or ELB, or set " + isTrue(model.AnnotationMultiCluster) + " on the Service that owns the listener."},
	{deploy.ReasonMemberSubnet, whereWarningRefusal, "Instance-type members need a subnet of the ELB's VPC, and the member addresses are in none of its subnets.", "Put the nodes (or, with `--pod-network vpc`, the Pods) in a subnet of the ELB's VPC; or pass `--subnet-id`; or use IP-type members (" + isTrue(model.AnnotationMultiVPC) + " on a dedicated ELB). Check the credentials may list VPC subnets."},
	{deploy.ReasonMemberQuota, whereWarningRefusal, "The ELB refused to add members: the project's member quota (per pool or in total) is used up. Removals and weight changes were applied; the other ports too.", "Raise the ELB member quota, or serve fewer endpoints from this cluster (with `--pod-network overlay` the members are the nodes, not the Pods)."},
	{ReasonELBError, whereWarningRefusal, "An ELB API call failed (unreachable, throttled, 5xx, 401/403) and is retried with backoff; `fleetlb_reconcile_errors_total{reason}` counts them by kind.", "Unauthorized/forbidden: check `HUAWEICLOUD_SDK_AK`/`SK` and the IAM permissions (docs/operators.md). Unreachable: `--elb-endpoint`, DNS, egress. Throttled: lower `--elb-qps` across the fleet."},

	// While bound.
	{deploy.WarnConfigDiffers, whereWarning, "The Service asks for another algorithm or health check than the listener's pool has; the pool keeps its creator's settings (R5).", "Align the Service's pool annotations with the pool, or change the pool on the ELB (or through the Service that created it)."},
	{deploy.WarnAddressTaken, whereWarning, "A backend address:port of this cluster is already in the pool as a member this cluster does not own (a VM added by hand, another cluster); it is left alone and not added again.", "Remove the duplicate by hand if it is stale, or leave it: the address is served once."},
	{deploy.WarnSourceIPShares, whereWarning, "The pool balances by SOURCE_IP, which ignores member weights other than 0: this cluster's weight is not applied; shares follow member counts.", "Use `ROUND_ROBIN` or `LEAST_CONNECTIONS` (" + code(model.AnnotationAlgorithm) + " on the Service that created the listener) for weighted shares."},
	{ReasonWeightDistorted, whereWarning, "The integer weight rules give this cluster more than its requested share over this number of members.", "Pick a cluster weight that the number of ready Pods divides evenly, or accept the rounding."},
	{ReasonIPv6Only, whereCondition, "The Service is IPv6-only; ELB members are IPv4 addresses, so this cluster has no member. The listeners stay for the other clusters.", "Set `spec.ipFamilyPolicy: PreferDualStack` (or `RequireDualStack`) with IPv4 in `spec.ipFamilies`."},
	{ReasonNoUsableEndpoints, whereCondition, "This cluster has no member on some port: no ready endpoint, or no node it can use. The listeners stay for the other clusters and VMs.", "Make Pods ready (`kubectl get endpointslices -l kubernetes.io/service-name=NAME`); in overlay mode check the nodes have InternalIP addresses."},
	{ReasonMemberOnline, "Pod condition " + code(model.AnnotationMemberReadyGate) + " True", "The readiness gate (" + isTrue(model.AnnotationMemberReadyGate) + "): the Pod's ELB member is ONLINE, so the Pod may become Ready.", "Nothing. A Pod that stays un-Ready: its member is not ONLINE yet (health check, security group), see the ELB's member status."},

	// Releasing.
	{ReasonDraining, whereNormal, "Members no longer wanted (the Service deleted, a port released, an ELB changed) stay at weight 0 for the deregistration delay before removal; the finalizer stays until then.", "Nothing; " + code(model.AnnotationDeregistrationDelay) + " sets the wait."},
	{ReasonReleased, whereNormal, "This cluster's share of an ELB was released: its members (`member-only`) or, with `cascade`, the listener and pool too.", "Nothing."},
	{ReasonReleaseFailed, whereWarning, "Releasing an ELB failed: retried while the error is transient; when the ELB refuses (e.g. the ELB is gone), the Service is let go and the note says what was left behind.", "Follow the note: remove this cluster's members (named `fleetlb/<cluster-id>/<namespace>/<service>/<port>`) by hand, or remove the finalizer " + code(Finalizer) + " if the ELB stays unreachable (the sweep removes them later)."},
	{deploy.WarnListenerSkipped, whereWarning, "`cascade` did not remove a listener that belongs to a Service that is not multi-cluster (it is not this Service's to remove).", "Nothing, or remove the listener by hand if nobody uses it."},

	// The fleet.
	{ReasonFleetShareOff, whereWarning, "This cluster's share of the pool's traffic is more than the tolerance off the share its weight asks for (integer ceilings); the note gives replica counts that fix it.", "Scale to one of the replica counts the note names, or accept the difference."},
	{ReasonFleetRecordNoRoom, whereWarning, "The listener has no room for another tag (20), so this cluster's fleet record is not written; it keeps serving, and others see it as `unknown (no record)`.", "Remove unused tags from the listener (`elbctl fleet orphans`, `elbctl fleet reclaim`)."},
	{ReasonFleetRecordFailed, whereWarning, "Writing or reading the fleet records (listener tags) failed; retried at the next heartbeat.", "Usually transient; if it persists, check the ELB API and that the credentials may read and change listener tags."},
	{ReasonClusterIDCollision, whereWarningRefusal, "Another live install writes fleet records with this cluster's ID on this ELB (a cluster restored from another's backup, or one `--cluster-id` twice); this controller stops changing members there. Nothing is removed.", "Give one cluster its own ID (`--cluster-id NEW --adopt-cluster-id OLD`) or stop one; it ends once the other's heartbeat is older than `--fleet-stale-after`."},
	{ReasonStaleOwnerReclaim, "Normal Event (Warning when it failed)", "With `--reclaim-stale-after`, the members and record of an owner whose heartbeat stopped were removed from a listener this cluster uses.", "Nothing; a failure is retried at the next heartbeat."},
}

// code renders an annotation's name as Markdown code, isTrue the annotation set to 'true'.
func code(annotation string) string   { return "`" + annotation + "`" }
func isTrue(annotation string) string { return "`" + annotation + ": 'true'`" }
