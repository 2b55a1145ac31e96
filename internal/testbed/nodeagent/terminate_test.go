package nodeagent

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/fleetlb/fleetlb/internal/testbed/httpserve"
)

// runAgent runs an agent on a fake API server for one test.
func runAgent(t *testing.T) (kubernetes.Interface, context.Context) {
	t.Helper()
	cs := fake.NewClientset()
	agent, err := New(Config{Cluster: "c", NodeName: "n1", NodeIP: testNodeIP, PodCIDR: testPodCIDR, Client: cs})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- agent.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return cs, ctx
}

// startPod creates pod on n1 and waits until it runs; it returns its IP.
func startPod(t *testing.T, ctx context.Context, cs kubernetes.Interface, pod *corev1.Pod) string {
	t.Helper()
	pods := cs.CoreV1().Pods(pod.Namespace)
	if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var ip string
	eventually(t, "pod "+pod.Name+" to run", func() (bool, string) {
		p, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		ip = p.Status.PodIP
		return p.Status.Phase == corev1.PodRunning && ip != "", string(p.Status.Phase)
	})
	return ip
}

// markDeleted sets the deletion timestamp and grace, as the API server does on a graceful delete.
func markDeleted(t *testing.T, ctx context.Context, cs kubernetes.Interface, name string, grace int64) {
	t.Helper()
	pods := cs.CoreV1().Pods("ns")
	p, err := pods.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	p.DeletionTimestamp, p.DeletionGracePeriodSeconds = &now, &grace
	if _, err := pods.Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// T4: a deleted pod with a preStop sleep keeps serving (and stays Ready: the EndpointSlice
// controller shows it serving and terminating) while the hook runs, then its servers stop and
// the pod is removed; a hook longer than the grace period is cut at the grace period.
func TestT4_PreStopKeepsThePodServingWithinTheGracePeriod(t *testing.T) {
	cs, ctx := runAgent(t)
	pods := cs.CoreV1().Pods("ns")
	pod := testPod("web", "n1")
	pod.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"sh", "-c", "sleep 3"}}}}
	ip := startPod(t, ctx, cs, pod)
	addr := net.JoinHostPort(ip, "8080")

	markDeleted(t, ctx, cs, "web", 30)
	deleted := time.Now()
	time.Sleep(time.Second)
	if got, err := httpserve.Ask(context.Background(), addr); err != nil || got != "c/n1/web" {
		t.Fatalf("1 s into a 3 s preStop sleep the pod answered %q, %v; want it serving", got, err)
	}
	if p, err := pods.Get(ctx, "web", metav1.GetOptions{}); err != nil || podReadyCondition(p) != corev1.ConditionTrue {
		t.Fatalf("during preStop the pod is %v (%v); want it there and Ready (serving)", p, err)
	}
	eventually(t, "the pod to be removed after its preStop", func() (bool, string) {
		_, err := pods.Get(ctx, "web", metav1.GetOptions{})
		return err != nil, "still there"
	})
	if took := time.Since(deleted); took < 3*time.Second {
		t.Fatalf("the pod was removed %s after its deletion, before its 3 s preStop ended", took)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("the removed pod's server still accepts connections")
	}

	// A preStop longer than the grace period (the sleep action here) is cut by it.
	long := testPod("slow", "n1")
	long.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 3600}}}
	startPod(t, ctx, cs, long)
	markDeleted(t, ctx, cs, "slow", 1)
	eventually(t, "the pod to be removed at the end of its 1 s grace period", func() (bool, string) {
		_, err := pods.Get(ctx, "slow", metav1.GetOptions{})
		return err != nil, "still there"
	})
}

// T5: a pod with a readiness gate has its containers ready but is not Ready until another
// controller sets the gate's condition True, as the kubelet does; the agent keeps that condition.
func TestT5_ReadinessGateHoldsReady(t *testing.T) {
	cs, ctx := runAgent(t)
	pods := cs.CoreV1().Pods("ns")
	const gate = "example.com/gate"
	pod := testPod("web", "n1")
	pod.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: gate}}
	startPod(t, ctx, cs, pod)
	eventually(t, "containers ready, pod not Ready (gate pending)", func() (bool, string) {
		p, _ := pods.Get(ctx, "web", metav1.GetOptions{})
		var containers, ready corev1.PodCondition
		for _, c := range p.Status.Conditions {
			switch c.Type {
			case corev1.ContainersReady:
				containers = c
			case corev1.PodReady:
				ready = c
			}
		}
		return containers.Status == corev1.ConditionTrue && ready.Status == corev1.ConditionFalse && ready.Reason == "ReadinessGatesNotReady", ready.String()
	})
	p, _ := pods.Get(ctx, "web", metav1.GetOptions{})
	p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: gate, Status: corev1.ConditionTrue})
	if _, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the pod Ready once its gate is True", func() (bool, string) {
		p, _ := pods.Get(ctx, "web", metav1.GetOptions{})
		return podReadyCondition(p) == corev1.ConditionTrue, string(podReadyCondition(p))
	})
}

func TestExecSleep(t *testing.T) {
	for _, c := range []struct {
		cmd  []string
		want time.Duration
		ok   bool
	}{
		{[]string{"sleep", "20"}, 20 * time.Second, true},
		{[]string{"/bin/sleep", "2.5"}, 2500 * time.Millisecond, true},
		{[]string{"/bin/sh", "-c", "sleep 15s"}, 15 * time.Second, true},
		{[]string{"sh", "-c", "nginx -s quit; sleep 5"}, 5 * time.Second, true},
		{[]string{"nginx", "-s", "quit"}, 0, false},
		{[]string{"sleep", "forever"}, 0, false},
	} {
		if got, ok := execSleep(c.cmd); got != c.want || ok != c.ok {
			t.Errorf("execSleep(%q) = %s, %v; want %s, %v", c.cmd, got, ok, c.want, c.ok)
		}
	}
}

// T4: an httpGet preStop reaches the pod's own server (a named port resolved from the
// container), and a port the container does not have is an error, not a hang.
func TestT4_HTTPGetPreStop(t *testing.T) {
	cs, ctx := runAgent(t)
	pod := testPod("web", "n1")
	pod.Spec.Containers[0].Ports[0].Name = "http"
	ip := startPod(t, ctx, cs, pod)
	rt := &podRuntime{ip: netip.MustParseAddr(ip)}
	h := &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromString("http")}}
	if err := runHook(ctx, h, pod.Spec.Containers[0], rt); err != nil {
		t.Fatalf("httpGet to the named port: %v", err)
	}
	h.HTTPGet.Port = intstr.FromString("admin")
	if err := runHook(ctx, h, pod.Spec.Containers[0], rt); err == nil {
		t.Fatal("httpGet to a port the container lacks: no error")
	}
}
