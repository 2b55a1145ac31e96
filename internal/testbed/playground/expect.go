package playground

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Target is one expected member: address:port and weight.
type Target struct {
	Address string
	Port    int32
	Weight  int
}

func (t Target) String() string { return fmt.Sprintf("%s:%d=%d", t.Address, t.Port, t.Weight) }

// ExpectedMembers computes, from the cluster's ready pods, the members a
// cluster of weight w should have in the pool behind the Service port
// svcPort, by the source document's two rules: pass-through (a vpc cluster
// on a performance ELB) gives each ready pod ceil(w/N) on its target port;
// node mode gives each node running k of the N ready pods ceil(w·k/N) on the
// node port. It is written apart from the controller's code on purpose, so
// that a test comparing the two can fail.
func (c *Cluster) ExpectedMembers(ctx context.Context, class string, svc *corev1.Service, svcPort int32, w int) ([]Target, error) {
	cur, err := c.Client().CoreV1().Services(svc.Namespace).Get(ctx, svc.Name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	var port *corev1.ServicePort
	for i := range cur.Spec.Ports {
		if cur.Spec.Ports[i].Port == svcPort {
			port = &cur.Spec.Ports[i]
		}
	}
	if port == nil {
		return nil, fmt.Errorf("service %s/%s has no port %d", svc.Namespace, svc.Name, svcPort)
	}
	sel := make([]string, 0, len(cur.Spec.Selector))
	for k, v := range cur.Spec.Selector {
		sel = append(sel, k+"="+v)
	}
	pods, err := c.Client().CoreV1().Pods(svc.Namespace).List(ctx, metav1.ListOptions{LabelSelector: strings.Join(sel, ",")})
	if err != nil {
		return nil, err
	}
	var ready []corev1.Pod
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && p.Status.PodIP != "" && podReady(&p) {
			ready = append(ready, p)
		}
	}
	n := len(ready)
	if n == 0 {
		return nil, nil
	}
	var out []Target
	if c.Plan.PodNetwork == PodNetworkVPC && class == ClassPerformance {
		for _, p := range ready {
			out = append(out, Target{Address: p.Status.PodIP, Port: targetPort(port, &p), Weight: ceilDiv(w, n)})
		}
	} else {
		if port.NodePort == 0 {
			return nil, fmt.Errorf("service %s/%s port %d has no node port yet", svc.Namespace, svc.Name, svcPort)
		}
		perNode := map[string]int{}
		for _, p := range ready {
			perNode[p.Spec.NodeName]++
		}
		for _, node := range c.K8s.Nodes() {
			if k := perNode[node.Name]; k > 0 {
				out = append(out, Target{Address: node.IP.String(), Port: port.NodePort, Weight: ceilDiv(w*k, n)})
			}
		}
	}
	SortTargets(out)
	return out, nil
}

// OwnedTargets returns the members of owner as targets.
func OwnedTargets(members []Member, owners Owners, owner string) []Target {
	var out []Target
	for _, m := range members {
		if owners.Of(m) == owner {
			out = append(out, Target{Address: m.Address, Port: m.Port, Weight: m.Weight})
		}
	}
	SortTargets(out)
	return out
}

// SortTargets orders targets by address and port.
func SortTargets(ts []Target) {
	sort.Slice(ts, func(i, j int) bool {
		if ts[i].Address != ts[j].Address {
			return ts[i].Address < ts[j].Address
		}
		return ts[i].Port < ts[j].Port
	})
}

// SameTargets reports whether a and b (both sorted) are equal.
func SameTargets(a, b []Target) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// targetPort resolves the Service port's targetPort for pod p.
func targetPort(sp *corev1.ServicePort, p *corev1.Pod) int32 {
	switch {
	case sp.TargetPort.Type == intstr.Int && sp.TargetPort.IntVal != 0:
		return sp.TargetPort.IntVal
	case sp.TargetPort.Type == intstr.String && sp.TargetPort.StrVal != "":
		for _, c := range p.Spec.Containers {
			for _, cp := range c.Ports {
				if cp.Name == sp.TargetPort.StrVal {
					return cp.ContainerPort
				}
			}
		}
	}
	return sp.Port
}
