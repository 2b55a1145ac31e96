package reconciler

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/fleetlb/fleetlb/internal/controller/annotations"
	"github.com/fleetlb/fleetlb/internal/controller/model"
)

// The Pod readiness gate (T5). A Service with fleetlb.io/elb-member-ready: 'true' whose Pods list
// the condition type model.PodReadinessGate in spec.readinessGates holds each new Pod un-Ready
// until its ELB member is ONLINE (pass-through mode), so that a rolling update takes an old Pod
// away only once a new one takes traffic. Such a Pod's endpoint is not ready while it waits; the
// controller reads the Pods, makes members of those whose containers are ready (model.Input's
// GatePending), and sets the condition True once their members are ONLINE. In node mode a member
// is a node, not the Pod, so the gate opens as soon as the Pod's containers are ready. The
// condition is only ever set True, never back.

// gatePoll is how often a Service with Pods waiting for their members to go ONLINE is
// reconciled again (the ELB's health checks say when; nothing in the cluster changes meanwhile).
const gatePoll = 2 * time.Second

// ReasonMemberOnline is the reason of the readiness gate's condition once it is True.
const ReasonMemberOnline = "ELBMemberOnline"

// gatedPods lists the Service's Pods whose readiness gate is still closed, when the Service opts
// in (T5): those that list the gate, are not terminating, and do not have its condition True.
func (r *Reconciler) gatedPods(ctx context.Context, svc *corev1.Service, cfg model.ServiceConfig) ([]corev1.Pod, error) {
	if !cfg.MemberReadyGate || len(svc.Spec.Selector) == 0 {
		return nil, nil
	}
	var pods corev1.PodList
	if err := r.Client.List(ctx, &pods, client.InNamespace(svc.Namespace), client.MatchingLabels(svc.Spec.Selector)); err != nil {
		return nil, fmt.Errorf("list the Pods of %s/%s for the readiness gate %s: %w", svc.Namespace, svc.Name, model.PodReadinessGate, err)
	}
	var out []corev1.Pod
	for _, p := range pods.Items {
		if hasGate(&p) && p.DeletionTimestamp == nil && podCondition(&p, model.PodReadinessGate) != corev1.ConditionTrue {
			out = append(out, p)
		}
	}
	return out, nil
}

// gatePending are the gated Pods waiting only for the gate: containers ready, an address.
func gatePending(pods []corev1.Pod) map[types.UID]bool {
	out := map[types.UID]bool{}
	for _, p := range pods {
		if containersReady(&p) {
			out[p.UID] = true
		}
	}
	return out
}

// openGates sets the gate True on the Pods whose members serve (online, by address; any Pod
// whose containers are ready in node mode) and returns how many still wait for their member.
func (r *Reconciler) openGates(ctx context.Context, pods []corev1.Pod, mode model.Mode, online map[string]bool) (waiting int, err error) {
	for i := range pods {
		p := &pods[i]
		if !containersReady(p) {
			continue // its containers' readiness changing is a Pod event: reconciled then
		}
		msg := "node mode: the Pod's node serves it"
		if mode == model.ModePassThrough {
			if !online[p.Status.PodIP] {
				waiting++
				continue
			}
			msg = fmt.Sprintf("ELB member %s is ONLINE", p.Status.PodIP)
		}
		before := p.DeepCopy()
		setPodCondition(p, corev1.PodCondition{Type: model.PodReadinessGate, Status: corev1.ConditionTrue, Reason: ReasonMemberOnline, Message: msg, LastTransitionTime: metav1.Now()})
		// A strategic merge patch merges conditions by type: the kubelet's own stay as they are.
		if err := r.Client.Status().Patch(ctx, p, client.StrategicMergeFrom(before)); err != nil {
			return waiting, fmt.Errorf("set the readiness gate %s of Pod %s/%s: %w", model.PodReadinessGate, p.Namespace, p.Name, err)
		}
	}
	return waiting, nil
}

func setPodCondition(p *corev1.Pod, c corev1.PodCondition) {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == c.Type {
			p.Status.Conditions[i] = c
			return
		}
	}
	p.Status.Conditions = append(p.Status.Conditions, c)
}

func hasGate(p *corev1.Pod) bool {
	for _, g := range p.Spec.ReadinessGates {
		if g.ConditionType == model.PodReadinessGate {
			return true
		}
	}
	return false
}

func podCondition(p *corev1.Pod, t corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}

func containersReady(p *corev1.Pod) bool {
	return p.Status.PodIP != "" && podCondition(p, corev1.ContainersReady) == corev1.ConditionTrue
}

// podToServices enqueues the Services that gate this Pod: bound here, opted in, selecting it.
func (r *Reconciler) podToServices(ctx context.Context, o client.Object) []reconcile.Request {
	pod, ok := o.(*corev1.Pod)
	if !ok || !hasGate(pod) {
		return nil
	}
	var list corev1.ServiceList
	if err := r.Client.List(ctx, &list, client.InNamespace(pod.Namespace)); err != nil {
		r.Log.Error(err, "list Services for a gated Pod", "pod", pod.Namespace+"/"+pod.Name)
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		svc := &list.Items[i]
		if r.managed(svc) && annotations.IsTrue(svc.Annotations, model.AnnotationMemberReadyGate) && len(svc.Spec.Selector) > 0 &&
			labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels)) {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(svc)})
		}
	}
	return out
}
