package playground

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/yaml"

	"github.com/fleetlb/fleetlb/internal/controller/model"
	"github.com/fleetlb/fleetlb/internal/testbed/localk8s"
)

// Nginx is the Deployment the demo runs in every cluster: label app: nginx,
// containerPort 80 (the simulated nodes answer on it with CLUSTER/NODE/POD).
func Nginx(replicas int32) *appsv1.Deployment {
	return localk8s.Deployment("nginx", "nginx:1.27", replicas, corev1.ContainerPort{ContainerPort: 80, Protocol: corev1.ProtocolTCP})
}

// LoadService reads a Service manifest (one of the seed examples) and fills
// in kubernetes.io/elb.id; nothing else is changed.
func LoadService(path, elbID string) (*corev1.Service, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the Service manifest: %w", err)
	}
	var svc corev1.Service
	if err := yaml.UnmarshalStrict(data, &svc); err != nil {
		return nil, fmt.Errorf("%s is not a Service manifest: %w", path, err)
	}
	if svc.Kind != "Service" {
		return nil, fmt.Errorf("%s holds a %q, not a Service", path, svc.Kind)
	}
	if _, ok := svc.Annotations[model.AnnotationELBID]; !ok {
		return nil, fmt.Errorf("%s has no %s annotation to fill in", path, model.AnnotationELBID)
	}
	svc.Annotations[model.AnnotationELBID] = elbID
	return &svc, nil
}

// ApplyDeployment creates d in namespace ns, or updates its spec.
func ApplyDeployment(ctx context.Context, cs kubernetes.Interface, ns string, d *appsv1.Deployment) error {
	_, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		cur, gerr := cs.AppsV1().Deployments(ns).Get(ctx, d.Name, metav1.GetOptions{})
		if gerr != nil {
			return gerr
		}
		cur.Spec = d.Spec
		_, err = cs.AppsV1().Deployments(ns).Update(ctx, cur, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("apply Deployment %s/%s: %w", ns, d.Name, err)
	}
	return nil
}

// ScaleDeployment sets the replicas of a Deployment (read again and retried
// when the Deployment controller wrote it meanwhile).
func ScaleDeployment(ctx context.Context, cs kubernetes.Interface, ns, name string, replicas int32) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		sc, err := cs.AppsV1().Deployments(ns).GetScale(ctx, name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("scale Deployment %s/%s: %w", ns, name, err)
		}
		sc.Spec.Replicas = replicas
		if _, err := cs.AppsV1().Deployments(ns).UpdateScale(ctx, name, sc, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("scale Deployment %s/%s to %d: %w", ns, name, replicas, err)
		}
		return nil
	})
}

// WaitDeploymentReady waits until every replica of the Deployment is ready.
func WaitDeploymentReady(ctx context.Context, cs kubernetes.Interface, ns, name string, timeout time.Duration) error {
	last := "no answer yet"
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(pctx context.Context) (bool, error) {
		d, err := cs.AppsV1().Deployments(ns).Get(pctx, name, metav1.GetOptions{})
		if err != nil {
			if pctx.Err() == nil { // not the deadline itself: keep the last replica count
				last = err.Error()
			}
			return false, nil
		}
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		last = fmt.Sprintf("%d of %d replicas ready, %d updated", d.Status.ReadyReplicas, want, d.Status.UpdatedReplicas)
		return d.Status.ObservedGeneration >= d.Generation && d.Status.ReadyReplicas == want &&
			d.Status.UpdatedReplicas == want && d.Status.Replicas == want, nil
	})
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted while waiting for deployment %s/%s (%s): %w", ns, name, last, ctx.Err())
	}
	if err != nil {
		return fmt.Errorf("deployment %s/%s not ready after %s (%s)", ns, name, timeout, last)
	}
	return nil
}

// ReadyPodsByNode counts the ready pods with the label app=<app> per node.
func ReadyPodsByNode(ctx context.Context, cs kubernetes.Interface, ns, app string) (map[string]int, error) {
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil || p.Spec.NodeName == "" {
			continue
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				out[p.Spec.NodeName]++
			}
		}
	}
	return out, nil
}

// SeedDir finds the source document's example manifests: $FLEETLB_SEED_DIR,
// else ../shared/seed/examples beside the repository, else the repository's
// byte-identical copy in internal/testbed/playground/seed (a fresh clone has no
// shared/ beside it).
func SeedDir() (string, error) {
	if d := os.Getenv("FLEETLB_SEED_DIR"); d != "" {
		return d, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	dirs := []string{filepath.Join(filepath.Dir(root), "shared", "seed", "examples"), filepath.Join(root, "internal", "testbed", "playground", "seed")}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "s1-cluster-a-weight-80.yaml")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("the seed examples are in neither %s; set FLEETLB_SEED_DIR to their directory", strings.Join(dirs, " nor "))
}

// RepoRoot is the fleetlb repository's directory (see localk8s.RepoRoot).
func RepoRoot() (string, error) {
	root, err := localk8s.RepoRoot()
	if errors.Is(err, localk8s.ErrNotInRepo) {
		return "", fmt.Errorf("not inside the fleetlb repository (%v)", err)
	}
	return root, err
}
