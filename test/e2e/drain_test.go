package e2e

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/fleetlb/fleetlb/internal/controller/model"
	"github.com/fleetlb/fleetlb/internal/controller/reconciler"
	"github.com/fleetlb/fleetlb/internal/testbed/playground"
)

// connectionsPerSecond is the pace of the client that runs through the whole
// test: each connection connects, sends a request, reads the answer, closes.
const connectionsPerSecond = 200

// preStopSleep and grace are what the Pods are given (T2): the sleep outlasts
// the drain (e2eDrain) and the controller's reaction, the grace the sleep.
const (
	preStopSleep = 5
	grace        = 15
)

// drainingNginx is the demo's nginx with a preStop sleep and a grace period
// above it, as the controller's README asks of operators (T2).
func drainingNginx(replicas int32) *appsv1.Deployment {
	d := playground.Nginx(replicas)
	g := int64(grace)
	d.Spec.Template.Spec.TerminationGracePeriodSeconds = &g
	d.Spec.Template.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{
		Exec: &corev1.ExecAction{Command: []string{"sh", "-c", fmt.Sprintf("sleep %d", preStopSleep)}},
	}}
	return d
}

// T6: clusters a (pass-through) and b (node mode) share listener 80 at 50:50
// while a client opens 200 new connections a second through the VIP for the
// whole test. A rolling restart of a's Deployment, scaling b to 0 and back,
// and deleting a's Service (member-only) fail no connection and reset none;
// the split before and after the changes is within 2 pp of the weights.
func TestT6_ZeroFailedConnectionsThroughChange(t *testing.T) {
	p, a, b := startTwoClusters(t, 1)
	ctx := deadline(t, 6*time.Minute)
	perf, vip := p.Env.PerformanceELBID, p.Env.PerformanceELBVIP+":80"
	svcA, svcB := seedS1(t, perf)
	for _, svc := range []*corev1.Service{svcA, svcB} {
		svc.Annotations[model.AnnotationWeight] = "50"
		svc.Annotations[model.AnnotationDeregistrationDelay] = e2eDrain.String()
	}
	// a's Pods wait for their ELB member to be ONLINE before they are Ready (T5).
	svcA.Annotations[model.AnnotationMemberReadyGate] = "true"
	bindings := []playground.Binding{{Cluster: a, Service: svcA, Weight: 50}, {Cluster: b, Service: svcB, Weight: 50}}
	requested := map[string]int{"a": 50, "b": 50}
	gated := drainingNginx(3)
	gated.Spec.Template.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: model.PodReadinessGate}}
	for c, d := range map[*playground.Cluster]*appsv1.Deployment{a: gated, b: drainingNginx(3)} {
		if err := playground.ApplyDeployment(ctx, c.Client(), "default", d); err != nil {
			t.Fatal(err)
		}
		// The Service first: a's Pods are Ready only once the controller opened their gates.
		createService(t, ctx, c, map[*playground.Cluster]*corev1.Service{a: svcA, b: svcB}[c])
	}
	for _, c := range []*playground.Cluster{a, b} {
		if err := playground.WaitDeploymentReady(ctx, c.Client(), "default", "nginx", 90*time.Second); err != nil {
			t.Fatalf("cluster %s: %v", c.Plan.Name, err)
		}
	}
	pool := playground.PoolWait{Class: playground.ClassPerformance, ELBID: perf, Port: 80, Bindings: bindings, Timeout: 90 * time.Second}
	ms := waitPool(t, ctx, p, pool)

	traffic := playground.NewClient(vip).RunPaced(connectionsPerSecond)
	defer traffic.Stop()
	// phase runs one change under the traffic and checks that no connection
	// failed or was reset meanwhile.
	phase := func(name string, change func() error) {
		t.Helper()
		traffic.Mark()
		start := time.Now()
		err := change()
		got := traffic.Since()
		t.Logf("%s (%s): %d connections, %d failed, %d reset, answers by owner %v", name, time.Since(start).Round(100*time.Millisecond), got.Sent, got.Failed, got.Resets, got.ByOwner())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.Failed > 0 || got.Resets > 0 || got.Sent == 0 {
			t.Errorf("%s: %d of %d connections failed (%d reset), e.g. %v", name, got.Failed, got.Sent, got.Resets, got.Errors)
		}
	}
	split := func(name string, members []playground.Member) {
		t.Helper()
		traffic.Mark()
		if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
			return traffic.Since().Sent >= requests, nil
		}); err != nil {
			t.Fatalf("split %s: %d connections after a minute: %v", name, traffic.Since().Sent, err)
		}
		got := traffic.Since()
		t.Logf("split %s:", name)
		checkSplit(t, p, vip, got, members, requested)
		byOwner := got.ByOwner()
		if share := float64(byOwner["a"]) / float64(got.Sent-got.Failed); math.Abs(share-0.5) > tolerance {
			t.Errorf("split %s: cluster a answered %.1f%% of the connections, want 50%% ± %.0f pp (weights 50:50)", name, 100*share, 100*tolerance)
		}
	}

	split("before", ms)
	phase("rolling restart of a's Deployment", func() error {
		if err := restart(ctx, a.Client()); err != nil {
			return err
		}
		if err := playground.WaitDeploymentReady(ctx, a.Client(), "default", "nginx", 2*time.Minute); err != nil {
			return err
		}
		if err := waitPodCount(ctx, a.Client(), 3); err != nil { // the old Pods' preStop and stop too
			return err
		}
		if err := gatesOpenedByTheController(ctx, a.Client()); err != nil {
			return err
		}
		var err error
		ms, err = p.WaitPool(ctx, pool)
		return err
	})
	phase("scale b to 0 and back to 3", func() error {
		if err := playground.ScaleDeployment(ctx, b.Client(), "default", "nginx", 0); err != nil {
			return err
		}
		if _, err := p.WaitNoMembersOf(ctx, playground.ClassPerformance, perf, 80, "b", time.Minute); err != nil {
			return err
		}
		if err := waitPodCount(ctx, b.Client(), 0); err != nil {
			return err
		}
		if err := playground.ScaleDeployment(ctx, b.Client(), "default", "nginx", 3); err != nil {
			return err
		}
		if err := playground.WaitDeploymentReady(ctx, b.Client(), "default", "nginx", 2*time.Minute); err != nil {
			return err
		}
		var err error
		ms, err = p.WaitPool(ctx, pool)
		return err
	})
	split("after", ms)
	var drained bool
	phase("delete a's Service (member-only)", func() error {
		if err := a.Client().CoreV1().Services("default").Delete(ctx, svcA.Name, metav1.DeleteOptions{}); err != nil {
			return err
		}
		// T1: a's members first stay at weight 0 (the drain), then they go.
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
			cur, _, ok, err := p.ELB.PortMembers(playground.ClassPerformance, perf, 80)
			if err != nil || !ok {
				return false, nil
			}
			mine := playground.OwnedTargets(cur, p.Owners, "a")
			zero := len(mine) > 0
			for _, m := range mine {
				zero = zero && m.Weight == 0
			}
			drained = drained || zero
			return len(mine) == 0, nil
		})
		if err != nil {
			return fmt.Errorf("a's members still there after a minute: %w", err)
		}
		if err := waitServiceGone(ctx, a, "default", svcA.Name, 30*time.Second); err != nil {
			return err
		}
		time.Sleep(time.Second) // traffic on b alone
		return nil
	})
	if !drained {
		t.Error("a's members were never seen at weight 0 before their removal (no drain)")
	}
	total := traffic.Stop()
	t.Logf("whole test: %d connections at %d/s, %d failed, %d reset", total.Sent, connectionsPerSecond, total.Failed, total.Resets)
	if total.Failed > 0 || total.Resets > 0 {
		t.Errorf("%d of %d connections failed (%d reset), e.g. %v", total.Failed, total.Sent, total.Resets, total.Errors)
	}
}

// gatesOpenedByTheController checks that every nginx Pod's readiness gate was
// opened by fleetlb-controller because its ELB member was ONLINE (T5).
func gatesOpenedByTheController(ctx context.Context, cs kubernetes.Interface) error {
	pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=nginx"})
	if err != nil {
		return err
	}
	for _, p := range pods.Items {
		opened := false
		for _, c := range p.Status.Conditions {
			opened = opened || c.Type == model.PodReadinessGate && c.Status == corev1.ConditionTrue && c.Reason == reconciler.ReasonMemberOnline
		}
		if !opened {
			return fmt.Errorf("pod %s is Ready without its gate %s opened by the controller: %v", p.Name, model.PodReadinessGate, p.Status.Conditions)
		}
	}
	return nil
}

// restart is `kubectl rollout restart deployment/nginx`: a new template annotation.
func restart(ctx context.Context, cs kubernetes.Interface) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := cs.AppsV1().Deployments("default").Get(ctx, "nginx", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if d.Spec.Template.Annotations == nil {
			d.Spec.Template.Annotations = map[string]string{}
		}
		d.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] = time.Now().Format(time.RFC3339)
		_, err = cs.AppsV1().Deployments("default").Update(ctx, d, metav1.UpdateOptions{})
		return err
	})
}

// waitPodCount waits until exactly n nginx Pods exist (terminating ones included).
func waitPodCount(ctx context.Context, cs kubernetes.Interface, n int) error {
	last := 0
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=nginx"})
		if err != nil {
			return false, nil
		}
		last = len(pods.Items)
		return last == n, nil
	})
	if err != nil {
		return fmt.Errorf("%d nginx Pods, want %d: %w", last, n, err)
	}
	return nil
}
