package reconciler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/fleetlb/fleetlb/internal/controller/deploy"
	"github.com/fleetlb/fleetlb/internal/controller/model"
)

// fakeDeployer records what the reconciler asks and answers as told.
type fakeDeployer struct {
	mu        sync.Mutex
	applied   []model.Desired
	released  []model.Desired
	sharedQ   []string
	applyRes  deploy.Result
	applyErr  error
	shared    []deploy.SharedListener
	releaseFn func(model.Desired) (deploy.Result, error)
}

func (f *fakeDeployer) Apply(_ context.Context, d model.Desired) (deploy.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied = append(f.applied, d)
	res := f.applyRes
	if f.applyErr == nil && res.ListenerPorts == nil {
		for _, l := range d.Listeners {
			res.ListenerPorts = append(res.ListenerPorts, l.Port)
		}
	}
	return res, f.applyErr
}

func (f *fakeDeployer) Release(_ context.Context, d model.Desired) (deploy.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.released = append(f.released, d)
	if f.releaseFn != nil {
		return f.releaseFn(d)
	}
	return deploy.Result{MembersRemoved: 2}, nil
}

func (f *fakeDeployer) SharedListeners(_ context.Context, elbID string, ports []int32) ([]deploy.SharedListener, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sharedQ = append(f.sharedQ, fmt.Sprintf("%s%v", elbID, ports))
	return f.shared, nil
}

type harness struct {
	t        *testing.T
	c        client.Client
	dep      *fakeDeployer
	rec      *events.FakeRecorder
	r        *Reconciler
	registry *prometheus.Registry
}

func newHarness(t *testing.T, objs ...client.Object) *harness {
	t.Helper()
	c := fake.NewClientBuilder().WithScheme(scheme.Scheme).
		WithStatusSubresource(&corev1.Service{}, &corev1.Pod{}).WithObjects(objs...).Build()
	reg := prometheus.NewRegistry()
	h := &harness{t: t, c: c, dep: &fakeDeployer{applyRes: deploy.Result{VIP: "127.20.0.1"}}, rec: events.NewFakeRecorder(100), registry: reg}
	h.r = &Reconciler{
		Client: c, Recorder: h.rec, Deployer: h.dep, Log: logr.Discard(), Metrics: NewMetrics(reg),
		Settings: model.Settings{ClusterID: "cluster-a", PodNetwork: model.PodNetworkVPC, SubnetID: "subnet-1", DefaultWeight: 100},
	}
	return h
}

func (h *harness) reconcile(name string) (ctrl.Result, error) {
	return h.r.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: "shop", Name: name}})
}

func (h *harness) mustReconcile(name string) {
	h.t.Helper()
	if _, err := h.reconcile(name); err != nil {
		h.t.Fatalf("reconcile: %v", err)
	}
}

func (h *harness) get(name string) *corev1.Service {
	h.t.Helper()
	var s corev1.Service
	if err := h.c.Get(context.Background(), types.NamespacedName{Namespace: "shop", Name: name}, &s); err != nil {
		h.t.Fatal(err)
	}
	return &s
}

// update reads the Service, lets change edit it and writes it back, as a user's edit does.
func (h *harness) update(name string, change func(*corev1.Service)) {
	h.t.Helper()
	s := h.get(name)
	change(s)
	if err := h.c.Update(context.Background(), s); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) events() []string {
	var out []string
	for {
		select {
		case e := <-h.rec.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func hasEvent(evs []string, prefix string, words ...string) bool {
	for _, e := range evs {
		if !strings.HasPrefix(e, prefix) {
			continue
		}
		ok := true
		for _, w := range words {
			ok = ok && strings.Contains(e, w)
		}
		if ok {
			return true
		}
	}
	return false
}

func seedService(name string, extra map[string]string) *corev1.Service {
	ann := map[string]string{
		model.AnnotationELBID:         "5083f225-9bf8-48fa-9c8b-67bd9693c4c0",
		model.AnnotationClass:         "performance",
		model.AnnotationMultiCluster:  "true",
		model.AnnotationWeight:        "80",
		model.AnnotationRecyclePolicy: "member-only",
	}
	for k, v := range extra {
		if v == "" {
			delete(ann, k)
			continue
		}
		ann[k] = v
	}
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, Annotations: ann, Generation: 1},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Selector: map[string]string{"app": name},
			Ports: []corev1.ServicePort{{Name: "service0", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(80), NodePort: 30080}}},
	}
}

func readySlice(svc string, ips ...string) *discoveryv1.EndpointSlice {
	name, port, proto, ready, node := "service0", int32(80), corev1.ProtocolTCP, true, "node-1"
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "shop", Name: svc + "-abc", Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &port, Protocol: &proto}},
	}
	for _, ip := range ips {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip}, NodeName: &node,
			Conditions: discoveryv1.EndpointConditions{Ready: &ready}})
	}
	return s
}

func condition(s *corev1.Service) *metav1.Condition {
	return meta.FindStatusCondition(s.Status.Conditions, ConditionBound)
}

func TestBindWritesBack(t *testing.T) {
	h := newHarness(t, seedService("nginx", nil), readySlice("nginx", "10.0.0.1", "10.0.0.2"))
	res, err := h.reconcile("nginx")
	if err != nil {
		t.Fatal(err)
	}
	if len(h.dep.applied) != 1 {
		t.Fatalf("%d applies", len(h.dep.applied))
	}
	d := h.dep.applied[0]
	if d.Mode != model.ModePassThrough || d.Weight != 80 || d.Service.ClusterID != "cluster-a" || len(d.Listeners) != 1 {
		t.Fatalf("desired %+v", d)
	}
	if ms := d.Listeners[0].Members; len(ms) != 2 || ms[0].Weight != 40 || ms[0].Address != "10.0.0.1" || ms[0].SubnetID != "subnet-1" {
		t.Errorf("members %+v", ms)
	}
	svc := h.get("nginx")
	if svc.Annotations[model.AnnotationListenerPort] != "80" || svc.Annotations[model.AnnotationAppliedWeight] != "80" ||
		svc.Annotations[BoundELBAnnotation] != "5083f225-9bf8-48fa-9c8b-67bd9693c4c0" {
		t.Errorf("annotations %v", svc.Annotations)
	}
	if len(svc.Finalizers) != 1 || svc.Finalizers[0] != Finalizer {
		t.Errorf("finalizers %v", svc.Finalizers)
	}
	if ing := svc.Status.LoadBalancer.Ingress; len(ing) != 1 || ing[0].IP != "127.20.0.1" {
		t.Errorf("ingress %v", ing)
	}
	if c := condition(svc); c == nil || c.Status != metav1.ConditionTrue || c.Reason != ReasonBound || !strings.Contains(c.Message, "listener port(s) 80") {
		t.Errorf("condition %+v", c)
	}
	if res.RequeueAfter != h.r.Resync {
		t.Errorf("requeue %v", res)
	}

	// A second reconcile with nothing changed writes nothing to the Service.
	rv := svc.ResourceVersion
	h.mustReconcile("nginx")
	if got := h.get("nginx").ResourceVersion; got != rv {
		t.Errorf("no-op reconcile changed the Service (resourceVersion %s -> %s)", rv, got)
	}
}

func TestRefusalLeavesELBAndReports(t *testing.T) {
	h := newHarness(t, seedService("nginx", nil))
	h.dep.applyErr = &deploy.Refusal{Reason: deploy.ReasonProtocolConflict, Message: "ELB listener on port 80 is UDP; change the Service port"}
	res, err := h.reconcile("nginx")
	if err != nil {
		t.Fatalf("a refusal is not retried with backoff, got %v", err)
	}
	_ = res
	svc := h.get("nginx")
	c := condition(svc)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != deploy.ReasonProtocolConflict || !strings.Contains(c.Message, "port 80 is UDP") {
		t.Errorf("condition %+v", c)
	}
	if _, ok := svc.Annotations[model.AnnotationListenerPort]; ok {
		t.Error("listener-port written although nothing was bound")
	}
	if !hasEvent(h.events(), "Warning ProtocolConflict", "port 80 is UDP") {
		t.Error("no Warning Event for the refusal")
	}
	if v := value(t, h.r.Metrics.refusals.WithLabelValues(deploy.ReasonProtocolConflict)); v != 1 {
		t.Errorf("refusal metric %v", v)
	}
}

func TestInvalidAnnotationsNeverReachTheELB(t *testing.T) {
	h := newHarness(t, seedService("nginx", map[string]string{model.AnnotationWeight: "150", model.AnnotationRecyclePolicy: "all"}))
	h.mustReconcile("nginx")
	if len(h.dep.applied) != 0 {
		t.Fatal("invalid annotations must not reach the ELB")
	}
	evs := h.events()
	if !hasEvent(evs, "Warning InvalidAnnotations", model.AnnotationWeight, `"150"`, model.AnnotationRecyclePolicy, `"all"`) {
		t.Errorf("events %v", evs)
	}
	if c := condition(h.get("nginx")); c == nil || c.Reason != ReasonInvalidAnnotations {
		t.Errorf("condition %+v", c)
	}
}

func TestELBErrorIsRetried(t *testing.T) {
	h := newHarness(t, seedService("nginx", nil))
	h.dep.applyErr = errors.New("503 service unavailable")
	if _, err := h.reconcile("nginx"); err == nil {
		t.Fatal("an ELB error must be returned for backoff")
	}
	if c := condition(h.get("nginx")); c == nil || c.Reason != ReasonELBError || !strings.Contains(c.Message, "503") {
		t.Errorf("condition %+v", c)
	}
}

func TestLastAppliedWeightKeptWhenAnnotationRemoved(t *testing.T) {
	h := newHarness(t, seedService("nginx", nil), readySlice("nginx", "10.0.0.1"))
	h.mustReconcile("nginx")
	h.update("nginx", func(s *corev1.Service) { delete(s.Annotations, model.AnnotationWeight) })
	h.mustReconcile("nginx")
	if n := len(h.dep.applied); n != 2 || h.dep.applied[1].Weight != 80 {
		t.Fatalf("after removing the weight annotation W = %d, want 80 kept (R4), not the default 100", h.dep.applied[n-1].Weight)
	}
}

func TestDistortionEventAndMetric(t *testing.T) {
	var ips []string
	for i := 1; i <= 50; i++ {
		ips = append(ips, fmt.Sprintf("10.0.0.%d", i))
	}
	h := newHarness(t, seedService("nginx", map[string]string{model.AnnotationWeight: "20"}), readySlice("nginx", ips...))
	h.mustReconcile("nginx")
	if !hasEvent(h.events(), "Warning "+ReasonWeightDistorted, "requested weight 20, effective sum 50", "50 members") {
		t.Error("no distortion Event")
	}
	lv := []string{"shop", "nginx", "TCP", "80"}
	if v := value(t, h.r.Metrics.effective.WithLabelValues(lv...)); v != 50 {
		t.Errorf("effective metric %v", v)
	}
	if v := value(t, h.r.Metrics.requested.WithLabelValues(lv...)); v != 20 {
		t.Errorf("requested metric %v", v)
	}
	if v := value(t, h.r.Metrics.distorted.WithLabelValues(lv...)); v != 1 {
		t.Errorf("distorted metric %v", v)
	}
}

func TestDeletionReleasesAndDropsFinalizer(t *testing.T) {
	for _, policy := range []string{"member-only", "cascade"} {
		t.Run(policy, func(t *testing.T) {
			svc := seedService("nginx", map[string]string{model.AnnotationRecyclePolicy: policy})
			h := newHarness(t, svc)
			h.mustReconcile("nginx")
			if err := h.c.Delete(context.Background(), h.get("nginx")); err != nil {
				t.Fatal(err)
			}
			h.mustReconcile("nginx")
			if len(h.dep.released) != 1 {
				t.Fatalf("%d releases", len(h.dep.released))
			}
			d := h.dep.released[0]
			if string(d.Recycle) != policy || d.ELBID != "5083f225-9bf8-48fa-9c8b-67bd9693c4c0" || d.Service.ClusterID != "cluster-a" ||
				len(d.Listeners) != 1 || d.Listeners[0].Port != 80 {
				t.Errorf("release %+v", d)
			}
			var s corev1.Service
			if err := h.c.Get(context.Background(), client.ObjectKey{Namespace: "shop", Name: "nginx"}, &s); err == nil {
				t.Errorf("Service still there with finalizers %v", s.Finalizers)
			}
			if !hasEvent(h.events(), "Normal Released", policy) {
				t.Error("no Released Event")
			}
		})
	}
}

func TestDeletionRetriesReleaseErrors(t *testing.T) {
	h := newHarness(t, seedService("nginx", nil))
	h.mustReconcile("nginx")
	h.dep.releaseFn = func(model.Desired) (deploy.Result, error) { return deploy.Result{}, errors.New("timeout") }
	if err := h.c.Delete(context.Background(), h.get("nginx")); err != nil {
		t.Fatal(err)
	}
	if _, err := h.reconcile("nginx"); err == nil {
		t.Fatal("release error must be retried")
	}
	if s := h.get("nginx"); len(s.Finalizers) != 1 {
		t.Errorf("finalizer dropped before the ELB was released: %v", s.Finalizers)
	}
}

func TestMultiClusterTurnedOffUnbinds(t *testing.T) {
	h := newHarness(t, seedService("nginx", nil))
	h.mustReconcile("nginx")
	h.update("nginx", func(s *corev1.Service) { s.Annotations[model.AnnotationMultiCluster] = "false" })
	h.mustReconcile("nginx")
	if len(h.dep.released) != 1 || h.dep.released[0].Recycle != model.RecycleMemberOnly {
		t.Fatalf("releases %+v", h.dep.released)
	}
	svc := h.get("nginx")
	if len(svc.Finalizers) != 0 || svc.Annotations[model.AnnotationListenerPort] != "" || svc.Annotations[BoundELBAnnotation] != "" ||
		len(svc.Status.LoadBalancer.Ingress) != 0 || condition(svc) != nil {
		t.Errorf("unbound Service keeps controller state: %v %v %v %v", svc.Finalizers, svc.Annotations, svc.Status.LoadBalancer, svc.Status.Conditions)
	}
}

func TestELBChangeReleasesTheOldOne(t *testing.T) {
	h := newHarness(t, seedService("nginx", nil))
	h.mustReconcile("nginx")
	h.update("nginx", func(s *corev1.Service) { s.Annotations[model.AnnotationELBID] = "other-elb" })
	h.mustReconcile("nginx")
	if len(h.dep.released) != 1 || h.dep.released[0].ELBID != "5083f225-9bf8-48fa-9c8b-67bd9693c4c0" {
		t.Fatalf("releases %+v", h.dep.released)
	}
	if last := h.dep.applied[len(h.dep.applied)-1]; last.ELBID != "other-elb" {
		t.Errorf("applied to %s", last.ELBID)
	}
	if got := h.get("nginx").Annotations[BoundELBAnnotation]; got != "other-elb" {
		t.Errorf("bound ELB %q", got)
	}
}

func TestUserEditedListenerPortIsNotActedOn(t *testing.T) {
	h := newHarness(t, seedService("nginx", map[string]string{model.AnnotationListenerPort: "8080"}))
	h.mustReconcile("nginx")
	if len(h.dep.released) != 0 {
		t.Fatal("a user-set listener-port must not trigger a release")
	}
	d := h.dep.applied[0]
	if len(d.Listeners) != 1 || d.Listeners[0].Port != 80 {
		t.Errorf("listeners %+v", d.Listeners)
	}
	if got := h.get("nginx").Annotations[model.AnnotationListenerPort]; got != "80" {
		t.Errorf("listener-port rewritten to %q, want 80", got)
	}
}

func TestNonMultiClusterOnSharedListenerWarns(t *testing.T) {
	svc := seedService("legacy", map[string]string{model.AnnotationMultiCluster: "", model.AnnotationWeight: ""})
	h := newHarness(t, svc)
	h.dep.shared = []deploy.SharedListener{{Port: 80, Protocol: "TCP", ListenerID: "l-1", Creator: "cluster-b/shop/nginx"}}
	h.mustReconcile("legacy")
	if len(h.dep.applied) != 0 || len(h.dep.released) != 0 {
		t.Fatal("the ELB must not be touched for a Service without multicluster")
	}
	if len(h.dep.sharedQ) != 1 || h.dep.sharedQ[0] != "5083f225-9bf8-48fa-9c8b-67bd9693c4c0[80]" {
		t.Errorf("shared check %v", h.dep.sharedQ)
	}
	if !hasEvent(h.events(), "Warning "+ReasonNotMultiCluster, "cluster-b/shop/nginx", model.AnnotationMultiCluster) {
		t.Error("no R6 Warning Event")
	}
	s := h.get("legacy")
	if c := condition(s); c == nil || c.Reason != ReasonNotMultiCluster {
		t.Errorf("condition %+v", c)
	}
	if len(s.Finalizers) != 0 {
		t.Error("an unmanaged Service must not get the finalizer")
	}
	// Conflict gone: the condition goes too.
	h.dep.shared = nil
	h.mustReconcile("legacy")
	if c := condition(h.get("legacy")); c != nil {
		t.Errorf("stale condition %+v", c)
	}
}

func TestOtherServicesIgnored(t *testing.T) {
	plain := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "plain"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Ports: []corev1.ServicePort{{Port: 80}}}}
	h := newHarness(t, plain)
	h.mustReconcile("plain")
	h.mustReconcile("missing")
	if len(h.dep.applied)+len(h.dep.released)+len(h.dep.sharedQ) != 0 {
		t.Error("a ClusterIP Service or a missing one must not reach the deployer")
	}
}

func TestCheckVersion(t *testing.T) {
	cases := []struct {
		major, minor, git string
		ok                bool
	}{
		{"1", "22", "v1.22.17", false},
		{"1", "23", "v1.23.18", true},
		{"1", "23+", "v1.23.18-eks", true},
		{"1", "37", "v1.37.2", true},
		{"0", "99", "v0.99.0", false},
		{"", "", "weird", false},
	}
	for _, c := range cases {
		err := checkVersion(&version.Info{Major: c.major, Minor: c.minor, GitVersion: c.git})
		if (err == nil) != c.ok {
			t.Errorf("%s: err %v", c.git, err)
		}
		if err != nil && !strings.Contains(err.Error(), "v1.23") {
			t.Errorf("message %q should say the minimum version", err)
		}
	}
}

func TestWatchMapping(t *testing.T) {
	reqs := sliceToService(context.Background(), readySlice("nginx"))
	if len(reqs) != 1 || reqs[0].Name != "nginx" || reqs[0].Namespace != "shop" {
		t.Errorf("slice maps to %v", reqs)
	}
	h := newHarness(t, seedService("a", nil), seedService("b", map[string]string{model.AnnotationMultiCluster: ""}))
	got := h.r.nodeToServices(context.Background(), &corev1.Node{})
	if len(got) != 1 || got[0].Name != "a" {
		t.Errorf("node maps to %v", got)
	}
	node := func(ip string) *corev1.Node {
		return &corev1.Node{Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}}}}
	}
	p := nodeChanged()
	if p.Update(event.UpdateEvent{ObjectOld: node("10.0.0.1"), ObjectNew: node("10.0.0.1")}) {
		t.Error("a heartbeat must not enqueue every Service")
	}
	if !p.Update(event.UpdateEvent{ObjectOld: node("10.0.0.1"), ObjectNew: node("10.0.0.2")}) {
		t.Error("an address change must enqueue")
	}
}

func value(t *testing.T, c prometheus.Metric) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	}
	t.Fatalf("metric %v is neither gauge nor counter", c.Desc())
	return 0
}

func TestLastingWarningsAreReportedOnce(t *testing.T) {
	h := newHarness(t, seedService("nginx", nil))
	h.dep.applyErr = &deploy.Refusal{Reason: deploy.ReasonELBNotFound, Message: "ELB x does not exist"}
	for range 3 {
		h.mustReconcile("nginx")
	}
	if evs := h.events(); len(evs) != 1 {
		t.Errorf("a lasting refusal gave %d Events, want 1: %v", len(evs), evs)
	}
	// Fixed, then broken again the same way: reported again.
	h.dep.applyErr = nil
	h.dep.applyRes.Warnings = []deploy.Warning{{Reason: deploy.WarnConfigDiffers, Message: "the pool has no health check"}}
	h.mustReconcile("nginx")
	h.mustReconcile("nginx")
	evs := h.events()
	if n := strings.Count(strings.Join(evs, "\n"), deploy.WarnConfigDiffers); n != 1 {
		t.Errorf("R5 warning reported %d times over two reconciles: %v", n, evs)
	}
	h.dep.applyErr = &deploy.Refusal{Reason: deploy.ReasonELBNotFound, Message: "ELB x does not exist"}
	h.mustReconcile("nginx")
	if !hasEvent(h.events(), "Warning ELBNotFound") {
		t.Error("a refusal that comes back must be reported again")
	}
}

func TestMistypedMultiClusterKeepsTheBinding(t *testing.T) {
	h := newHarness(t, seedService("nginx", nil))
	h.mustReconcile("nginx")
	h.events()
	h.update("nginx", func(s *corev1.Service) { s.Annotations[model.AnnotationMultiCluster] = "yes" })
	h.mustReconcile("nginx")
	if len(h.dep.released) != 0 {
		t.Fatal("a mistyped multicluster value must not release the binding")
	}
	if !hasEvent(h.events(), "Warning "+ReasonInvalidAnnotations, model.AnnotationMultiCluster, `"yes"`) {
		t.Error("no Warning naming the mistyped annotation")
	}
	if fs := h.get("nginx").Finalizers; len(fs) != 1 {
		t.Errorf("finalizers %v", fs)
	}
}

func TestOtherLoadBalancerClassIgnored(t *testing.T) {
	other, ours := "example.com/other-lb", LoadBalancerClass
	a := seedService("other", nil)
	a.Spec.LoadBalancerClass = &other
	b := seedService("ours", nil)
	b.Spec.LoadBalancerClass = &ours
	h := newHarness(t, a, b)
	h.mustReconcile("other")
	if len(h.dep.applied) != 0 {
		t.Fatal("a Service of another load-balancer implementation must be left alone")
	}
	h.mustReconcile("ours")
	if len(h.dep.applied) != 1 {
		t.Fatal("spec.loadBalancerClass fleetlb.io/elb is ours")
	}
}

// R10: a multicluster LoadBalancer Service that names no ELB is refused with a reason, not
// silently ignored.
func TestMultiClusterWithoutELBIDIsRefused(t *testing.T) {
	h := newHarness(t, seedService("nginx", map[string]string{model.AnnotationELBID: ""}))
	h.mustReconcile("nginx")
	if len(h.dep.applied)+len(h.dep.released) != 0 {
		t.Fatal("a Service without an ELB ID must not reach the ELB")
	}
	if !hasEvent(h.events(), "Warning "+ReasonInvalidAnnotations, model.AnnotationELBID, "missing") {
		t.Error("no Warning Event saying kubernetes.io/elb.id is missing")
	}
	s := h.get("nginx")
	if c := condition(s); c == nil || c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, model.AnnotationELBID) {
		t.Errorf("condition %+v", c)
	}
	if len(s.Finalizers) != 0 {
		t.Errorf("finalizers %v on a Service bound to nothing", s.Finalizers)
	}
}

// A release that keeps failing (ELB unreachable, credentials revoked) keeps the finalizer; the
// Warning tells the operator how to let the Service go anyway and what is then left behind.
func TestReleaseFailureSaysHowToLetGo(t *testing.T) {
	h := newHarness(t, seedService("nginx", nil))
	h.mustReconcile("nginx")
	h.events()
	h.dep.releaseFn = func(model.Desired) (deploy.Result, error) {
		return deploy.Result{}, errors.New("ELB v3 ListListeners: unauthorized (HTTP 401)")
	}
	if err := h.c.Delete(context.Background(), h.get("nginx")); err != nil {
		t.Fatal(err)
	}
	if _, err := h.reconcile("nginx"); err == nil {
		t.Fatal("release error must be retried")
	}
	if !hasEvent(h.events(), "Warning "+ReasonReleaseFailed, "unauthorized", "remove the finalizer "+Finalizer, "sweep removes") {
		t.Error("the ReleaseFailed Warning must say how to let the Service go (remove the finalizer) and what is left")
	}
}

// Re-pointing kubernetes.io/elb.id at an ELB that refuses the Service (a typo, an unknown ID, the
// wrong class) must not drain the ELB the Service is bound to: the old binding is released only
// after the new ELB holds the Service's members (add before remove).
func TestELBChangeToRefusedELBKeepsTheOldBinding(t *testing.T) {
	const old = "5083f225-9bf8-48fa-9c8b-67bd9693c4c0"
	h := newHarness(t, seedService("nginx", nil), readySlice("nginx", "10.0.0.1"))
	h.mustReconcile("nginx")
	h.update("nginx", func(s *corev1.Service) { s.Annotations[model.AnnotationELBID] = "5083f225-typo" })
	h.dep.applyErr = &deploy.Refusal{Reason: deploy.ReasonELBNotFound, Message: `ELB "5083f225-typo" does not exist`}
	h.mustReconcile("nginx")
	if len(h.dep.released) != 0 {
		t.Fatalf("the bound ELB was released although the new one refused the Service: %+v", h.dep.released)
	}
	s := h.get("nginx")
	if c := condition(s); c == nil || c.Reason != deploy.ReasonELBNotFound {
		t.Errorf("condition %+v", c)
	}
	if got := boundELBs(s); !slices.Contains(got, old) {
		t.Errorf("bound ELBs %q, want the old %s kept until the new one is applied", got, old)
	}

	// Deleted in this state: both the bound ELB and the one named are released.
	if err := h.c.Delete(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	h.mustReconcile("nginx")
	var got []string
	for _, d := range h.dep.released {
		got = append(got, d.ELBID)
	}
	slices.Sort(got)
	if strings.Join(got, ",") != "5083f225-9bf8-48fa-9c8b-67bd9693c4c0,5083f225-typo" {
		t.Errorf("released %v, want both the old bound ELB and the named one", got)
	}
}

// Another controller's status condition written between our read and our status patch survives
// it: the controller owns only its own condition type.
func TestStatusPatchKeepsOthersConditions(t *testing.T) {
	svc := seedService("nginx", nil)
	var once sync.Once
	c := fake.NewClientBuilder().WithScheme(scheme.Scheme).WithStatusSubresource(&corev1.Service{}).WithObjects(svc).
		WithInterceptorFuncs(interceptor.Funcs{SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			once.Do(func() {
				var cur corev1.Service
				if err := c.Get(ctx, client.ObjectKeyFromObject(obj), &cur); err != nil {
					t.Fatal(err)
				}
				meta.SetStatusCondition(&cur.Status.Conditions, metav1.Condition{Type: "example.com/Exposed", Status: metav1.ConditionTrue, Reason: "Other", Message: "set by another controller"})
				if err := c.Status().Update(ctx, &cur); err != nil {
					t.Fatal(err)
				}
			})
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		}}).Build()
	h := newHarness(t)
	h.c, h.r.Client = c, c
	h.mustReconcile("nginx")
	s := h.get("nginx")
	if meta.FindStatusCondition(s.Status.Conditions, "example.com/Exposed") == nil {
		t.Errorf("another controller's condition was overwritten: %+v", s.Status.Conditions)
	}
	// Ours is written beside it (False, NoUsableEndpoints: this Service has no endpoints, C10).
	if cond := condition(s); cond == nil || cond.Reason != ReasonNoUsableEndpoints {
		t.Errorf("own condition %+v", cond)
	}
}

// The API server refuses an events.k8s.io Event whose note exceeds 1024 characters, so a long
// refusal (many problems, a long value) must be shortened, not lost.
func TestLongEventNoteIsShortenedNotLost(t *testing.T) {
	long := `{"protocol":"TCP","path":"/` + strings.Repeat("é", 900) + `"}`
	h := newHarness(t, seedService("nginx", map[string]string{model.AnnotationHealthCheckOption: long, model.AnnotationWeight: "150", model.AnnotationClass: "dedicated"}))
	h.mustReconcile("nginx")
	evs := h.events()
	if len(evs) != 1 || !strings.HasPrefix(evs[0], "Warning "+ReasonInvalidAnnotations+" ") {
		t.Fatalf("events %v", evs)
	}
	note := strings.TrimPrefix(evs[0], "Warning "+ReasonInvalidAnnotations+" ")
	if len(note) > 1024 || !utf8.ValidString(note) || !strings.Contains(note, model.AnnotationClass) {
		t.Errorf("note of %d bytes (valid UTF-8: %t), must be at most 1024 and still name the first problem: %.120s", len(note), utf8.ValidString(note), note)
	}
	if c := condition(h.get("nginx")); c == nil || !strings.Contains(c.Message, model.AnnotationWeight) || !utf8.ValidString(c.Message) {
		t.Errorf("the condition keeps the whole message: %+v", c)
	}
}

// Re-pointed to a new ELB whose members are in place while the old ELB cannot be released yet,
// then pointed back: the new ELB's members are released, not forgotten.
func TestELBChangedBackReleasesTheIntermediateOne(t *testing.T) {
	const old, next = "5083f225-9bf8-48fa-9c8b-67bd9693c4c0", "elb-next"
	h := newHarness(t, seedService("nginx", nil), readySlice("nginx", "10.0.0.1"))
	h.mustReconcile("nginx")
	repoint := func(id string) {
		t.Helper()
		h.update("nginx", func(s *corev1.Service) { s.Annotations[model.AnnotationELBID] = id })
	}
	repoint(next)
	h.dep.releaseFn = func(model.Desired) (deploy.Result, error) { return deploy.Result{}, errors.New("ELB unreachable") }
	if _, err := h.reconcile("nginx"); err == nil {
		t.Fatal("a failed release of the old ELB must be retried")
	}
	if last := h.dep.applied[len(h.dep.applied)-1]; last.ELBID != next {
		t.Fatalf("applied to %s, want %s", last.ELBID, next)
	}
	h.dep.releaseFn = nil
	h.dep.released = nil
	repoint(old)
	h.mustReconcile("nginx")
	if len(h.dep.released) != 1 || h.dep.released[0].ELBID != next {
		t.Fatalf("released %+v, want %s (it holds members applied before the Service was pointed back)", h.dep.released, next)
	}
	if got := h.get("nginx").Annotations[BoundELBAnnotation]; got != old {
		t.Errorf("bound ELB %q, want %s", got, old)
	}
}

// C8: two controllers of different --load-balancer-class in one cluster share the finalizer's
// name; neither may release (drop the finalizer of, unbind) a Service the other bound. Only the
// controller that bound a Service releases it, also after its class was cleared (type changed).
func TestOtherClassBindingIsNeverReleased(t *testing.T) {
	quota := "quota.example/elb"
	plain := seedService("plain", nil)
	classed := seedService("classed", nil)
	classed.Spec.LoadBalancerClass = &quota
	h := newHarness(t, plain, classed)
	other := &Reconciler{Client: h.c, Recorder: h.rec, Deployer: h.dep, Log: logr.Discard(), Settings: h.r.Settings, Class: quota}
	h.mustReconcile("plain")
	if _, err := other.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: "shop", Name: "classed"}}); err != nil {
		t.Fatal(err)
	}
	if len(h.dep.applied) != 2 {
		t.Fatalf("each controller binds its own Service: %d applies", len(h.dep.applied))
	}

	// Each reconciles the other's Service (a resync, any event): nothing released, nothing dropped.
	if _, err := other.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: "shop", Name: "plain"}}); err != nil {
		t.Fatal(err)
	}
	h.mustReconcile("classed")
	if len(h.dep.released) != 0 {
		t.Fatalf("a controller released the other class's binding: %+v", h.dep.released)
	}
	for _, name := range []string{"plain", "classed"} {
		if s := h.get(name); !controllerutil.ContainsFinalizer(s, Finalizer) || s.Annotations[BoundELBAnnotation] == "" {
			t.Fatalf("%s lost its binding to the other class's controller: %v %v", name, s.Finalizers, s.Annotations)
		}
	}

	// The classed Service becomes ClusterIP (Kubernetes clears its class): its own controller
	// releases it; the class-less controller leaves it alone.
	h.update("classed", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeClusterIP; s.Spec.LoadBalancerClass = nil })
	h.mustReconcile("classed")
	if len(h.dep.released) != 0 || !controllerutil.ContainsFinalizer(h.get("classed"), Finalizer) {
		t.Fatalf("the class-less controller released a binding of class %s", quota)
	}
	if _, err := other.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: "shop", Name: "classed"}}); err != nil {
		t.Fatal(err)
	}
	if len(h.dep.released) != 1 || controllerutil.ContainsFinalizer(h.get("classed"), Finalizer) {
		t.Fatalf("its own controller did not release it: %d releases, finalizers %v", len(h.dep.released), h.get("classed").Finalizers)
	}
}

// C8 and R8: a hand edit of fleetlb.io/bound-class cannot hand a LoadBalancer Service to the
// controller of another class: the class of a LoadBalancer Service (immutable) decides.
func TestForgedBoundClassIsNotObeyed(t *testing.T) {
	quota := "quota.example/elb"
	h := newHarness(t, seedService("plain", nil))
	h.mustReconcile("plain")
	h.update("plain", func(s *corev1.Service) { s.Annotations[BoundClassAnnotation] = quota })
	other := &Reconciler{Client: h.c, Recorder: h.rec, Deployer: h.dep, Log: logr.Discard(), Settings: h.r.Settings, Class: quota}
	if _, err := other.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: "shop", Name: "plain"}}); err != nil {
		t.Fatal(err)
	}
	if len(h.dep.released) != 0 || !controllerutil.ContainsFinalizer(h.get("plain"), Finalizer) {
		t.Fatalf("the %s controller released a class-less LoadBalancer Service after a hand edit: %d releases", quota, len(h.dep.released))
	}
	h.mustReconcile("plain")
	if len(h.dep.applied) != 2 || h.get("plain").Annotations[BoundClassAnnotation] != "" {
		t.Fatalf("its own controller did not keep it (%d applies) and rewrite the mark: %q", len(h.dep.applied), h.get("plain").Annotations[BoundClassAnnotation])
	}
}
