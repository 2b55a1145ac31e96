package reconciler

import (
	"context"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fleetlb/fleetlb/internal/controller/deploy"
	"github.com/fleetlb/fleetlb/internal/controller/model"
)

// T1: a deleted Service whose members still drain keeps its finalizer, is reconciled again when
// the first drain ends (no blocking), and goes once the release is complete; the Service's
// fleetlb.io/deregistration-delay reaches the release, and without it the cluster's default.
func TestT1_DeletionWaitsForTheDrain(t *testing.T) {
	svc := seedService("nginx", map[string]string{model.AnnotationDeregistrationDelay: "3"})
	h := newHarness(t, svc)
	h.r.Settings.DeregistrationDelay = model.DefaultDeregistrationDelay
	h.mustReconcile("nginx")
	if d := h.dep.applied[0].DeregistrationDelay; d != 3*time.Second {
		t.Fatalf("applied with a drain of %s, want the annotation's 3s", d)
	}
	draining := true
	h.dep.releaseFn = func(model.Desired) (deploy.Result, error) {
		if draining {
			return deploy.Result{Writes: 1, Draining: 2, DrainWait: 3 * time.Second}, nil
		}
		return deploy.Result{MembersRemoved: 2, ListenersDeleted: 1}, nil
	}
	if err := h.c.Delete(context.Background(), h.get("nginx")); err != nil {
		t.Fatal(err)
	}
	res, err := h.reconcile("nginx")
	if err != nil || res.RequeueAfter != 3*time.Second {
		t.Fatalf("while draining: %+v, %v; want a requeue after 3s", res, err)
	}
	if s := h.get("nginx"); len(s.Finalizers) != 1 {
		t.Fatalf("finalizers %v while the members drain, want the binding's", s.Finalizers)
	}
	if d := h.dep.released[0].DeregistrationDelay; d != 3*time.Second {
		t.Fatalf("released with a drain of %s, want 3s", d)
	}
	if !hasEvent(h.events(), "Normal Draining", "weight 0 for 3s") {
		t.Error("no Draining Event")
	}
	draining = false
	h.mustReconcile("nginx")
	if err := h.c.Get(context.Background(), client.ObjectKey{Namespace: "shop", Name: "nginx"}, svc); err == nil {
		t.Fatalf("Service still there with finalizers %v after the drain", svc.Finalizers)
	}
}

// T1: while members drain, a bound Service is reconciled again when the first drain ends.
func TestT1_BindRequeuesForTheDrain(t *testing.T) {
	h := newHarness(t, seedService("nginx", nil))
	h.r.Resync = 5 * time.Minute
	h.r.Settings.DeregistrationDelay = model.DefaultDeregistrationDelay
	h.dep.applyRes.Draining, h.dep.applyRes.DrainWait = 1, 7*time.Second
	res, err := h.reconcile("nginx")
	if err != nil || res.RequeueAfter != 7*time.Second {
		t.Fatalf("%+v, %v; want a requeue after 7s", res, err)
	}
	if d := h.dep.applied[0].DeregistrationDelay; d != model.DefaultDeregistrationDelay {
		t.Fatalf("applied with a drain of %s, want the default %s", d, model.DefaultDeregistrationDelay)
	}
}
