package reconciler

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/fleetlb/fleetlb/internal/controller/model"
)

// F15: the Service update a bind makes (finalizer, binding and write-back annotations, status)
// does not run its reconcile again; a user's change, a deletion or another controller's
// finalizer does.
func TestF15OwnWritesDoNotReconcileAgain(t *testing.T) {
	h := newHarness(t, seedService("web", nil), readySlice("web", "127.16.0.1"))
	before := h.get("web")
	h.mustReconcile("web")
	after := h.get("web")
	if len(after.Finalizers) == 0 || after.Annotations[BoundELBAnnotation] == "" || len(after.Status.Conditions) == 0 {
		t.Fatalf("the bind wrote nothing on the Service: %+v", after.ObjectMeta)
	}
	passes := func(old, nu *corev1.Service) bool {
		return notOwnWrite().Update(event.UpdateEvent{ObjectOld: old, ObjectNew: nu})
	}
	if passes(before, after) {
		t.Error("the bind's own write-back runs the reconcile again")
	}
	for what, edit := range map[string]func(*corev1.Service){
		"a weight change":      func(s *corev1.Service) { s.Annotations[model.AnnotationWeight] = "40" },
		"a new port":           func(s *corev1.Service) { s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "b", Port: 81}) },
		"a deletion":           func(s *corev1.Service) { s.DeletionTimestamp = &metav1.Time{} },
		"a label":              func(s *corev1.Service) { s.Labels = map[string]string{"team": "a"} },
		"another's finalizer":  func(s *corev1.Service) { s.Finalizers = append(s.Finalizers, "example.com/other") },
		"multicluster removed": func(s *corev1.Service) { delete(s.Annotations, model.AnnotationMultiCluster) },
	} {
		nu := after.DeepCopy()
		edit(nu)
		if !passes(after, nu) {
			t.Errorf("%s does not run the reconcile", what)
		}
	}
}
