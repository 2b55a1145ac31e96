package model

import (
	"fmt"
	"net"
	"net/netip"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/controller/weights"
)

// PodNetwork is how this cluster's Pods are addressed (--pod-network).
type PodNetwork string

const (
	// PodNetworkVPC: Pods have VPC addresses an ELB can reach directly (like CCE Turbo).
	PodNetworkVPC PodNetwork = "vpc"
	// PodNetworkOverlay: Pods live on an overlay; the ELB reaches them through node ports.
	PodNetworkOverlay PodNetwork = "overlay"
)

// Settings are the controller's per-cluster settings.
type Settings struct {
	ClusterID     string
	PodNetwork    PodNetwork
	SubnetID      string // subnet of instance-type members (--subnet-id); "": found by address (C7); unused for multivpc (IP-type)
	DefaultWeight int    // W of a Service that never had a weight annotation
	// DeregistrationDelay is the drain of a Service without fleetlb.io/deregistration-delay
	// (--deregistration-delay, default DefaultDeregistrationDelay); 0 removes members at once.
	DeregistrationDelay time.Duration
}

// Input is everything Build looks at. It is read, never modified.
type Input struct {
	Service        *corev1.Service
	EndpointSlices []discoveryv1.EndpointSlice // the Service's slices (label kubernetes.io/service-name)
	Nodes          []corev1.Node
	Config         ServiceConfig // parsed annotations, including the last applied weight (R4)
	Settings       Settings
	// GatePending are the Pods (by UID) whose containers are ready and that wait only for the
	// readiness gate PodReadinessGate (T5): not Ready, so their endpoints are not ready, yet in
	// pass-through mode they are members, so that they can go ONLINE and open their gate.
	GatePending map[types.UID]bool
}

// Default pool settings for a listener this Service creates, when its annotations ask for nothing
// else. Later Services attach and keep the creator's settings (R5).
//
// The health check is elbrules' default (a probe every 5 s, 3 s to answer, 3 successes to mark a
// member up). CCE documents 10 s for its health-check-option timeout, longer than its own 5 s
// delay; fleetlb keeps the API's advice that the timeout stays below the delay.
const DefaultAlgorithm = elbrules.AlgorithmRoundRobin

// DefaultHealthMonitor is the health check a pool this Service creates gets when the Service
// sets no kubernetes.io/elb.health-check-option (UDP listeners use elbrules.MonitorUDPConnect instead of
// TCP); the fields an option leaves out keep these values too.
func DefaultHealthMonitor() HealthMonitor {
	return HealthMonitor{Type: elbrules.MonitorTCP, Delay: elbrules.DefaultMonitorDelay, Timeout: elbrules.DefaultMonitorTimeout,
		MaxRetries: elbrules.DefaultMonitorMaxRetries}
}

const protocolTCP, protocolUDP = "TCP", "UDP"

// Build computes what this cluster wants on the ELB for one Service. It returns an error the user
// can act on when the Service cannot be expressed on an ELB (a port protocol, a missing node port,
// a weight out of range, a missing --subnet-id).
func Build(in Input) (Desired, error) {
	svc := in.Service
	if svc == nil {
		return Desired{}, fmt.Errorf("no Service given")
	}
	cfg, set := in.Config, in.Settings
	if set.ClusterID == "" {
		return Desired{}, fmt.Errorf("the cluster ID is empty; set --cluster-id or let the controller read the kube-system namespace UID")
	}

	w, err := clusterWeight(cfg, set)
	if err != nil {
		return Desired{}, err
	}
	recycle := cfg.Recycle
	if recycle == "" {
		recycle = RecycleMemberOnly
	}
	d := Desired{
		Service:  ServiceRef{ClusterID: set.ClusterID, Namespace: svc.Namespace, Name: svc.Name},
		ELBID:    cfg.ELBID,
		Class:    cfg.Class,
		MultiVPC: cfg.MultiVPC,
		Mode:     ModeNode,
		Recycle:  recycle,
		Weight:   w,

		DeregistrationDelay: DeregistrationDelay(cfg, set),
	}
	if set.PodNetwork == PodNetworkVPC && cfg.Class == elbrules.ClassPerformance {
		d.Mode = ModePassThrough
	}
	// Without --subnet-id each instance-type member's subnet is found by its address on the ELB's
	// VPC when it is applied (internal/controller/deploy, C7).
	subnet := set.SubnetID
	if cfg.MultiVPC {
		subnet = "" // IP-type members (S2)
	}

	var pending map[types.UID]bool
	if d.Mode == ModePassThrough {
		pending = in.GatePending // in node mode a member is a node, and the gate opens at once
	}
	pods := readyPods(in.EndpointSlices, pending)
	nodeIPs := nodeInternalIPs(in.Nodes)
	seen := map[string]bool{}
	for _, sp := range svc.Spec.Ports {
		proto, err := ListenerProtocol(sp)
		if err != nil {
			return Desired{}, err
		}
		key := fmt.Sprintf("%s/%d", proto, sp.Port)
		if seen[key] {
			continue // the API server refuses duplicates; be safe anyway
		}
		seen[key] = true
		l := Listener{Port: sp.Port, Protocol: proto, Pool: poolFor(cfg, proto)}
		if d.Mode == ModePassThrough {
			l.Members, err = passThroughMembers(sp, pods, w, subnet)
		} else {
			l.Members, err = nodeMembers(sp, pods, nodeIPs, w, subnet)
		}
		if err != nil {
			return Desired{}, err
		}
		for _, m := range l.Members {
			l.EffectiveWeightSum += m.Weight
		}
		d.Listeners = append(d.Listeners, l)
	}
	sort.Slice(d.Listeners, func(i, j int) bool {
		a, b := d.Listeners[i], d.Listeners[j]
		if a.Port != b.Port {
			return a.Port < b.Port
		}
		return a.Protocol < b.Protocol
	})
	return d, nil
}

// DeregistrationDelay is the Service's drain (T1): its annotation, else the cluster's setting.
func DeregistrationDelay(cfg ServiceConfig, set Settings) time.Duration {
	if cfg.DeregistrationDelay != nil {
		return *cfg.DeregistrationDelay
	}
	return set.DeregistrationDelay
}

// clusterWeight picks W: the annotation, else the last applied W (R4), else the default.
func clusterWeight(cfg ServiceConfig, set Settings) (int, error) {
	src, w := AnnotationWeight, 0
	switch {
	case cfg.Weight != nil:
		w = *cfg.Weight
	case cfg.AppliedWeight != nil:
		src, w = "the last applied weight ("+AnnotationAppliedWeight+")", *cfg.AppliedWeight
	default:
		src, w = "--default-weight", set.DefaultWeight
	}
	if !elbrules.ValidWeight(w) {
		return 0, fmt.Errorf("weight %d from %s is outside %d-%d; set an integer from %d to %d", w, src, elbrules.MinWeight, elbrules.MaxWeight, elbrules.MinWeight, elbrules.MaxWeight)
	}
	return w, nil
}

// ListenerProtocol is the ELB listener protocol of a Service port: TCP (also when the port leaves
// it unset, as Kubernetes does) or UDP; any other protocol is an error the user can act on.
func ListenerProtocol(sp corev1.ServicePort) (string, error) {
	switch sp.Protocol {
	case corev1.ProtocolTCP, "":
		return protocolTCP, nil
	case corev1.ProtocolUDP:
		return protocolUDP, nil
	}
	return "", fmt.Errorf("port %s of the Service uses protocol %s, but ELB listeners are TCP or UDP only; change its protocol or move it to a Service without %s", portLabel(sp), sp.Protocol, AnnotationELBID)
}

// poolFor is the pool a listener of protocol proto gets when this Service creates it: the
// Service's algorithm and health check annotations, else ROUND_ROBIN with a TCP (UDP_CONNECT for
// UDP) check. UDP listeners are always checked with UDP_CONNECT, on the Service's timings.
func poolFor(cfg ServiceConfig, proto string) Pool {
	p := Pool{Algorithm: DefaultAlgorithm}
	if cfg.Algorithm != "" {
		p.Algorithm = cfg.Algorithm
	}
	if cfg.HealthCheckOff {
		return p
	}
	hm := DefaultHealthMonitor()
	if cfg.HealthCheck != nil {
		hm = *cfg.HealthCheck
	}
	if proto == protocolUDP {
		hm.Type, hm.URLPath = elbrules.MonitorUDPConnect, ""
	}
	p.HealthMonitor = &hm
	return p
}

// readyPod is one ready target Pod as the EndpointSlices show it, with the port it serves each
// Service port on (by EndpointSlice port name, which is the Service port name).
type readyPod struct {
	address string
	node    string
	ports   map[portKey]int32
}

type portKey struct {
	name  string
	proto corev1.Protocol
}

// readyPods collects ready endpoints across all slices, deduplicated, and those of the Pods in
// pending (waiting only for the readiness gate, T5) unless terminating. Only IPv4 slices count:
// ELB members are IPv4, and a dual-stack Service lists each Pod once per family.
func readyPods(slices []discoveryv1.EndpointSlice, pending map[types.UID]bool) []*readyPod {
	byKey := map[string]*readyPod{}
	var order []string
	for _, s := range slices {
		if s.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		for _, ep := range s.Endpoints {
			// The API defines a nil Ready as ready; terminating endpoints are never ready.
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready && !gatePending(ep, pending) {
				continue
			}
			if len(ep.Addresses) == 0 {
				continue
			}
			addr := ep.Addresses[0]
			if ip := net.ParseIP(addr); ip == nil || ip.To4() == nil {
				continue
			}
			key := addr
			if ep.TargetRef != nil && ep.TargetRef.UID != "" {
				key = string(ep.TargetRef.UID)
			}
			p := byKey[key]
			if p == nil {
				p = &readyPod{address: addr, ports: map[portKey]int32{}}
				byKey[key] = p
				order = append(order, key)
			}
			if ep.NodeName != nil && p.node == "" {
				p.node = *ep.NodeName
			}
			for _, ep := range s.Ports {
				if ep.Port == nil {
					continue
				}
				k := portKey{proto: corev1.ProtocolTCP}
				if ep.Name != nil {
					k.name = *ep.Name
				}
				if ep.Protocol != nil {
					k.proto = *ep.Protocol
				}
				if _, dup := p.ports[k]; !dup {
					p.ports[k] = *ep.Port
				}
			}
		}
	}
	out := make([]*readyPod, 0, len(order))
	for _, k := range order {
		out = append(out, byKey[k])
	}
	return out
}

// gatePending: the endpoint's Pod waits only for the readiness gate (T5) and is not terminating.
func gatePending(ep discoveryv1.Endpoint, pending map[types.UID]bool) bool {
	if ep.TargetRef == nil || !pending[ep.TargetRef.UID] {
		return false
	}
	return ep.Conditions.Terminating == nil || !*ep.Conditions.Terminating
}

// targetPort is the port pod serves Service port sp on; ok is false when its slice does not list
// it (e.g. a named targetPort the Pod does not declare).
func (p *readyPod) targetPort(sp corev1.ServicePort) (int32, bool) {
	proto := sp.Protocol
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	port, ok := p.ports[portKey{name: sp.Name, proto: proto}]
	return port, ok
}

func passThroughMembers(sp corev1.ServicePort, pods []*readyPod, w int, subnet string) ([]Member, error) {
	type target struct {
		addr string
		port int32
		node string
	}
	var targets []target
	seen := map[string]bool{}
	for _, p := range pods {
		port, ok := p.targetPort(sp)
		if !ok {
			continue
		}
		k := fmt.Sprintf("%s:%d", p.address, port)
		if seen[k] {
			continue
		}
		seen[k] = true
		targets = append(targets, target{p.address, port, p.node})
	}
	if len(targets) == 0 {
		return nil, nil
	}
	each, err := weights.PassThrough(w, len(targets))
	if err != nil {
		return nil, err
	}
	members := make([]Member, len(targets))
	for i, t := range targets {
		members[i] = Member{Address: t.addr, Port: t.port, Weight: each, SubnetID: subnet, NodeName: t.node, Pods: 1}
	}
	sortMembers(members)
	return members, nil
}

func nodeMembers(sp corev1.ServicePort, pods []*readyPod, nodeIPs map[string]string, w int, subnet string) ([]Member, error) {
	if sp.NodePort == 0 {
		return nil, fmt.Errorf("port %s of the Service has no node port, which node mode needs (members are node IP : node port); set spec.allocateLoadBalancerNodePorts to true", portLabel(sp))
	}
	perNode := map[string]int{}
	total := 0
	for _, p := range pods {
		if _, ok := p.targetPort(sp); !ok {
			continue
		}
		// A Pod whose node is unknown or has no InternalIP cannot be reached through a node port;
		// it is left out of both the members and the total, so the others share all of W.
		if p.node == "" || nodeIPs[p.node] == "" {
			continue
		}
		perNode[p.node]++
		total++
	}
	if total == 0 {
		return nil, nil
	}
	names := make([]string, 0, len(perNode))
	for n := range perNode {
		names = append(names, n)
	}
	sort.Strings(names)
	podsPer := make([]int, len(names))
	for i, n := range names {
		podsPer[i] = perNode[n]
	}
	ws, err := weights.Spread(w, podsPer, total)
	if err != nil {
		return nil, err
	}
	// Two Node objects may share an InternalIP; one member per address:port, the weights merged.
	byAddr := map[string]int{}
	var members []Member
	for i, n := range names {
		addr := nodeIPs[n]
		if j, ok := byAddr[addr]; ok {
			members[j].Weight = min(members[j].Weight+ws[i], elbrules.MaxWeight)
			members[j].Pods += podsPer[i]
			continue
		}
		byAddr[addr] = len(members)
		members = append(members, Member{Address: addr, Port: sp.NodePort, Weight: ws[i], SubnetID: subnet, NodeName: n, Pods: podsPer[i]})
	}
	sortMembers(members)
	return members, nil
}

// nodeInternalIPs maps node name to its first IPv4 InternalIP.
func nodeInternalIPs(nodes []corev1.Node) map[string]string {
	out := make(map[string]string, len(nodes))
	for _, n := range nodes {
		for _, a := range n.Status.Addresses {
			if a.Type != corev1.NodeInternalIP {
				continue
			}
			if ip := net.ParseIP(a.Address); ip != nil && ip.To4() != nil {
				out[n.Name] = a.Address
				break
			}
		}
	}
	return out
}

// sortMembers orders by address (numerically), then port. Addresses are parsed once.
func sortMembers(ms []Member) {
	keys := make([]netip.Addr, len(ms))
	for i, m := range ms {
		keys[i], _ = netip.ParseAddr(m.Address) // invalid: zero Addr, sorts first
	}
	idx := make([]int, len(ms))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(x, y int) bool {
		i, j := idx[x], idx[y]
		if c := keys[i].Compare(keys[j]); c != 0 {
			return c < 0
		}
		if ms[i].Address != ms[j].Address {
			return ms[i].Address < ms[j].Address
		}
		return ms[i].Port < ms[j].Port
	})
	sorted := make([]Member, len(ms))
	for x, i := range idx {
		sorted[x] = ms[i]
	}
	copy(ms, sorted)
}

func portLabel(sp corev1.ServicePort) string {
	if sp.Name != "" {
		return fmt.Sprintf("%q (%d)", sp.Name, sp.Port)
	}
	return fmt.Sprintf("%d", sp.Port)
}
