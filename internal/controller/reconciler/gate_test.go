package reconciler

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fleetlb/fleetlb/internal/controller/model"
)

// gatedPod is a Pod of Service nginx that lists the readiness gate, its containers ready.
func gatedPod(name, ip string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, UID: types.UID("uid-" + name), Labels: map[string]string{"app": "nginx"}},
		Spec:       corev1.PodSpec{ReadinessGates: []corev1.PodReadinessGate{{ConditionType: model.PodReadinessGate}}},
		Status: corev1.PodStatus{PodIP: ip, Conditions: []corev1.PodCondition{
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue},
			{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "ReadinessGatesNotReady"},
		}},
	}
}

// T5: in pass-through mode a Pod waiting only for its readiness gate (endpoint not ready) is made
// a member; its gate opens once the ELB shows that member ONLINE, and until then the Service is
// reconciled again every gatePoll; a Pod whose containers are not ready is no member and stays
// gated; a Service without the annotation leaves gated Pods alone.
func TestT5_ReadinessGateOpensWhenTheMemberIsOnline(t *testing.T) {
	waiting := gatedPod("new", "10.0.0.7")
	notReady := gatedPod("starting", "10.0.0.8")
	notReady.Status.Conditions[0].Status = corev1.ConditionFalse
	slice := readySlice("nginx", "10.0.0.1")
	no := false
	for _, p := range []*corev1.Pod{waiting, notReady} {
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{p.Status.PodIP},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: p.Name, UID: p.UID}, Conditions: discoveryv1.EndpointConditions{Ready: &no}})
	}
	h := newHarness(t, seedService("nginx", map[string]string{model.AnnotationMemberReadyGate: "true"}), slice, waiting, notReady)
	gate := func(name string) corev1.ConditionStatus {
		var p corev1.Pod
		if err := h.c.Get(context.Background(), client.ObjectKey{Namespace: "shop", Name: name}, &p); err != nil {
			t.Fatal(err)
		}
		return podCondition(&p, model.PodReadinessGate)
	}

	res, err := h.reconcile("nginx")
	if err != nil || res.RequeueAfter != gatePoll {
		t.Fatalf("first reconcile: %+v, %v; want a requeue after %s while the member is not ONLINE", res, err, gatePoll)
	}
	var addrs []string
	for _, m := range h.dep.applied[0].Listeners[0].Members {
		addrs = append(addrs, m.Address)
	}
	if len(addrs) != 2 || addrs[0] != "10.0.0.1" || addrs[1] != "10.0.0.7" {
		t.Fatalf("members %v, want the ready Pod and the one waiting for its gate (not the one starting)", addrs)
	}
	if g := gate("new"); g == corev1.ConditionTrue {
		t.Fatal("the gate opened before the member was ONLINE")
	}

	h.dep.applyRes.Online = map[string]bool{"10.0.0.1": true, "10.0.0.7": true}
	if res, err = h.reconcile("nginx"); err != nil || res.RequeueAfter == gatePoll {
		t.Fatalf("second reconcile: %+v, %v", res, err)
	}
	if g := gate("new"); g != corev1.ConditionTrue {
		t.Fatalf("the gate of the Pod whose member is ONLINE is %q, want True", g)
	}
	if g := gate("starting"); g != "" {
		t.Fatalf("the gate of a Pod whose containers are not ready is %q, want unset", g)
	}
}

// T5: a Service without fleetlb.io/elb-member-ready neither makes members of gated Pods nor
// opens their gates.
func TestT5_GateIsOptIn(t *testing.T) {
	waiting := gatedPod("new", "10.0.0.7")
	h := newHarness(t, seedService("nginx", nil), readySlice("nginx", "10.0.0.1"), waiting)
	h.dep.applyRes.Online = map[string]bool{"10.0.0.7": true}
	h.mustReconcile("nginx")
	if ms := h.dep.applied[0].Listeners[0].Members; len(ms) != 1 {
		t.Fatalf("members %+v, want only the ready Pod", ms)
	}
	var p corev1.Pod
	if err := h.c.Get(context.Background(), client.ObjectKeyFromObject(waiting), &p); err != nil || podCondition(&p, model.PodReadinessGate) != "" {
		t.Fatalf("the gate was touched without the annotation: %v", p.Status.Conditions)
	}
}
