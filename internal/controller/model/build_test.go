package model

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/fleetlb/fleetlb/internal/common/elbrules"
)

func iptr(i int) *int { return &i }

type pod struct {
	ip, node string
	ready    bool
}

func service(ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "nginx"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: ports},
	}
}

func tcp(name string, port, target, nodePort int32) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Port: port, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(target), NodePort: nodePort}
}

// slice builds an IPv4 EndpointSlice whose port list maps Service port names to pod ports.
func slice(name string, ports map[string]int32, pods ...pod) discoveryv1.EndpointSlice {
	s := discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "shop", Name: name},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	for n, p := range ports {
		n, p := n, p
		proto := corev1.ProtocolTCP
		s.Ports = append(s.Ports, discoveryv1.EndpointPort{Name: &n, Port: &p, Protocol: &proto})
	}
	for _, pd := range pods {
		pd := pd
		ready := pd.ready
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{pd.ip},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready},
			NodeName:   &pd.node,
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", UID: types.UID("uid-" + pd.ip)},
		})
	}
	return s
}

func nodes(nameIP ...string) []corev1.Node {
	var out []corev1.Node
	for i := 0; i < len(nameIP); i += 2 {
		out = append(out, corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: nameIP[i]},
			Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeHostName, Address: nameIP[i]},
				{Type: corev1.NodeInternalIP, Address: nameIP[i+1]},
			}},
		})
	}
	return out
}

func cfg(class elbrules.Class, weight *int) ServiceConfig {
	return ServiceConfig{ELBID: "elb-1", Class: class, MultiCluster: true, Weight: weight, Recycle: RecycleMemberOnly}
}

func settings(net PodNetwork) Settings {
	return Settings{ClusterID: "cluster-a", PodNetwork: net, SubnetID: "subnet-1", DefaultWeight: 100}
}

func memberList(ms []Member) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, fmt.Sprintf("%s:%d=%d", m.Address, m.Port, m.Weight))
	}
	return strings.Join(parts, " ")
}

func TestBuildModes(t *testing.T) {
	ready := func(ip, node string) pod { return pod{ip, node, true} }
	threePods := []discoveryv1.EndpointSlice{slice("s1", map[string]int32{"web": 8080},
		ready("10.0.0.11", "n1"), ready("10.0.0.12", "n1"), ready("10.0.1.21", "n2"),
		pod{"10.0.1.22", "n2", false})}
	cases := []struct {
		name      string
		net       PodNetwork
		class     elbrules.Class
		w         *int
		applied   *int
		mode      Mode
		members   string
		effective int
		weight    int
	}{
		{"vpc+performance is pass-through", PodNetworkVPC, elbrules.ClassPerformance, iptr(80), nil, ModePassThrough,
			"10.0.0.11:8080=27 10.0.0.12:8080=27 10.0.1.21:8080=27", 81, 80},
		{"vpc+union is node mode", PodNetworkVPC, elbrules.ClassUnion, iptr(80), nil, ModeNode,
			"192.168.0.1:30080=54 192.168.0.2:30080=27", 81, 80},
		{"overlay+performance is node mode", PodNetworkOverlay, elbrules.ClassPerformance, iptr(20), nil, ModeNode,
			"192.168.0.1:30080=14 192.168.0.2:30080=7", 21, 20},
		{"weight 0 drains, members stay", PodNetworkVPC, elbrules.ClassPerformance, iptr(0), nil, ModePassThrough,
			"10.0.0.11:8080=0 10.0.0.12:8080=0 10.0.1.21:8080=0", 0, 0},
		{"no annotation: last applied weight (R4)", PodNetworkVPC, elbrules.ClassPerformance, nil, iptr(30), ModePassThrough,
			"10.0.0.11:8080=10 10.0.0.12:8080=10 10.0.1.21:8080=10", 30, 30},
		{"annotation wins over last applied", PodNetworkVPC, elbrules.ClassPerformance, iptr(60), iptr(30), ModePassThrough,
			"10.0.0.11:8080=20 10.0.0.12:8080=20 10.0.1.21:8080=20", 60, 60},
		{"never weighted: default weight", PodNetworkOverlay, elbrules.ClassUnion, nil, nil, ModeNode,
			"192.168.0.1:30080=67 192.168.0.2:30080=34", 101, 100},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg(tc.class, tc.w)
			c.AppliedWeight = tc.applied
			d, err := Build(Input{
				Service:        service(tcp("web", 80, 8080, 30080)),
				EndpointSlices: threePods,
				Nodes:          nodes("n1", "192.168.0.1", "n2", "192.168.0.2"),
				Config:         c,
				Settings:       settings(tc.net),
			})
			if err != nil {
				t.Fatal(err)
			}
			if d.Mode != tc.mode || d.Weight != tc.weight {
				t.Errorf("mode %s weight %d, want %s %d", d.Mode, d.Weight, tc.mode, tc.weight)
			}
			if len(d.Listeners) != 1 {
				t.Fatalf("%d listeners", len(d.Listeners))
			}
			l := d.Listeners[0]
			if got := memberList(l.Members); got != tc.members {
				t.Errorf("members %s\nwant    %s", got, tc.members)
			}
			if l.EffectiveWeightSum != tc.effective {
				t.Errorf("effective sum %d, want %d", l.EffectiveWeightSum, tc.effective)
			}
			for _, m := range l.Members {
				if m.SubnetID != "subnet-1" {
					t.Errorf("member %s subnet %q", m.Address, m.SubnetID)
				}
			}
			if d.Service != (ServiceRef{ClusterID: "cluster-a", Namespace: "shop", Name: "nginx"}) || d.ELBID != "elb-1" {
				t.Errorf("ref %+v elb %s", d.Service, d.ELBID)
			}
		})
	}
}

func TestBuildDistortionW20Over50Pods(t *testing.T) {
	var pods []pod
	for i := 0; i < 50; i++ {
		pods = append(pods, pod{fmt.Sprintf("10.0.%d.%d", i/10, i%10+1), fmt.Sprintf("n%d", i%4), true})
	}
	d, err := Build(Input{
		Service:        service(tcp("", 80, 80, 30080)),
		EndpointSlices: []discoveryv1.EndpointSlice{slice("s", map[string]int32{"": 80}, pods...)},
		Config:         cfg(elbrules.ClassPerformance, iptr(20)),
		Settings:       settings(PodNetworkVPC),
	})
	if err != nil {
		t.Fatal(err)
	}
	l := d.Listeners[0]
	if len(l.Members) != 50 || l.EffectiveWeightSum != 50 || l.Members[0].Weight != 1 {
		t.Errorf("want 50 members of weight 1 (sum 50), got %d members sum %d", len(l.Members), l.EffectiveWeightSum)
	}
}

func TestBuildDedupesAcrossSlices(t *testing.T) {
	p := map[string]int32{"web": 8080}
	slices := []discoveryv1.EndpointSlice{
		slice("a", p, pod{"10.0.0.1", "n1", true}, pod{"10.0.0.2", "n1", true}),
		slice("b", p, pod{"10.0.0.2", "n1", true}, pod{"10.0.0.3", "n2", true}), // 10.0.0.2 again (slice handover)
	}
	ipv6 := slice("v6", p, pod{"fd00::1", "n1", true})
	ipv6.AddressType = discoveryv1.AddressTypeIPv6
	slices = append(slices, ipv6)
	for _, mode := range []PodNetwork{PodNetworkVPC, PodNetworkOverlay} {
		d, err := Build(Input{Service: service(tcp("web", 80, 8080, 30080)), EndpointSlices: slices,
			Nodes: nodes("n1", "192.168.0.1", "n2", "192.168.0.2"), Config: cfg(elbrules.ClassPerformance, iptr(60)), Settings: settings(mode)})
		if err != nil {
			t.Fatal(err)
		}
		want := map[PodNetwork]string{
			PodNetworkVPC:     "10.0.0.1:8080=20 10.0.0.2:8080=20 10.0.0.3:8080=20",
			PodNetworkOverlay: "192.168.0.1:30080=40 192.168.0.2:30080=20",
		}[mode]
		if got := memberList(d.Listeners[0].Members); got != want {
			t.Errorf("%s: members %s, want %s", mode, got, want)
		}
	}
}

func TestBuildNamedTargetPortsPerSlice(t *testing.T) {
	// Two Deployments behind one Service declare the named port "http" on different numbers; the
	// EndpointSlice controller puts them in different slices with their own port numbers.
	svc := service(corev1.ServicePort{Name: "web", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("http"), NodePort: 30080},
		corev1.ServicePort{Name: "metrics", Port: 9100, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("metrics"), NodePort: 30091})
	slices := []discoveryv1.EndpointSlice{
		slice("old", map[string]int32{"web": 8080, "metrics": 9100}, pod{"10.0.0.1", "n1", true}),
		slice("new", map[string]int32{"web": 8443}, pod{"10.0.0.2", "n2", true}), // no metrics port
	}
	d, err := Build(Input{Service: svc, EndpointSlices: slices, Nodes: nodes("n1", "192.168.0.1", "n2", "192.168.0.2"),
		Config: cfg(elbrules.ClassPerformance, iptr(50)), Settings: settings(PodNetworkVPC)})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Listeners) != 2 || d.Listeners[0].Port != 80 || d.Listeners[1].Port != 9100 {
		t.Fatalf("listeners %+v", d.Listeners)
	}
	if got := memberList(d.Listeners[0].Members); got != "10.0.0.1:8080=25 10.0.0.2:8443=25" {
		t.Errorf("web members %s", got)
	}
	if got := memberList(d.Listeners[1].Members); got != "10.0.0.1:9100=50" {
		t.Errorf("metrics members %s (only the pod declaring the port serves it)", got)
	}
}

func TestBuildListenersAndPools(t *testing.T) {
	svc := service(tcp("web", 80, 8080, 30080), corev1.ServicePort{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(5353), NodePort: 30053})
	d, err := Build(Input{Service: svc, Config: cfg(elbrules.ClassUnion, iptr(10)), Settings: settings(PodNetworkOverlay)})
	if err != nil {
		t.Fatal(err)
	}
	want := []Listener{
		{Port: 53, Protocol: "UDP", Pool: Pool{Algorithm: "ROUND_ROBIN", HealthMonitor: &HealthMonitor{Type: "UDP_CONNECT", Delay: 5, Timeout: 3, MaxRetries: 3}}},
		{Port: 80, Protocol: "TCP", Pool: Pool{Algorithm: "ROUND_ROBIN", HealthMonitor: &HealthMonitor{Type: "TCP", Delay: 5, Timeout: 3, MaxRetries: 3}}},
	}
	if !reflect.DeepEqual(d.Listeners, want) {
		t.Errorf("listeners %+v\nwant %+v", d.Listeners, want)
	}
	if d.Class != elbrules.ClassUnion || d.Recycle != RecycleMemberOnly || d.Mode != ModeNode {
		t.Errorf("desired %+v", d)
	}
}

func TestBuildMultiVPCIsIPType(t *testing.T) {
	c := cfg(elbrules.ClassPerformance, iptr(80))
	c.MultiVPC = true
	s := settings(PodNetworkVPC)
	s.SubnetID = "" // not needed for IP-type members
	d, err := Build(Input{Service: service(tcp("", 80, 80, 30080)),
		EndpointSlices: []discoveryv1.EndpointSlice{slice("s", map[string]int32{"": 80}, pod{"10.1.0.5", "n1", true})},
		Config:         c, Settings: s})
	if err != nil {
		t.Fatal(err)
	}
	m := d.Listeners[0].Members
	if !d.MultiVPC || len(m) != 1 || m[0].SubnetID != "" || m[0].Weight != 80 {
		t.Errorf("multivpc desired %+v members %+v", d, m)
	}
}

func TestBuildNodeModeEdges(t *testing.T) {
	p := map[string]int32{"": 80}
	slices := []discoveryv1.EndpointSlice{slice("s", p,
		pod{"10.0.0.1", "n1", true}, pod{"10.0.0.2", "n1", true},
		pod{"10.0.0.3", "gone", true}, // node object missing: cannot be reached by node port
		pod{"10.0.0.4", "n3", false},  // not ready: no member for n3
	)}
	d, err := Build(Input{Service: service(tcp("", 80, 80, 31000)), EndpointSlices: slices,
		Nodes: nodes("n1", "192.168.0.1", "n3", "192.168.0.3"), Config: cfg(elbrules.ClassUnion, iptr(50)), Settings: settings(PodNetworkOverlay)})
	if err != nil {
		t.Fatal(err)
	}
	m := d.Listeners[0].Members
	if got := memberList(m); got != "192.168.0.1:31000=50" {
		t.Errorf("members %s", got)
	}
	if m[0].NodeName != "n1" || m[0].Pods != 2 {
		t.Errorf("member %+v", m[0])
	}
}

func TestBuildNoReadyPodsNoMembers(t *testing.T) {
	d, err := Build(Input{Service: service(tcp("", 80, 80, 31000)),
		EndpointSlices: []discoveryv1.EndpointSlice{slice("s", map[string]int32{"": 80}, pod{"10.0.0.1", "n1", false})},
		Nodes:          nodes("n1", "192.168.0.1"), Config: cfg(elbrules.ClassUnion, iptr(50)), Settings: settings(PodNetworkOverlay)})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Listeners) != 1 || len(d.Listeners[0].Members) != 0 {
		t.Errorf("want the listener with no members, got %+v", d.Listeners)
	}
}

func TestBuildSortsNumerically(t *testing.T) {
	var pods []pod
	for _, ip := range []string{"10.0.0.10", "10.0.0.9", "10.0.0.100", "9.0.0.1"} {
		pods = append(pods, pod{ip, "n1", true})
	}
	d, err := Build(Input{Service: service(tcp("", 80, 80, 0)),
		EndpointSlices: []discoveryv1.EndpointSlice{slice("s", map[string]int32{"": 80}, pods...)},
		Config:         cfg(elbrules.ClassPerformance, iptr(40)), Settings: settings(PodNetworkVPC)})
	if err != nil {
		t.Fatal(err)
	}
	if got := memberList(d.Listeners[0].Members); got != "9.0.0.1:80=10 10.0.0.9:80=10 10.0.0.10:80=10 10.0.0.100:80=10" {
		t.Errorf("order %s", got)
	}
}

func TestBuildErrors(t *testing.T) {
	ok := Input{Service: service(tcp("web", 80, 80, 30080)), Config: cfg(elbrules.ClassUnion, iptr(10)), Settings: settings(PodNetworkOverlay)}
	cases := []struct {
		name  string
		edit  func(in *Input)
		words []string
	}{
		{"sctp port", func(in *Input) {
			in.Service = service(corev1.ServicePort{Name: "sig", Port: 3868, Protocol: corev1.ProtocolSCTP, NodePort: 30001})
		}, []string{`"sig" (3868)`, "SCTP", "TCP or UDP"}},
		{"node mode without node port", func(in *Input) {
			in.Service = service(tcp("web", 80, 80, 0))
			in.EndpointSlices = []discoveryv1.EndpointSlice{slice("s", map[string]int32{"web": 80}, pod{"10.0.0.1", "n1", true})}
			in.Nodes = nodes("n1", "192.168.0.1")
		}, []string{"node port", "allocateLoadBalancerNodePorts"}},
		{"missing cluster id", func(in *Input) { in.Settings.ClusterID = "" }, []string{"--cluster-id"}},
		{"weight out of range", func(in *Input) { in.Config.Weight = iptr(150) }, []string{"150", "0 to 100", "kubernetes.io/elb.multicluster-loadbalancer-weight"}},
		{"bad default weight", func(in *Input) { in.Config.Weight = nil; in.Settings.DefaultWeight = -5 }, []string{"--default-weight"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := ok
			in.Config.Weight = iptr(10)
			tc.edit(&in)
			_, err := Build(in)
			if err == nil {
				t.Fatal("expected an error")
			}
			for _, w := range tc.words {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q should mention %q", err, w)
				}
			}
		})
	}
	if _, err := Build(ok); err != nil {
		t.Fatalf("baseline input refused: %v", err)
	}
}

func TestBuildIsDeterministic(t *testing.T) {
	var pods []pod
	for i := 0; i < 20; i++ {
		pods = append(pods, pod{fmt.Sprintf("10.0.0.%d", 200-i), fmt.Sprintf("n%d", i%5), true})
	}
	mk := func(rev bool) Desired {
		ps := append([]pod(nil), pods...)
		if rev {
			for i, j := 0, len(ps)-1; i < j; i, j = i+1, j-1 {
				ps[i], ps[j] = ps[j], ps[i]
			}
		}
		d, err := Build(Input{Service: service(tcp("", 80, 80, 30080)),
			EndpointSlices: []discoveryv1.EndpointSlice{slice("s", map[string]int32{"": 80}, ps...)},
			Nodes:          nodes("n0", "192.168.0.10", "n1", "192.168.0.11", "n2", "192.168.0.12", "n3", "192.168.0.13", "n4", "192.168.0.14"),
			Config:         cfg(elbrules.ClassUnion, iptr(70)), Settings: settings(PodNetworkOverlay)})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if a, b := mk(false), mk(true); !reflect.DeepEqual(a, b) {
		t.Errorf("order of endpoints changed the result:\n%+v\n%+v", a, b)
	}
}

// BenchmarkBuild1000Pods measures Build for a Service of 1000 ready Pods over 50 nodes (node mode)
// and in pass-through, spread over 10 EndpointSlices as the EndpointSlice controller would.
func BenchmarkBuild1000Pods(b *testing.B) {
	var slices []discoveryv1.EndpointSlice
	var nodeArgs []string
	for n := 0; n < 50; n++ {
		nodeArgs = append(nodeArgs, fmt.Sprintf("n%d", n), fmt.Sprintf("192.168.%d.%d", n/200, n%200+1))
	}
	for s := 0; s < 10; s++ {
		var pods []pod
		for i := 0; i < 100; i++ {
			k := s*100 + i
			pods = append(pods, pod{fmt.Sprintf("10.%d.%d.%d", k/60000, k/250%240, k%250+1), fmt.Sprintf("n%d", k%50), true})
		}
		slices = append(slices, slice(fmt.Sprintf("s%d", s), map[string]int32{"web": 8080}, pods...))
	}
	ns := nodes(nodeArgs...)
	for _, net := range []PodNetwork{PodNetworkOverlay, PodNetworkVPC} {
		b.Run(string(net), func(b *testing.B) {
			in := Input{Service: service(tcp("web", 80, 8080, 30080)), EndpointSlices: slices, Nodes: ns,
				Config: cfg(elbrules.ClassPerformance, iptr(80)), Settings: settings(net)}
			for b.Loop() {
				if _, err := Build(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestBuildPoolFromAnnotations(t *testing.T) {
	svc := service(tcp("web", 80, 8080, 30080), corev1.ServicePort{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP, NodePort: 30053})
	c := cfg(elbrules.ClassUnion, iptr(10))
	c.Algorithm = "LEAST_CONNECTIONS"
	c.HealthCheck = &HealthMonitor{Type: "HTTP", Delay: 7, Timeout: 4, MaxRetries: 2, URLPath: "/healthz"}
	d, err := Build(Input{Service: svc, Config: c, Settings: settings(PodNetworkOverlay)})
	if err != nil {
		t.Fatal(err)
	}
	want := []Pool{
		{Algorithm: "LEAST_CONNECTIONS", HealthMonitor: &HealthMonitor{Type: "UDP_CONNECT", Delay: 7, Timeout: 4, MaxRetries: 2}},
		{Algorithm: "LEAST_CONNECTIONS", HealthMonitor: &HealthMonitor{Type: "HTTP", Delay: 7, Timeout: 4, MaxRetries: 2, URLPath: "/healthz"}},
	}
	for i, l := range d.Listeners {
		if !reflect.DeepEqual(l.Pool, want[i]) {
			t.Errorf("port %d pool %+v %+v, want %+v %+v", l.Port, l.Pool, l.Pool.HealthMonitor, want[i], want[i].HealthMonitor)
		}
	}
	c.HealthCheckOff = true
	d, err = Build(Input{Service: svc, Config: c, Settings: settings(PodNetworkOverlay)})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range d.Listeners {
		if l.Pool.HealthMonitor != nil {
			t.Errorf("port %d has a monitor although health checks are off", l.Port)
		}
	}
}
