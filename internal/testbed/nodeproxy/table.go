package nodeproxy

import (
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
)

// listenKey is one node port: a protocol and a port number on the node IP.
type listenKey struct {
	Protocol corev1.Protocol // TCP or UDP
	Port     int32
}

// frontend is what one node port forwards to.
type frontend struct {
	Service  types.NamespacedName
	PortName string
	Local    bool             // externalTrafficPolicy: Local (only this node's endpoints)
	Backends []netip.AddrPort // ready endpoints, sorted
}

// healthCheck is a Service's healthCheckNodePort and its local endpoint count.
type healthCheck struct {
	Service        types.NamespacedName
	LocalEndpoints int
}

// table is everything the proxy serves at one moment.
type table struct {
	frontends map[listenKey]frontend
	health    map[int32]healthCheck
}

// buildTable computes the node ports of nodeName from the cluster's Services
// and EndpointSlices, the way kube-proxy would: every NodePort and
// LoadBalancer service port with a nodePort, forwarding to the ready,
// non-terminating endpoints of that port (only those on nodeName when the
// Service's externalTrafficPolicy is Local).
func buildTable(nodeName string, services []*corev1.Service, endpointSlices []*discoveryv1.EndpointSlice) *table {
	byService := map[types.NamespacedName][]*discoveryv1.EndpointSlice{}
	for _, s := range endpointSlices {
		name := s.Labels[discoveryv1.LabelServiceName]
		if name == "" || s.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		key := types.NamespacedName{Namespace: s.Namespace, Name: name}
		byService[key] = append(byService[key], s)
	}

	t := &table{frontends: map[listenKey]frontend{}, health: map[int32]healthCheck{}}
	for _, svc := range services {
		if svc.Spec.Type != corev1.ServiceTypeNodePort && svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
			continue
		}
		key := types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}
		local := svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
		for _, sp := range svc.Spec.Ports {
			if sp.NodePort == 0 || (sp.Protocol != corev1.ProtocolTCP && sp.Protocol != corev1.ProtocolUDP) {
				continue
			}
			pick := func(use func(discoveryv1.Endpoint) bool) []netip.AddrPort {
				var out []netip.AddrPort
				for _, ep := range endpointsWhere(byService[key], sp.Name, sp.Protocol, use) {
					if !local || ep.node == nodeName {
						out = append(out, ep.addr)
					}
				}
				return sortUnique(out)
			}
			// As kube-proxy (ProxyTerminatingEndpoints, GA in v1.28): ready endpoints, else those
			// still serving while they terminate (a Pod in its preStop), so that connections
			// that reach a node while the last Pods stop are not refused (T4).
			backends := pick(endpointReady)
			if len(backends) == 0 {
				backends = pick(endpointServingTerminating)
			}
			t.frontends[listenKey{Protocol: sp.Protocol, Port: sp.NodePort}] = frontend{
				Service: key, PortName: sp.Name, Local: local, Backends: backends,
			}
		}
		if svc.Spec.Type == corev1.ServiceTypeLoadBalancer && local && svc.Spec.HealthCheckNodePort != 0 {
			t.health[svc.Spec.HealthCheckNodePort] = healthCheck{
				Service: key, LocalEndpoints: countLocal(byService[key], nodeName),
			}
		}
	}
	return t
}

type endpoint struct {
	addr netip.AddrPort
	node string
}

// endpointsWhere lists the endpoints of one service port that use accepts.
func endpointsWhere(slices []*discoveryv1.EndpointSlice, portName string, proto corev1.Protocol, use func(discoveryv1.Endpoint) bool) []endpoint {
	var out []endpoint
	for _, s := range slices {
		for _, p := range s.Ports {
			name, pproto := "", corev1.ProtocolTCP
			if p.Name != nil {
				name = *p.Name
			}
			if p.Protocol != nil {
				pproto = *p.Protocol
			}
			if name != portName || pproto != proto || p.Port == nil {
				continue
			}
			for _, e := range s.Endpoints {
				if !use(e) {
					continue
				}
				node := ""
				if e.NodeName != nil {
					node = *e.NodeName
				}
				for _, a := range e.Addresses {
					ip, err := netip.ParseAddr(a)
					if err != nil {
						continue
					}
					out = append(out, endpoint{addr: netip.AddrPortFrom(ip, uint16(*p.Port)), node: node})
				}
			}
		}
	}
	return out
}

// countLocal counts the distinct ready endpoints on nodeName, as kube-proxy's health check does.
func countLocal(slices []*discoveryv1.EndpointSlice, nodeName string) int {
	seen := map[string]bool{}
	for _, s := range slices {
		for _, e := range s.Endpoints {
			if endpointReady(e) && e.NodeName != nil && *e.NodeName == nodeName && len(e.Addresses) > 0 {
				seen[e.Addresses[0]] = true
			}
		}
	}
	return len(seen)
}

// endpointReady: an unset ready condition means ready (discovery API contract).
func endpointReady(e discoveryv1.Endpoint) bool {
	if e.Conditions.Terminating != nil && *e.Conditions.Terminating {
		return false
	}
	return e.Conditions.Ready == nil || *e.Conditions.Ready
}

// endpointServingTerminating: terminating, but still serving (the discovery API's serving
// condition; unset means serving only for an endpoint that is ready).
func endpointServingTerminating(e discoveryv1.Endpoint) bool {
	return e.Conditions.Terminating != nil && *e.Conditions.Terminating && e.Conditions.Serving != nil && *e.Conditions.Serving
}

func sortUnique(in []netip.AddrPort) []netip.AddrPort {
	slices.SortFunc(in, func(a, b netip.AddrPort) int { return a.Compare(b) })
	return slices.Compact(in)
}
