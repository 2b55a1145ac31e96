package playground

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// TestWaitDeploymentReadyTimeout checks that a Deployment that never gets
// ready is reported with its replica count, not with the deadline's own
// "context deadline exceeded" (what the last poll's request failed with).
func TestWaitDeploymentReadyTimeout(t *testing.T) {
	d := Nginx(3)
	d.Namespace = "default"
	d.Status = appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 1}
	slow := fake.NewClientset(d.DeepCopy())
	calls := 0
	slow.PrependReactor("get", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		if calls++; calls == 1 {
			return false, nil, nil // the stored object answers
		}
		time.Sleep(400 * time.Millisecond) // a request cut by the deadline, as a real client's is
		return true, nil, context.DeadlineExceeded
	})
	err := WaitDeploymentReady(context.Background(), slow, "default", "nginx", 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "1 of 3 replicas ready") {
		t.Errorf("WaitDeploymentReady: %v, want the replica count in the error", err)
	}

	cs := fake.NewClientset(d)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = WaitDeploymentReady(ctx, cs, "default", "nginx", time.Minute)
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Errorf("WaitDeploymentReady after Ctrl-C: %v, want an interruption", err)
	}

	d.Status.ReadyReplicas = 3
	if _, err := cs.AppsV1().Deployments("default").UpdateStatus(context.Background(), d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := WaitDeploymentReady(context.Background(), cs, "default", "nginx", 5*time.Second); err != nil {
		t.Errorf("a ready Deployment: %v", err)
	}
}
