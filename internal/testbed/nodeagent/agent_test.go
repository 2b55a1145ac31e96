package nodeagent

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/fleetlb/fleetlb/internal/testbed/httpserve"
	"github.com/fleetlb/fleetlb/internal/testbed/poll"
)

// Addresses no cluster plan uses (localk8s takes 127.<10i>).
var (
	testNodeIP  = netip.MustParseAddr("127.233.1.1")
	testPodCIDR = netip.MustParsePrefix("127.233.64.0/24")
)

func testPod(name, node string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-" + name)},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{
			Name: "web", Image: "nginx",
			Ports: []corev1.ContainerPort{
				{ContainerPort: 8080, Protocol: corev1.ProtocolTCP},
				{ContainerPort: 9053, Protocol: corev1.ProtocolUDP},
			},
		}}},
	}
}

func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	poll.State(t, 10*time.Second, what, cond)
}

func udpReply(addr string) (string, error) {
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	buf := make([]byte, 256)
	var rerr error
	for range 3 {
		_, _ = conn.Write([]byte("?"))
		_ = conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		n, err := conn.Read(buf)
		if err == nil {
			return string(buf[:n]), nil
		}
		rerr = err
	}
	return "", rerr
}

func podReadyCondition(p *corev1.Pod) corev1.ConditionStatus {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status
		}
	}
	return ""
}

func TestAgentRunsPodsWithRealServers(t *testing.T) {
	cs, ctx := runAgent(t)
	pods := cs.CoreV1().Pods("ns")

	eventually(t, "the node to be registered Ready", func() (bool, string) {
		n, err := cs.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		ready := false
		for _, c := range n.Status.Conditions {
			ready = ready || (c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue)
		}
		ip := ""
		if len(n.Status.Addresses) > 0 {
			ip = n.Status.Addresses[0].Address
		}
		return ready && ip == testNodeIP.String() && n.Spec.PodCIDR == testPodCIDR.String(), ip
	})

	if _, err := pods.Create(ctx, testPod("other", "n2"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Create(ctx, testPod("web", "n1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var podIP string
	eventually(t, "pod web to be Running and Ready with a pod IP", func() (bool, string) {
		p, err := pods.Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		podIP = p.Status.PodIP
		return p.Status.Phase == corev1.PodRunning && podReadyCondition(p) == corev1.ConditionTrue && podIP != "",
			string(p.Status.Phase) + " " + podIP
	})
	if ip := netip.MustParseAddr(podIP); !testPodCIDR.Contains(ip) {
		t.Errorf("pod IP %s is outside the node's pod CIDR %s", ip, testPodCIDR)
	}
	if got, err := httpserve.Ask(context.Background(), net.JoinHostPort(podIP, "8080")); err != nil || got != "c/n1/web" {
		t.Errorf("HTTP to the pod: got %q, %v; want c/n1/web", got, err)
	}
	if got, err := udpReply(net.JoinHostPort(podIP, "9053")); err != nil || got != "c/n1/web" {
		t.Errorf("UDP to the pod: got %q, %v; want c/n1/web", got, err)
	}
	if other, _ := pods.Get(ctx, "other", metav1.GetOptions{}); other.Status.Phase != "" {
		t.Errorf("a pod bound to another node got status %q from this node", other.Status.Phase)
	}

	// The readiness annotation flips Ready; the server keeps answering.
	p, _ := pods.Get(ctx, "web", metav1.GetOptions{})
	p.Annotations = map[string]string{ReadyAnnotation: "false"}
	if _, err := pods.Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "pod web to be not ready", func() (bool, string) {
		p, _ := pods.Get(ctx, "web", metav1.GetOptions{})
		return podReadyCondition(p) == corev1.ConditionFalse && p.Status.Phase == corev1.PodRunning, string(podReadyCondition(p))
	})
	if got, err := httpserve.Ask(context.Background(), net.JoinHostPort(podIP, "8080")); err != nil || got != "c/n1/web" {
		t.Errorf("a not-ready pod must keep serving: got %q, %v", got, err)
	}

	// A graceful delete (deletionTimestamp set) ends with the agent stopping
	// the servers and removing the pod.
	p, _ = pods.Get(ctx, "web", metav1.GetOptions{})
	now := metav1.Now()
	p.DeletionTimestamp = &now
	if _, err := pods.Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the agent to delete the terminating pod", func() (bool, string) {
		_, err := pods.Get(ctx, "web", metav1.GetOptions{})
		return err != nil, "still there"
	})
	if _, err := net.DialTimeout("tcp", net.JoinHostPort(podIP, "8080"), time.Second); err == nil {
		t.Error("the deleted pod's server still accepts connections")
	}
}
