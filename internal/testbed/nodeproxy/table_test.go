package nodeproxy

import (
	"net/netip"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func service(name string, typ corev1.ServiceType, policy corev1.ServiceExternalTrafficPolicy, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
		Spec:       corev1.ServiceSpec{Type: typ, ExternalTrafficPolicy: policy, Ports: ports, HealthCheckNodePort: 31000},
	}
}

type ep struct {
	ip, node                    string
	ready, terminating, serving *bool
}

func slice(svc, portName string, proto corev1.Protocol, port int32, eps ...ep) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "ns", Name: svc + "-x", Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &portName, Protocol: &proto, Port: &port}},
	}
	for _, e := range eps {
		node := e.node
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{e.ip},
			NodeName:   &node,
			Conditions: discoveryv1.EndpointConditions{Ready: e.ready, Terminating: e.terminating, Serving: e.serving},
		})
	}
	return s
}

func addrs(s ...string) []netip.AddrPort {
	var out []netip.AddrPort
	for _, a := range s {
		out = append(out, netip.MustParseAddrPort(a))
	}
	return out
}

func TestBuildTableForwardsToReadyEndpoints(t *testing.T) {
	yes, no := new(bool), new(bool)
	*yes = true
	svcs := []*corev1.Service{
		service("web", corev1.ServiceTypeLoadBalancer, corev1.ServiceExternalTrafficPolicyCluster,
			corev1.ServicePort{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, NodePort: 30080},
			corev1.ServicePort{Name: "dns", Protocol: corev1.ProtocolUDP, Port: 53, NodePort: 30053}),
		service("internal", corev1.ServiceTypeClusterIP, "",
			corev1.ServicePort{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80}),
	}
	slices := []*discoveryv1.EndpointSlice{
		slice("web", "http", corev1.ProtocolTCP, 8080,
			ep{ip: "127.10.64.3", node: "n1", ready: yes},
			ep{ip: "127.10.65.2", node: "n2"}, // unset ready means ready
			ep{ip: "127.10.64.4", node: "n1", ready: no},
			ep{ip: "127.10.64.5", node: "n1", ready: yes, terminating: yes}),
		slice("web", "dns", corev1.ProtocolUDP, 5353, ep{ip: "127.10.64.3", node: "n1", ready: yes}),
		slice("other", "http", corev1.ProtocolTCP, 9999, ep{ip: "127.10.66.9", node: "n1", ready: yes}),
	}
	tb := buildTable("n1", svcs, slices)

	if len(tb.frontends) != 2 {
		t.Fatalf("want node ports 30080/TCP and 30053/UDP only (ClusterIP services have none), got %v", tb.frontends)
	}
	web := types.NamespacedName{Namespace: "ns", Name: "web"}
	if got, want := tb.frontends[listenKey{"TCP", 30080}], (frontend{Service: web, PortName: "http",
		Backends: addrs("127.10.64.3:8080", "127.10.65.2:8080")}); !reflect.DeepEqual(got, want) {
		t.Errorf("30080/TCP: got %+v, want %+v (ready and non-terminating endpoints on every node)", got, want)
	}
	if got := tb.frontends[listenKey{"UDP", 30053}].Backends; !reflect.DeepEqual(got, addrs("127.10.64.3:5353")) {
		t.Errorf("30053/UDP backends: got %v", got)
	}
	if len(tb.health) != 0 {
		t.Errorf("a Cluster-policy service must not get a health check node port: %v", tb.health)
	}
}

func TestBuildTableLocalPolicyUsesOnlyThisNode(t *testing.T) {
	svcs := []*corev1.Service{service("web", corev1.ServiceTypeLoadBalancer, corev1.ServiceExternalTrafficPolicyLocal,
		corev1.ServicePort{Name: "", Protocol: corev1.ProtocolTCP, Port: 80, NodePort: 30080})}
	slices := []*discoveryv1.EndpointSlice{slice("web", "", corev1.ProtocolTCP, 8080,
		ep{ip: "127.10.64.3", node: "n1"}, ep{ip: "127.10.64.4", node: "n1"}, ep{ip: "127.10.65.2", node: "n2"})}

	n1 := buildTable("n1", svcs, slices)
	if got := n1.frontends[listenKey{"TCP", 30080}].Backends; !reflect.DeepEqual(got, addrs("127.10.64.3:8080", "127.10.64.4:8080")) {
		t.Errorf("n1 backends: got %v, want only n1's endpoints", got)
	}
	if got := n1.health[31000].LocalEndpoints; got != 2 {
		t.Errorf("n1 health check reports %d local endpoints, want 2", got)
	}
	n3 := buildTable("n3", svcs, slices)
	if got := n3.frontends[listenKey{"TCP", 30080}].Backends; len(got) != 0 {
		t.Errorf("a node without local endpoints must forward nowhere, got %v", got)
	}
	if got := n3.health[31000].LocalEndpoints; got != 0 {
		t.Errorf("n3 health check reports %d local endpoints, want 0", got)
	}
}

func TestBuildTableDeduplicatesAcrossSlices(t *testing.T) {
	svcs := []*corev1.Service{service("web", corev1.ServiceTypeNodePort, "",
		corev1.ServicePort{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, NodePort: 30080})}
	a := slice("web", "http", corev1.ProtocolTCP, 8080, ep{ip: "127.10.64.3", node: "n1"})
	b := slice("web", "http", corev1.ProtocolTCP, 8080, ep{ip: "127.10.64.3", node: "n1"}, ep{ip: "127.10.64.2", node: "n1"})
	got := buildTable("n1", svcs, []*discoveryv1.EndpointSlice{a, b}).frontends[listenKey{"TCP", 30080}].Backends
	if !reflect.DeepEqual(got, addrs("127.10.64.2:8080", "127.10.64.3:8080")) {
		t.Errorf("got %v, want each endpoint once, sorted", got)
	}
}

func TestPickerRoundRobin(t *testing.T) {
	var p picker
	b := addrs("127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3")
	counts := map[netip.AddrPort]int{}
	for range 9 {
		a, ok := p.pick(b)
		if !ok {
			t.Fatal("pick failed with backends")
		}
		counts[a]++
	}
	for _, a := range b {
		if counts[a] != 3 {
			t.Errorf("backend %s picked %d times of 9, want 3", a, counts[a])
		}
	}
	if _, ok := p.pick(nil); ok {
		t.Error("pick with no backends must fail")
	}
}

// T4: as kube-proxy, a node port falls back to the endpoints still serving while they terminate
// (Pods in their preStop) when no endpoint is ready, and uses only ready ones otherwise.
func TestT4_ServingTerminatingEndpointsWhenNoneIsReady(t *testing.T) {
	yes, no := new(bool), new(bool)
	*yes = true
	svcs := []*corev1.Service{service("web", corev1.ServiceTypeLoadBalancer, corev1.ServiceExternalTrafficPolicyCluster,
		corev1.ServicePort{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, NodePort: 30080})}
	stopping := ep{ip: "10.0.0.1", node: "n1", ready: no, terminating: yes, serving: yes}
	gone := ep{ip: "10.0.0.2", node: "n1", ready: no, terminating: yes, serving: no}
	fresh := ep{ip: "10.0.0.3", node: "n2", ready: yes}
	key := listenKey{Protocol: corev1.ProtocolTCP, Port: 30080}
	only := buildTable("n1", svcs, []*discoveryv1.EndpointSlice{slice("web", "http", corev1.ProtocolTCP, 8080, stopping, gone)})
	if got := only.frontends[key].Backends; !reflect.DeepEqual(got, addrs("10.0.0.1:8080")) {
		t.Errorf("no ready endpoint: backends %v, want the serving terminating one", got)
	}
	mixed := buildTable("n1", svcs, []*discoveryv1.EndpointSlice{slice("web", "http", corev1.ProtocolTCP, 8080, stopping, gone, fresh)})
	if got := mixed.frontends[key].Backends; !reflect.DeepEqual(got, addrs("10.0.0.3:8080")) {
		t.Errorf("with a ready endpoint: backends %v, want only it", got)
	}
}
