package reconciler

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/fleetlb/fleetlb/internal/controller/annotations"
	"github.com/fleetlb/fleetlb/internal/controller/deploy"
	"github.com/fleetlb/fleetlb/internal/controller/model"
)

// Inventory is what the controller needs from the deployer across all Services: the sweep of
// members no Service wants (C3) and the move to a new cluster ID (C4). deploy.Deployer has both.
type Inventory interface {
	Sweep(ctx context.Context, clusterID string, wanted func(context.Context) (deploy.Wanted, error)) (deploy.Result, error)
	AdoptClusterID(ctx context.Context, oldID, newID string) (deploy.Result, error)
	Owns(ctx context.Context, clusterID string) (bool, error)
}

// sweeper runs the sweep at start and then every resync period (leader only: a manager
// Runnable needs the lease).
type sweeper struct {
	inv       Inventory
	reader    client.Reader // the API server itself, not the cache: a Service bound a moment ago counts
	clusterID string
	every     time.Duration
	log       logr.Logger
}

func (s *sweeper) Start(ctx context.Context) error {
	for {
		res, err := s.inv.Sweep(ctx, s.clusterID, s.wanted)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Error(err, "sweep failed; next try after the resync period")
		case res.MembersRemoved > 0 || res.ListenersDeleted > 0:
			s.log.Info("released what no Service wants", "membersRemoved", res.MembersRemoved, "listenersDeleted", res.ListenersDeleted)
		}
		next := s.every
		if res.Draining > 0 && res.DrainWait < next {
			next = res.DrainWait // members it drains are removed when their drain ends (T1)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(next):
		}
	}
}

// wanted lists the cluster's Services: a member is wanted while its Service exists, holds the
// finalizer or is to be bound, is bound to that ELB (fleetlb.io/bound-elb-id, or
// kubernetes.io/elb.id) and has that port and protocol. A Service being released keeps
// everything: its own release does the job.
func (s *sweeper) wanted(ctx context.Context) (deploy.Wanted, error) {
	var list corev1.ServiceList
	if err := s.reader.List(ctx, &list); err != nil {
		return nil, err
	}
	type key struct{ ns, name string }
	svcs := map[key]*corev1.Service{}
	for i := range list.Items {
		svc := &list.Items[i]
		// A Service to bind (about to get the finalizer) counts as much as a bound one.
		if controllerutil.ContainsFinalizer(svc, Finalizer) || bindable(svc) {
			svcs[key{svc.Namespace, svc.Name}] = svc
		}
	}
	return func(ref model.ServiceRef, elbID string, port int32, protocol string) bool {
		svc, ok := svcs[key{ref.Namespace, ref.Name}]
		if !ok {
			return false
		}
		if !svc.DeletionTimestamp.IsZero() || !bindable(svc) {
			return true // being released by its own reconcile
		}
		elbs := boundELBs(svc)
		if id := strings.TrimSpace(svc.Annotations[model.AnnotationELBID]); id != "" {
			elbs = append(elbs, id)
		}
		if !slices.Contains(elbs, elbID) {
			return false
		}
		return slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool {
			proto, err := model.ListenerProtocol(p)
			return err == nil && p.Port == port && strings.EqualFold(proto, protocol)
		})
	}, nil
}

// bindable: a LoadBalancer Service naming an ELB with multicluster: 'true'.
func bindable(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeLoadBalancer && annotations.HasELBID(svc.Annotations) && annotations.IsMultiCluster(svc.Annotations)
}
