// Package controller is the fleetlb-controller's reconciler: for every Service of type
// LoadBalancer with kubernetes.io/elb.multicluster: 'true' it builds the desired ELB state
// (internal/controller/model), applies it through a Deployer (internal/controller/deploy), and reports back on the
// Service: finalizer, Events, status.conditions, status.loadBalancer.ingress and the
// kubernetes.io/elb.listener-port annotation (R8).
package reconciler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/controller/annotations"
	"github.com/fleetlb/fleetlb/internal/controller/deploy"
	"github.com/fleetlb/fleetlb/internal/controller/model"
	"github.com/fleetlb/fleetlb/internal/controller/weights"
)

const (
	// Finalizer keeps a bound Service until this cluster's share of the ELB is released (R7).
	Finalizer = "fleetlb.io/elb-binding"
	// BoundELBAnnotation records the ELB this Service's members were put on, so that a Service
	// whose kubernetes.io/elb.id changes or disappears still releases the right ELB. While a
	// re-pointed elb.id is applied it lists the new ELB first, then the old ones, comma-separated.
	BoundELBAnnotation = model.AnnotationBoundELB
	// BoundClassAnnotation records the --load-balancer-class of the controller that bound the
	// Service ("" for none), written with the finalizer. Controllers of different classes in one
	// cluster share the finalizer's name; only the one that bound a Service releases it (C8).
	BoundClassAnnotation = model.AnnotationBoundClass
	// ConditionBound is the status.conditions type this controller owns on a Service.
	ConditionBound = "fleetlb.io/Bound"
)

// Condition and Event reasons the controller itself uses (the deployer's refusal and warning
// reasons are passed through as they are).
const (
	ReasonBound              = "Bound"
	ReasonInvalidAnnotations = "InvalidAnnotations"
	ReasonInvalidService     = "InvalidService"
	ReasonELBError           = "ELBError"
	ReasonReleased           = "Released"
	ReasonReleaseFailed      = "ReleaseFailed"
	ReasonDraining           = "Draining"
	ReasonWeightDistorted    = "WeightShareDistorted"
	ReasonSystemAnnotation   = "SystemAnnotationIgnored"
	ReasonApplied            = "Applied"
	// ReasonNotMultiCluster: a Service without multicluster would land on a shared listener (R6).
	ReasonNotMultiCluster = "ListenerShared"
)

// Deployer is what the reconciler needs from internal/controller/deploy (an interface so that the
// reconciler's own decisions are unit-testable).
type Deployer interface {
	Apply(ctx context.Context, desired model.Desired) (deploy.Result, error)
	Release(ctx context.Context, desired model.Desired) (deploy.Result, error)
	SharedListeners(ctx context.Context, elbID string, ports []int32) ([]deploy.SharedListener, error)
}

// Reconciler reconciles Services.
type Reconciler struct {
	Client   client.Client
	Recorder events.EventRecorder
	Deployer Deployer
	Settings model.Settings
	// Resync is how often a bound Service is reconciled again with no change in the cluster, to
	// repair drift made by hand on the ELB. 0 disables it.
	Resync  time.Duration
	Metrics *Metrics // nil: no metrics
	Log     logr.Logger
	// Class is --load-balancer-class: "" handles Services without spec.loadBalancerClass (or
	// with LoadBalancerClass); a name handles only Services of that class (C8).
	Class string
	// IngressIPMode is written into status.loadBalancer.ingress[].ipMode; nil leaves it out (C9).
	IngressIPMode *corev1.LoadBalancerIPMode
	// Fleet keeps this cluster's fleet records and the fleet view (fleet.go); nil: none.
	Fleet *Fleet

	notices noticeBook
}

// reconcile is Reconcile (reconcile.Reconciler; metrics.go counts its results).
func (r *Reconciler) reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := r.Log.WithValues("service", req.NamespacedName)
	ctx = logr.NewContext(ctx, log)

	var svc corev1.Service
	if err := r.Client.Get(ctx, req.NamespacedName, &svc); err != nil {
		if apierrors.IsNotFound(err) {
			r.Metrics.forget(req.Namespace, req.Name)
			r.notices.forget(req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}

	if !r.ourClass(&svc) && !r.holdsBinding(&svc) || r.boundByOther(&svc) {
		return ctrl.Result{}, nil // another controller's Service or binding (C8): never touched
	}
	switch {
	case !svc.DeletionTimestamp.IsZero():
		if !r.holdsBinding(&svc) {
			return ctrl.Result{}, nil
		}
		return r.unbind(ctx, &svc, true)
	case !r.managed(&svc) && r.holdsBinding(&svc) && multiClusterMistyped(&svc):
		// A typo must not release the binding; only 'false' or removing the annotation does.
		_, err := annotations.Parse(svc.Annotations)
		return r.refuse(ctx, &svc, ReasonInvalidAnnotations, err.Error())
	case !r.managed(&svc) && !r.holdsBinding(&svc) && r.multiClusterWithoutELB(&svc):
		// R10: it asks for a cross-cluster binding but names no ELB; say so instead of ignoring it.
		_, err := annotations.Parse(svc.Annotations)
		return r.refuse(ctx, &svc, ReasonInvalidAnnotations, err.Error())
	case !r.managed(&svc):
		if r.holdsBinding(&svc) {
			// multicluster turned off, elb.id removed or type changed: release like a deletion.
			return r.unbind(ctx, &svc, false)
		}
		return r.checkUnmanaged(ctx, &svc)
	}
	return r.bind(ctx, &svc)
}

// LoadBalancerClass is the spec.loadBalancerClass this controller answers to besides none when
// it runs without --load-balancer-class.
const LoadBalancerClass = "fleetlb.io/elb"

// managed reports whether the controller binds this Service: type LoadBalancer of our class,
// naming an ELB, with kubernetes.io/elb.multicluster: 'true'.
func (r *Reconciler) managed(svc *corev1.Service) bool {
	return r.isOurLoadBalancer(svc) &&
		annotations.HasELBID(svc.Annotations) && annotations.IsMultiCluster(svc.Annotations)
}

func (r *Reconciler) isOurLoadBalancer(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeLoadBalancer && r.ourClass(svc)
}

// ourClass (C8): with --load-balancer-class NAME only Services of class NAME are ours; without
// it, Services with no class (the source document's annotations alone) or LoadBalancerClass.
// A class naming another controller (CCE's own, say) is never ours.
func (r *Reconciler) ourClass(svc *corev1.Service) bool {
	c := svc.Spec.LoadBalancerClass
	if r.Class != "" {
		return c != nil && *c == r.Class
	}
	return c == nil || *c == LoadBalancerClass
}

// holdsBinding: the Service holds the finalizer and this controller put it there. A
// LoadBalancer Service's class cannot change, so it decides (a hand edit of the bound class is
// not obeyed); once the type changed away (Kubernetes clears the class then) the bound class says
// which controller bound it; a binding without it (written before it existed) is taken to be of
// the Service's class.
func (r *Reconciler) holdsBinding(svc *corev1.Service) bool {
	if !controllerutil.ContainsFinalizer(svc, Finalizer) {
		return false
	}
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		return r.ourClass(svc)
	}
	if class, ok := svc.Annotations[BoundClassAnnotation]; ok {
		return class == r.Class
	}
	return r.ourClass(svc)
}

// boundByOther: the finalizer is there for a controller of another class, which alone releases
// the binding (a Service bound by it whose class was then cleared, say). Until it does, this
// controller stays away.
func (r *Reconciler) boundByOther(svc *corev1.Service) bool {
	return controllerutil.ContainsFinalizer(svc, Finalizer) && !r.holdsBinding(svc)
}

// multiClusterMistyped: kubernetes.io/elb.multicluster is present with a value other than true/false.
func multiClusterMistyped(svc *corev1.Service) bool {
	v, ok := svc.Annotations[model.AnnotationMultiCluster]
	v = strings.ToLower(strings.TrimSpace(v))
	return ok && v != "true" && v != "false"
}

// boundELBs reads BoundELBAnnotation: the ELB the Service is bound to, then any it was bound to
// before kubernetes.io/elb.id was re-pointed and that are not released yet, comma-separated.
func boundELBs(svc *corev1.Service) []string {
	var out []string
	for _, id := range strings.Split(svc.Annotations[BoundELBAnnotation], ",") {
		if id = strings.TrimSpace(id); id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// annotationInvalid reports whether err (from annotations.Parse) has a problem with annotation key.
func annotationInvalid(err error, key string) bool {
	var errs annotations.Errors
	return errors.As(err, &errs) && slices.ContainsFunc(errs, func(e *annotations.FieldError) bool { return e.Annotation == key })
}

// multiClusterWithoutELB: a LoadBalancer Service with multicluster: 'true' but no kubernetes.io/elb.id.
func (r *Reconciler) multiClusterWithoutELB(svc *corev1.Service) bool {
	return r.isOurLoadBalancer(svc) && annotations.IsMultiCluster(svc.Annotations) && !annotations.HasELBID(svc.Annotations)
}

// unmanagedOnELB: a LoadBalancer Service naming an ELB without multicluster; R6 applies to it.
func (r *Reconciler) unmanagedOnELB(svc *corev1.Service) bool {
	return r.isOurLoadBalancer(svc) &&
		annotations.HasELBID(svc.Annotations) && !annotations.IsMultiCluster(svc.Annotations)
}

// requeue comes back at the fleet records' heartbeat (T10) or the resync, whichever is first. No
// change asked for it: it waits behind the reconciles events ask for (the workqueue's low
// priority, F16), so that an endpoint change is applied first even while the heartbeats of a
// thousand Services are due.
func (r *Reconciler) requeue() ctrl.Result {
	after := r.Resync
	if r.Fleet != nil && (r.Resync == 0 || r.Fleet.Heartbeat < r.Resync) {
		after = r.Fleet.Heartbeat
	}
	low := handler.LowPriority
	return ctrl.Result{RequeueAfter: after, Priority: &low}
}

// requeueForDrain comes back when the first draining member is due for removal (T1), or at the
// resync, whichever is first.
func (r *Reconciler) requeueForDrain(wait time.Duration) ctrl.Result {
	res := r.requeue()
	if wait > 0 && (res.RequeueAfter == 0 || wait < res.RequeueAfter) {
		res.RequeueAfter = wait
	}
	return res
}

func (r *Reconciler) bind(ctx context.Context, svc *corev1.Service) (ctrl.Result, error) {
	log := logr.FromContextOrDiscard(ctx)
	// The fleet records, Apply and the fleet view read the same ELB, listeners and pool: each
	// read is sent once per bind, again only after a write (F14).
	ctx = elbclient.WithReadReuse(ctx)
	cfg, err := annotations.ParseService(svc)
	var sys []notice
	for _, w := range cfg.Warnings {
		sys = append(sys, notice{ReasonSystemAnnotation, "Reconcile", w})
	}
	r.warnOnce(svc, "system", sys...)
	if err != nil {
		// The user must fix the annotations; the ELB stays as it is and retrying cannot help.
		return r.refuse(ctx, svc, ReasonInvalidAnnotations, err.Error())
	}

	// Record the finalizer and the ELB before the first write to it, so that nothing written can
	// be forgotten: a Service deleted or re-pointed later still releases this ELB. When
	// kubernetes.io/elb.id was re-pointed, the ELBs bound before stay recorded (and serving) until
	// the new one holds the members: a typo or a refused ELB must not drain the working binding.
	var previous []string
	for _, id := range boundELBs(svc) {
		if id != cfg.ELBID {
			previous = append(previous, id)
		}
	}
	if err := r.patchMeta(ctx, svc, func(s *corev1.Service) {
		controllerutil.AddFinalizer(s, Finalizer)
		setAnnotation(s, BoundClassAnnotation, r.Class)
		setAnnotation(s, BoundELBAnnotation, strings.Join(append([]string{cfg.ELBID}, previous...), ","))
	}); err != nil {
		return ctrl.Result{}, err
	}

	in, err := r.input(ctx, svc, cfg.ServiceConfig)
	if err != nil {
		return ctrl.Result{}, err
	}
	gated, err := r.gatedPods(ctx, svc, cfg.ServiceConfig) // T5
	if err != nil {
		return ctrl.Result{}, err
	}
	in.GatePending = gatePending(gated)
	desired, err := model.Build(in)
	if err != nil {
		return r.refuse(ctx, svc, ReasonInvalidService, err.Error())
	}
	// Ports bound before: a port dropped or switched to another protocol is released at once.
	desired.PreviousPorts = cfg.ListenerPorts

	fleet, other := r.fleetBefore(ctx, svc, desired)
	if other != "" {
		return r.refuse(ctx, svc, ReasonClusterIDCollision, other) // T15
	}
	res, err := r.Deployer.Apply(ctx, desired)
	r.Metrics.observeWrites(res.Writes)
	var refusal *deploy.Refusal
	if errors.As(err, &refusal) {
		return r.refuse(ctx, svc, refusal.Reason, refusal.Message)
	}
	if err != nil {
		r.Metrics.observeError()
		r.event(svc, corev1.EventTypeWarning, ReasonELBError, "Apply", "applying to ELB %s failed, will retry: %v", desired.ELBID, err)
		_ = r.setCondition(ctx, svc, metav1.ConditionFalse, ReasonELBError, fmt.Sprintf("applying to ELB %s failed, retrying: %v", desired.ELBID, err))
		return ctrl.Result{}, err
	}
	var stillDraining []string
	for _, bound := range previous {
		// An edit, not a deletion: member-only whatever the policy (C1).
		old, err := r.release(ctx, svc, bound, model.RecycleMemberOnly, desired.DeregistrationDelay)
		var refusal *deploy.Refusal
		if err != nil && !errors.As(err, &refusal) {
			return ctrl.Result{}, err
		}
		if refusal != nil {
			r.event(svc, corev1.EventTypeWarning, ReasonReleaseFailed, "Release",
				"could not release ELB %s after %s changed to %s: %s; remove this cluster's members there by hand", bound, model.AnnotationELBID, cfg.ELBID, refusal.Message)
		} else if old.Draining == 0 {
			r.event(svc, corev1.EventTypeNormal, ReasonReleased, "Release",
				"released ELB %s (%s changed to %s): %d members and %d listeners removed", bound, model.AnnotationELBID, cfg.ELBID, old.MembersRemoved, old.ListenersDeleted)
		}
		res.AddDrains(old)
		if old.Draining > 0 {
			stillDraining = append(stillDraining, bound) // stays recorded until its members are gone (T1)
		}
	}
	var warnings []notice
	for _, w := range res.Warnings {
		warnings = append(warnings, notice{w.Reason, "Apply", w.Message})
	}
	r.warnOnce(svc, "apply", warnings...)
	r.warnOnce(svc, "refusal") // the refusal, if any, is over
	r.reportShares(svc, desired)
	view := r.fleetAfter(ctx, svc, desired, fleet, res.Writes > 0)
	if res.Writes > 0 {
		log.Info("applied", "elb", desired.ELBID, "writes", res.Writes, "added", res.MembersAdded,
			"updated", res.MembersUpdated, "removed", res.MembersRemoved, "listenersCreated", res.ListenersCreated)
		r.event(svc, corev1.EventTypeNormal, ReasonApplied, "Apply",
			"ELB %s: %d members added, %d updated, %d removed, %d listeners created (cluster weight %d, %s mode)",
			desired.ELBID, res.MembersAdded, res.MembersUpdated, res.MembersRemoved, res.ListenersCreated, desired.Weight, desired.Mode)
	}

	// Write-back (R8, R4).
	if err := r.patchMeta(ctx, svc, func(s *corev1.Service) {
		if len(res.ListenerPorts) > 0 {
			setAnnotation(s, model.AnnotationListenerPort, annotations.FormatListenerPorts(res.ListenerPorts))
		} else {
			delete(s.Annotations, model.AnnotationListenerPort)
		}
		setAnnotation(s, model.AnnotationAppliedWeight, strconv.Itoa(desired.Weight))
		setAnnotation(s, BoundELBAnnotation, strings.Join(append([]string{cfg.ELBID}, stillDraining...), ","))
		if view != "" && !sameView(s.Annotations[model.AnnotationFleetView], view) {
			setAnnotation(s, model.AnnotationFleetView, view)
		}
	}); err != nil {
		return ctrl.Result{}, err
	}
	msg := fmt.Sprintf("bound to ELB %s, listener port(s) %s, cluster weight %d (%s mode)",
		desired.ELBID, annotations.FormatListenerPorts(res.ListenerPorts), desired.Weight, desired.Mode)
	// Not Bound with zero members (C10): the condition says why a port has none.
	status, reason := metav1.ConditionTrue, ReasonBound
	if why, whyMsg := whyNoMembers(in, desired); why != "" {
		status, reason, msg = metav1.ConditionFalse, why, whyMsg+" ("+msg+")"
	}
	if err := r.patchStatus(ctx, svc, func(s *corev1.Service) {
		if res.VIP != "" {
			s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: res.VIP, IPMode: r.IngressIPMode}}
		}
		setCondition(s, status, reason, msg)
	}); err != nil {
		return ctrl.Result{}, err
	}
	result := r.requeueForDrain(res.DrainWait)
	waiting, err := r.openGates(ctx, gated, desired.Mode, res.Online)
	if err != nil {
		return ctrl.Result{}, err
	}
	if waiting > 0 && (result.RequeueAfter == 0 || gatePoll < result.RequeueAfter) {
		result.RequeueAfter = gatePoll // until their members are ONLINE (T5)
		result.Priority = nil          // a rollout waits on it
	}
	return result, nil
}

// refuse reports a problem the user must fix: a Warning Event and the condition; no retry with
// backoff (the periodic resync and any change to the Service try again).
func (r *Reconciler) refuse(ctx context.Context, svc *corev1.Service, reason, msg string) (ctrl.Result, error) {
	logr.FromContextOrDiscard(ctx).Info("refused", "reason", reason, "message", msg)
	r.Metrics.observeRefusal(reason)
	r.warnOnce(svc, "refusal", notice{reason, "Reconcile", msg})
	if err := r.setCondition(ctx, svc, metav1.ConditionFalse, reason, msg); err != nil {
		return ctrl.Result{}, err
	}
	return r.requeue(), nil
}

// unbind releases the Service's share of the ELB per its recycle policy, then drops the
// finalizer and what the controller wrote on the Service.
func (r *Reconciler) unbind(ctx context.Context, svc *corev1.Service, deleting bool) (ctrl.Result, error) {
	cfg, perr := annotations.Parse(svc.Annotations) // best effort: the Service may be half-edited
	// The bound ELBs (several while a re-pointed elb.id is being applied, see bind), and the one
	// the Service names.
	elbIDs := boundELBs(svc)
	if cfg.ELBID != "" && !slices.Contains(elbIDs, cfg.ELBID) && !annotationInvalid(perr, model.AnnotationELBID) {
		elbIDs = append(elbIDs, cfg.ELBID)
	}
	// Cascade (R7) is for deleting the Service only; an edit that ends the binding (multicluster
	// off, elb.id removed, type or class changed) releases member-only (C1).
	policy := cfg.Recycle
	if policy == "" || !deleting {
		policy = model.RecycleMemberOnly
	}
	delay := model.DeregistrationDelay(cfg.ServiceConfig, r.Settings)
	var drain deploy.Result
	for _, elbID := range elbIDs {
		res, err := r.release(ctx, svc, elbID, policy, delay)
		var refusal *deploy.Refusal
		switch {
		case errors.As(err, &refusal):
			// Retrying cannot help; say what is left behind and let the Service go.
			r.event(svc, corev1.EventTypeWarning, ReasonReleaseFailed, "Release",
				"could not release ELB %s: %s; remove this cluster's members by hand", elbID, refusal.Message)
		case err != nil:
			r.event(svc, corev1.EventTypeWarning, ReasonReleaseFailed, "Release",
				"releasing ELB %s failed, will retry: %v; if the ELB stays unreachable, remove the finalizer %s from the Service to let it go: the controller's sweep removes this cluster's members (named fleetlb/%s/%s/%s/<port>) once the ELB answers again",
				elbID, err, Finalizer, r.Settings.ClusterID, svc.Namespace, svc.Name)
			return ctrl.Result{}, err
		case res.Draining > 0:
			// T1: the members stay at weight 0 until their drain ends; the finalizer stays too.
			if res.Writes > 0 {
				r.event(svc, corev1.EventTypeNormal, ReasonDraining, "Release",
					"ELB %s: %d members of this cluster drain at weight 0 for %s (%s) before they are removed", elbID, res.Draining, delay, model.AnnotationDeregistrationDelay)
			}
			drain.AddDrains(res)
		default:
			r.event(svc, corev1.EventTypeNormal, ReasonReleased, "Release",
				"released ELB %s (%s): %d members and %d listeners removed", elbID, policy, res.MembersRemoved, res.ListenersDeleted)
			r.releaseRecord(ctx, svc, elbID)
		}
	}
	if drain.Draining > 0 {
		return ctrl.Result{RequeueAfter: drain.DrainWait}, nil
	}
	r.Metrics.forget(svc.Namespace, svc.Name)
	r.notices.forget(client.ObjectKeyFromObject(svc))
	if err := r.patchMeta(ctx, svc, func(s *corev1.Service) {
		controllerutil.RemoveFinalizer(s, Finalizer)
		delete(s.Annotations, BoundELBAnnotation)
		delete(s.Annotations, BoundClassAnnotation)
		delete(s.Annotations, model.AnnotationListenerPort)
		delete(s.Annotations, model.AnnotationAppliedWeight)
		delete(s.Annotations, model.AnnotationFleetView)
	}); err != nil {
		if deleting && apierrors.IsNotFound(err) {
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if deleting {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{}, r.patchStatus(ctx, svc, func(s *corev1.Service) {
		s.Status.LoadBalancer.Ingress = nil
		meta.RemoveStatusCondition(&s.Status.Conditions, ConditionBound)
	})
}

func (r *Reconciler) release(ctx context.Context, svc *corev1.Service, elbID string, policy model.RecyclePolicy, delay time.Duration) (deploy.Result, error) {
	d := model.Desired{
		Service:   model.ServiceRef{ClusterID: r.Settings.ClusterID, Namespace: svc.Namespace, Name: svc.Name},
		ELBID:     elbID,
		Recycle:   policy,
		Listeners: serviceListeners(svc),

		DeregistrationDelay: delay,
	}
	res, err := r.Deployer.Release(ctx, d)
	r.Metrics.observeWrites(res.Writes)
	return res, err
}

// checkUnmanaged warns about a LoadBalancer Service without multicluster whose ports land on a
// listener shared across clusters (R6). It never writes to the ELB.
func (r *Reconciler) checkUnmanaged(ctx context.Context, svc *corev1.Service) (ctrl.Result, error) {
	hasCond := meta.FindStatusCondition(svc.Status.Conditions, ConditionBound) != nil
	if !r.unmanagedOnELB(svc) {
		if hasCond {
			return ctrl.Result{}, r.patchStatus(ctx, svc, func(s *corev1.Service) {
				meta.RemoveStatusCondition(&s.Status.Conditions, ConditionBound)
			})
		}
		return ctrl.Result{}, nil
	}
	elbID := strings.TrimSpace(svc.Annotations[model.AnnotationELBID])
	var ports []int32
	for _, p := range svc.Spec.Ports {
		ports = append(ports, p.Port)
	}
	shared, err := r.Deployer.SharedListeners(ctx, elbID, ports)
	if err != nil {
		return ctrl.Result{}, err
	}
	if len(shared) == 0 {
		if hasCond {
			return r.requeue(), r.patchStatus(ctx, svc, func(s *corev1.Service) {
				meta.RemoveStatusCondition(&s.Status.Conditions, ConditionBound)
			})
		}
		return r.requeue(), nil
	}
	var names []string
	for _, s := range shared {
		names = append(names, s.String())
	}
	msg := fmt.Sprintf("ELB %s listener(s) %s are shared across clusters, and this Service lacks %s: 'true'; it must not take them over. Add %s: 'true' to join them, or use other ports or another ELB",
		elbID, strings.Join(names, ", "), model.AnnotationMultiCluster, model.AnnotationMultiCluster)
	return r.refuse(ctx, svc, ReasonNotMultiCluster, msg)
}

// input gathers the Service's ready endpoints and the nodes.
func (r *Reconciler) input(ctx context.Context, svc *corev1.Service, cfg model.ServiceConfig) (model.Input, error) {
	var eps discoveryv1.EndpointSliceList
	if err := r.Client.List(ctx, &eps, client.InNamespace(svc.Namespace),
		client.MatchingLabels{discoveryv1.LabelServiceName: svc.Name}); err != nil {
		return model.Input{}, fmt.Errorf("list EndpointSlices of %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	var nodes corev1.NodeList
	if err := r.Client.List(ctx, &nodes); err != nil {
		return model.Input{}, fmt.Errorf("list Nodes: %w", err)
	}
	return model.Input{Service: svc, EndpointSlices: eps.Items, Nodes: nodes.Items, Config: cfg, Settings: r.Settings}, nil
}

// reportShares emits an Event and sets the metrics when the ceilings distort the requested
// weight (e.g. W=20 over 50 Pods gives 50).
func (r *Reconciler) reportShares(svc *corev1.Service, d model.Desired) {
	r.Metrics.forget(svc.Namespace, svc.Name) // ports may have left the Service
	var distorted []notice
	for _, l := range d.Listeners {
		ws := make([]int, len(l.Members))
		for i, m := range l.Members {
			ws[i] = m.Weight
		}
		share := weights.Report(d.Weight, ws)
		r.Metrics.observeShare(svc.Namespace, svc.Name, l, share)
		if share.Distorted {
			distorted = append(distorted, notice{ReasonWeightDistorted, "Apply", fmt.Sprintf(
				"port %s/%d: %s over %d members (%s mode): the integer ceilings of the weight rules give this cluster more than its requested share; a weight that the number of ready Pods divides evenly avoids it",
				l.Protocol, l.Port, share, len(l.Members), d.Mode)})
		}
	}
	r.warnOnce(svc, "share", distorted...)
}

func (r *Reconciler) event(svc *corev1.Service, typ, reason, action, note string, args ...any) {
	if r.Recorder == nil {
		return
	}
	r.Recorder.Eventf(svc, nil, typ, reason, action, "%s", truncate(fmt.Sprintf(note, args...), maxEventNote))
}

// maxEventNote is the API server's limit on an events.k8s.io Event note; a longer one is
// refused and the Event lost. The condition keeps the whole message.
const maxEventNote = 1024

// patchMeta applies edit to the Service's metadata, with an optimistic lock, when it changes
// anything. svc is updated in place.
func (r *Reconciler) patchMeta(ctx context.Context, svc *corev1.Service, edit func(*corev1.Service)) error {
	before := svc.DeepCopy()
	edit(svc)
	if equalMeta(before, svc) {
		return nil
	}
	if err := r.Client.Patch(ctx, svc, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("update Service %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	return nil
}

func (r *Reconciler) patchStatus(ctx context.Context, svc *corev1.Service, edit func(*corev1.Service)) error {
	before := svc.DeepCopy()
	edit(svc)
	if equalStatus(before, svc) {
		return nil
	}
	// A strategic merge patch merges status.conditions by type: a condition another controller
	// wrote since our read survives (a JSON merge patch would replace the whole list).
	if err := r.Client.Status().Patch(ctx, svc, client.StrategicMergeFrom(before)); err != nil {
		return fmt.Errorf("update status of Service %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	return nil
}

func (r *Reconciler) setCondition(ctx context.Context, svc *corev1.Service, status metav1.ConditionStatus, reason, msg string) error {
	return r.patchStatus(ctx, svc, func(s *corev1.Service) { setCondition(s, status, reason, msg) })
}

func setCondition(s *corev1.Service, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(&s.Status.Conditions, metav1.Condition{
		Type: ConditionBound, Status: status, Reason: reason, Message: truncate(msg, 32768),
		ObservedGeneration: s.Generation,
	})
}

func setAnnotation(s *corev1.Service, k, v string) {
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[k] = v
}

func equalMeta(a, b *corev1.Service) bool {
	return slices.Equal(a.Finalizers, b.Finalizers) && mapsEqual(a.Annotations, b.Annotations)
}

func equalStatus(a, b *corev1.Service) bool {
	ia, ib := a.Status.LoadBalancer.Ingress, b.Status.LoadBalancer.Ingress
	if (len(ia) != 0 || len(ib) != 0) && !equality.Semantic.DeepEqual(ia, ib) {
		return false
	}
	if len(a.Status.Conditions) != len(b.Status.Conditions) {
		return false
	}
	for i := range a.Status.Conditions {
		x, y := a.Status.Conditions[i], b.Status.Conditions[i]
		if x.Type != y.Type || x.Status != y.Status || x.Reason != y.Reason || x.Message != y.Message || x.ObservedGeneration != y.ObservedGeneration {
			return false
		}
	}
	return true
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// truncate shortens s to at most n bytes, ending in "…" and never splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const more = "…"
	cut := n - len(more)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + more
}
