package playground

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Binding is one cluster's Service bound to an ELB listener with a weight.
type Binding struct {
	Cluster *Cluster
	Service *corev1.Service // namespace and name are used
	Weight  int
}

// PoolWait says which pool to watch and what it must hold.
type PoolWait struct {
	Class    string // ClassPerformance or ClassUnion
	ELBID    string
	Port     int32
	Bindings []Binding
	// Others are owners (VM names) whose members must be in the pool too.
	Others  []string
	Timeout time.Duration
}

// WaitPool waits until the pool behind the listener holds exactly the
// expected members of every binding (ExpectedMembers), the members of every
// other owner, and no member is OFFLINE. It returns the members.
func (p *Playground) WaitPool(ctx context.Context, w PoolWait) ([]Member, error) {
	deadline := time.Now().Add(w.Timeout)
	last := "no answer yet"
	for {
		ms, ok, why := p.poolMatches(ctx, w)
		if ok {
			return ms, nil
		}
		last = why
		if err := p.Exited(); err != nil {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("interrupted while waiting for the pool behind %s ELB %s port %d (%s): %w", w.Class, w.ELBID, w.Port, last, ctx.Err())
		}
		if time.Now().After(deadline) {
			var conds []string
			for _, b := range w.Bindings {
				conds = append(conds, fmt.Sprintf("cluster %s Service %s/%s: %s", b.Cluster.Plan.Name, b.Service.Namespace, b.Service.Name, serviceStatus(ctx, b)))
			}
			return nil, fmt.Errorf("the pool behind %s ELB %s port %d did not reach the expected members within %s: %s\n  %s\n  (controller logs in %s)",
				w.Class, w.ELBID, w.Port, w.Timeout, last, strings.Join(conds, "\n  "), p.LogDir)
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (p *Playground) poolMatches(ctx context.Context, w PoolWait) ([]Member, bool, string) {
	ms, _, ok, err := p.ELB.PortMembers(w.Class, w.ELBID, w.Port)
	if err != nil {
		return nil, false, err.Error()
	}
	if !ok {
		return nil, false, fmt.Sprintf("no listener with a pool on port %d yet", w.Port)
	}
	for _, b := range w.Bindings {
		want, err := b.Cluster.ExpectedMembers(ctx, w.Class, b.Service, w.Port, b.Weight)
		if err != nil {
			return ms, false, fmt.Sprintf("cluster %s: %v", b.Cluster.Plan.Name, err)
		}
		if len(want) == 0 {
			return ms, false, fmt.Sprintf("cluster %s has no ready pod behind Service %s/%s yet", b.Cluster.Plan.Name, b.Service.Namespace, b.Service.Name)
		}
		got := OwnedTargets(ms, p.Owners, b.Cluster.Plan.Name)
		if !SameTargets(got, want) {
			return ms, false, fmt.Sprintf("cluster %s has members %v, expected %v", b.Cluster.Plan.Name, got, want)
		}
	}
	for _, o := range w.Others {
		if len(OwnedTargets(ms, p.Owners, o)) == 0 {
			return ms, false, fmt.Sprintf("no member of %s", o)
		}
	}
	for _, m := range ms {
		if m.Status == "OFFLINE" && m.Weight > 0 {
			return ms, false, fmt.Sprintf("member %s (%s:%d) is OFFLINE", p.Owners.Of(m), m.Address, m.Port)
		}
	}
	return ms, true, ""
}

// WaitNoMembersOf waits until no member of owner is left behind the listener.
func (p *Playground) WaitNoMembersOf(ctx context.Context, class, elbID string, port int32, owner string, timeout time.Duration) ([]Member, error) {
	deadline := time.Now().Add(timeout)
	for {
		ms, _, ok, err := p.ELB.PortMembers(class, elbID, port)
		if err == nil && ok && len(OwnedTargets(ms, p.Owners, owner)) == 0 {
			return ms, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("interrupted while waiting for the members of %s to leave %s ELB %s port %d: %w", owner, class, elbID, port, ctx.Err())
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("members of %s still behind %s ELB %s port %d after %s (err %v, listener found %v): %v",
				owner, class, elbID, port, timeout, err, ok, OwnedTargets(ms, p.Owners, owner))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// serviceStatus describes what the controller reported on a Service.
func serviceStatus(ctx context.Context, b Binding) string {
	svc, err := b.Cluster.Client().CoreV1().Services(b.Service.Namespace).Get(ctx, b.Service.Name, metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	var parts []string
	for _, c := range svc.Status.Conditions {
		parts = append(parts, fmt.Sprintf("%s=%s (%s: %s)", c.Type, c.Status, c.Reason, c.Message))
	}
	if len(parts) == 0 {
		return "no condition set by the controller"
	}
	return strings.Join(parts, "; ")
}
