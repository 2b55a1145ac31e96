package reconciler

import (
	"context"
	"fmt"
	"io"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

// LetGo removes Finalizer from every Service that a controller of class (--load-balancer-class,
// "" for none) bound, and returns how many it let go. It is decommission's last step (T16): once
// the cluster's members and records are gone from every ELB, nothing is left for the finalizer
// to wait for, and a Service deleted later would otherwise wait for a controller that is not
// coming back. Services bound by a controller of another class keep theirs.
func LetGo(ctx context.Context, cs kubernetes.Interface, class string, out io.Writer) (int, error) {
	r := &Reconciler{Class: class}
	list, err := cs.CoreV1().Services(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, fmt.Errorf("list the Services: %w", err)
	}
	n := 0
	for _, svc := range list.Items {
		if !r.holdsBinding(&svc) {
			continue
		}
		removed := false
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur, err := cs.CoreV1().Services(svc.Namespace).Get(ctx, svc.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return nil // deleted meanwhile
			}
			if err != nil || !r.holdsBinding(cur) {
				return err
			}
			controllerutil.RemoveFinalizer(cur, Finalizer)
			_, err = cs.CoreV1().Services(cur.Namespace).Update(ctx, cur, metav1.UpdateOptions{})
			removed = err == nil
			return err
		})
		if err != nil {
			return n, fmt.Errorf("remove the finalizer %s from Service %s/%s: %w", Finalizer, svc.Namespace, svc.Name, err)
		}
		if !removed {
			continue // deleted or let go by someone else since the list
		}
		n++
		fmt.Fprintf(out, "Service %s/%s: finalizer %s removed\n", svc.Namespace, svc.Name, Finalizer)
	}
	return n, nil
}
