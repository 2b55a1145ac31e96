package nodeagent

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// The node controllers write a freshly created Node at the same moment the agent sets its
// status; that conflict must not stop the agent (it did, and the node's pods never started).
func TestRegisterNodeRetriesStatusConflict(t *testing.T) {
	cs := fake.NewClientset()
	conflicts := 2
	cs.PrependReactor("update", "nodes", func(action k8stesting.Action) (bool, runtime.Object, error) {
		if action.GetSubresource() != "status" || conflicts == 0 {
			return false, nil, nil
		}
		conflicts--
		return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "nodes"}, "n1", nil)
	})
	agent, err := New(Config{Cluster: "c", NodeName: "n1", NodeIP: testNodeIP, PodCIDR: testPodCIDR, Client: cs})
	if err != nil {
		t.Fatal(err)
	}
	if err := agent.registerNode(context.Background()); err != nil {
		t.Fatalf("registerNode after %d conflicts: %v", 2, err)
	}
	if conflicts != 0 {
		t.Fatalf("the conflicting status updates were not attempted (%d left)", conflicts)
	}
	n, err := cs.CoreV1().Nodes().Get(context.Background(), "n1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
			return
		}
	}
	t.Fatalf("node n1 is not Ready after registration: %+v", n.Status.Conditions)
}
