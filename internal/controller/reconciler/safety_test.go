package reconciler

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/fleetlb/fleetlb/internal/controller/deploy"
	"github.com/fleetlb/fleetlb/internal/controller/model"
)

// C1: with the cascade policy, edits that end a binding release member-only; only deleting the
// Service cascades. The ports bound before reach the deployer, which releases dropped ones.
func TestC1_EditsReleaseMemberOnly(t *testing.T) {
	cascade := map[string]string{model.AnnotationRecyclePolicy: "cascade"}
	lastRelease := func(h *harness) model.Desired {
		t.Helper()
		if len(h.dep.released) == 0 {
			t.Fatal("nothing released")
		}
		return h.dep.released[len(h.dep.released)-1]
	}

	h := newHarness(t, seedService("web", cascade))
	h.mustReconcile("web")
	h.update("web", func(s *corev1.Service) { s.Spec.Ports[0].Port = 81 })
	h.mustReconcile("web")
	if d := h.dep.applied[len(h.dep.applied)-1]; len(d.PreviousPorts) != 1 || d.PreviousPorts[0] != 80 {
		t.Fatalf("port change: previous ports %v, want [80] so that port 80 is released", d.PreviousPorts)
	}

	h.update("web", func(s *corev1.Service) { s.Annotations[model.AnnotationELBID] = "0d2e52a4-0000-4000-8000-000000000002" })
	h.mustReconcile("web")
	if d := lastRelease(h); d.Recycle != model.RecycleMemberOnly || d.ELBID != "5083f225-9bf8-48fa-9c8b-67bd9693c4c0" {
		t.Fatalf("elb.id re-pointed: released %s with %s, want the old ELB member-only", d.ELBID, d.Recycle)
	}

	h.update("web", func(s *corev1.Service) { s.Annotations[model.AnnotationMultiCluster] = "false" })
	h.mustReconcile("web")
	if d := lastRelease(h); d.Recycle != model.RecycleMemberOnly {
		t.Fatalf("multicluster off: released with %s", d.Recycle)
	}

	h2 := newHarness(t, seedService("api", cascade))
	h2.mustReconcile("api")
	h2.update("api", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort })
	h2.mustReconcile("api")
	if d := lastRelease(h2); d.Recycle != model.RecycleMemberOnly {
		t.Fatalf("type changed: released with %s", d.Recycle)
	}

	h3 := newHarness(t, seedService("db", cascade))
	h3.mustReconcile("db")
	if err := h3.c.Delete(context.Background(), h3.get("db")); err != nil {
		t.Fatal(err)
	}
	h3.mustReconcile("db")
	if d := lastRelease(h3); d.Recycle != model.RecycleCascade {
		t.Fatalf("deleted: released with %s, want cascade", d.Recycle)
	}
}

// C2: a quota refusal met while applying (other ports applied) is a Warning Event and the
// condition, with the deployer's numbers.
func TestC2_QuotaRefusalIsReported(t *testing.T) {
	h := newHarness(t, seedService("web", nil))
	msg := "ELB refused to add members to pool p1 (listener TCP/80): quota. this cluster wants 3 more members; the quota is 4 (members_per_pool) and the pool holds 2, so 2 fit"
	h.dep.applyErr = errors.Join(&deploy.Refusal{Reason: deploy.ReasonMemberQuota, Message: msg})
	h.mustReconcile("web")
	if !hasEvent(h.events(), "Warning "+deploy.ReasonMemberQuota, "wants 3 more members", "quota is 4", "so 2 fit") {
		t.Error("no MemberQuotaExceeded Warning with the numbers")
	}
	c := condition(h.get("web"))
	if c == nil || c.Status != "False" || c.Reason != deploy.ReasonMemberQuota || c.Message != msg {
		t.Fatalf("condition %+v", c)
	}
}

// C3: what the sweep counts as wanted: a Service of this cluster that exists, on the ELB it is
// bound to (or names), on one of its ports and protocols; a Service being released keeps
// everything (its own release does it); a Service that is gone, another port or ELB, are not.
func TestC3_SweepWantsWhatServicesBind(t *testing.T) {
	const elbA, elbB = "5083f225-9bf8-48fa-9c8b-67bd9693c4c0", "0d2e52a4-0000-4000-8000-000000000002"
	bound := seedService("web", nil)
	bound.Finalizers = []string{Finalizer}
	bound.Annotations[BoundELBAnnotation] = elbA + "," + elbB // re-pointed, old ELB not released yet
	fresh := seedService("new", nil)                          // to be bound: no finalizer yet
	off := seedService("off", map[string]string{model.AnnotationMultiCluster: "false"})
	off.Finalizers = []string{Finalizer} // being released by its reconcile
	h := newHarness(t, bound, fresh, off)
	sw := &sweeper{reader: h.c}
	wanted, err := sw.wanted(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ref := func(name string) model.ServiceRef {
		return model.ServiceRef{ClusterID: "cluster-a", Namespace: "shop", Name: name}
	}
	cases := []struct {
		ref   model.ServiceRef
		elb   string
		port  int32
		proto string
		want  bool
	}{
		{ref("web"), elbA, 80, "TCP", true},
		{ref("web"), elbB, 80, "TCP", true},
		{ref("web"), elbA, 81, "TCP", false},                                   // a port it no longer has
		{ref("web"), elbA, 80, "UDP", false},                                   // switched protocol
		{ref("web"), "0d2e52a4-0000-4000-8000-000000000009", 80, "TCP", false}, // another ELB
		{ref("new"), elbA, 80, "TCP", true},
		{ref("off"), elbA, 99, "UDP", true},
		{ref("gone"), elbA, 80, "TCP", false}, // deleted while the controller was down
	}
	for _, c := range cases {
		if got := wanted(c.ref, c.elb, c.port, c.proto); got != c.want {
			t.Errorf("wanted(%s, %s, %s/%d) = %v, want %v", c.ref.Name, c.elb[:8], c.proto, c.port, got, c.want)
		}
	}
}
