package reconciler

import (
	"context"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/fleetlb/fleetlb/internal/controller/model"
)

// ControllerName names the controller in logs, metrics and Events.
const ControllerName = "fleetlb-controller"

// SetupWithManager registers the reconciler: Services (LoadBalancer ones and those still holding
// the finalizer), their EndpointSlices, and Nodes (node mode members are node addresses).
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, maxConcurrent int) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named(ControllerName).
		For(&corev1.Service{}, builder.WithPredicates(predicate.NewPredicateFuncs(r.interesting), notOwnWrite())).
		Watches(&discoveryv1.EndpointSlice{}, handler.EnqueueRequestsFromMapFunc(sliceToService)).
		Watches(&corev1.Node{}, handler.EnqueueRequestsFromMapFunc(r.nodeToServices),
			builder.WithPredicates(nodeChanged())).
		// Pods with the readiness gate (T5): their containers getting ready does not change the
		// EndpointSlice (the Pod is not Ready until its gate opens).
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(r.podToServices),
			builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
				p, ok := o.(*corev1.Pod)
				return ok && hasGate(p)
			}))).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(maxConcurrent, 1)}).
		Complete(r)
}

// interesting: Services this controller binds, warns about (R6), or must still release; never
// another controller's class (C8).
func (r *Reconciler) interesting(o client.Object) bool {
	svc, ok := o.(*corev1.Service)
	if !ok {
		return false
	}
	return r.isOurLoadBalancer(svc) || r.holdsBinding(svc)
}

func sliceToService(_ context.Context, o client.Object) []reconcile.Request {
	name := o.GetLabels()[discoveryv1.LabelServiceName]
	if name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: name}}}
}

// nodeToServices enqueues every bound Service: any of them may have members on the node.
func (r *Reconciler) nodeToServices(ctx context.Context, _ client.Object) []reconcile.Request {
	var list corev1.ServiceList
	if err := r.Client.List(ctx, &list); err != nil {
		r.Log.Error(err, "list Services for a Node change")
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		if r.managed(&list.Items[i]) {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	return out
}

// nodeChanged passes Node events that can change members: a node added or removed, or its
// InternalIP changed. Heartbeat status updates are ignored.
func nodeChanged() predicate.Funcs {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			a, okA := e.ObjectOld.(*corev1.Node)
			b, okB := e.ObjectNew.(*corev1.Node)
			return !okA || !okB || !slices.Equal(internalIPs(a), internalIPs(b))
		},
	}
}

func internalIPs(n *corev1.Node) []string {
	var out []string
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			out = append(out, a.Address)
		}
	}
	return out
}

// writtenAnnotations are the Service annotations the controller itself writes (bind's write-back,
// the binding record).
var writtenAnnotations = []string{BoundELBAnnotation, BoundClassAnnotation, model.AnnotationListenerPort, model.AnnotationAppliedWeight, model.AnnotationFleetView}

// notOwnWrite passes the Service updates that changed something besides what the controller
// writes on a Service (F15): a bind's own patches (finalizer, annotations, status) do not run
// the Service's reconcile again, which would read the cache from before them, make the same
// patches against a stale resourceVersion and fail ("the object has been modified"). The
// resync still comes round; any other change (spec, labels, another annotation, deletion)
// passes.
func notOwnWrite() predicate.Funcs {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			a, okA := e.ObjectOld.(*corev1.Service)
			b, okB := e.ObjectNew.(*corev1.Service)
			return !okA || !okB || !equality.Semantic.DeepEqual(withoutOwnWrites(a), withoutOwnWrites(b))
		},
	}
}

// withoutOwnWrites is a copy of svc without what the controller writes on it and what the API
// server stamps on every write.
func withoutOwnWrites(svc *corev1.Service) *corev1.Service {
	s := svc.DeepCopy()
	s.ResourceVersion, s.ManagedFields, s.Status = "", nil, corev1.ServiceStatus{}
	for _, k := range writtenAnnotations {
		delete(s.Annotations, k)
	}
	if len(s.Annotations) == 0 {
		s.Annotations = nil
	}
	s.Finalizers = slices.DeleteFunc(s.Finalizers, func(f string) bool { return f == Finalizer })
	if len(s.Finalizers) == 0 {
		s.Finalizers = nil
	}
	return s
}
