package reconciler

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/fleetlb/fleetlb/internal/controller/model"
)

// Reasons a bound Service has no member on a port (issue "safe on a real cloud", C10): its
// condition is then False with one of them, never Bound with zero members.
const (
	// ReasonIPv6Only: ELB members are IPv4 addresses; an IPv6-only Service has none.
	ReasonIPv6Only = "IPv6Only"
	// ReasonNoUsableEndpoints: no ready endpoint this cluster can make a member of.
	ReasonNoUsableEndpoints = "NoUsableEndpoints"
)

// whyNoMembers says why ports of desired have no member of this cluster, or returns "" when
// every port has one. The listeners stay (other clusters and VMs may serve them); only this
// cluster adds nothing.
func whyNoMembers(in model.Input, desired model.Desired) (reason, msg string) {
	var empty []string
	for _, l := range desired.Listeners {
		if len(l.Members) == 0 {
			empty = append(empty, fmt.Sprintf("%s/%d", l.Protocol, l.Port))
		}
	}
	if len(empty) == 0 {
		return "", ""
	}
	ports := strings.Join(empty, ", ")
	svc := in.Service
	if fams := svc.Spec.IPFamilies; len(fams) > 0 && !slices.Contains(fams, corev1.IPv4Protocol) || ipv6SlicesOnly(in.EndpointSlices) {
		return ReasonIPv6Only, fmt.Sprintf(
			"this cluster has no member on port(s) %s: the Service is IPv6-only (spec.ipFamilies %v), and ELB members are IPv4 addresses; set spec.ipFamilyPolicy: PreferDualStack (or RequireDualStack) with IPv4 in spec.ipFamilies so that its Pods get IPv4 endpoints",
			ports, svc.Spec.IPFamilies)
	}
	ready, total, nodesOK := 0, 0, 0
	nodeIP := map[string]bool{}
	for _, n := range in.Nodes {
		for _, a := range n.Status.Addresses {
			if ip, err := netip.ParseAddr(a.Address); err == nil && a.Type == corev1.NodeInternalIP && ip.Is4() {
				nodeIP[n.Name] = true
			}
		}
	}
	for _, s := range in.EndpointSlices {
		if s.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		for _, ep := range s.Endpoints {
			total++
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			ready++
			if ep.NodeName != nil && nodeIP[*ep.NodeName] {
				nodesOK++
			}
		}
	}
	var why string
	switch {
	case total == 0:
		why = "the Service's selector matches no Pod (no endpoints); check spec.selector and that the Pods exist"
	case ready == 0:
		why = fmt.Sprintf("none of its %d endpoints is ready; the members come back when Pods pass their readiness probes", total)
	case desired.Mode == model.ModeNode && nodesOK == 0:
		why = fmt.Sprintf("its %d ready Pods run on nodes without an IPv4 InternalIP, and node-mode members are node IP : node port", ready)
	default:
		why = fmt.Sprintf("its %d ready Pods do not serve the target port of these ports (a named targetPort the Pods do not declare?)", ready)
	}
	return ReasonNoUsableEndpoints, fmt.Sprintf("this cluster has no member on port(s) %s: %s; the listener stays for other clusters and VMs", ports, why)
}

// ipv6SlicesOnly: the Service has endpoint slices, all of them IPv6.
func ipv6SlicesOnly(slices []discoveryv1.EndpointSlice) bool {
	for _, s := range slices {
		if s.AddressType != discoveryv1.AddressTypeIPv6 {
			return false
		}
	}
	return len(slices) > 0
}
