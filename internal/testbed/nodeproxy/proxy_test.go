package nodeproxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/fleetlb/fleetlb/internal/testbed/httpserve"
	"github.com/fleetlb/fleetlb/internal/testbed/poll"
)

// An address block no cluster plan uses (localk8s takes 127.<10i>).
var testNodeIP = netip.MustParseAddr("127.233.0.1")

// backend starts an HTTP server on 127.0.0.1 answering name.
func backend(t *testing.T, name string) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, name) })}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return netip.MustParseAddrPort(ln.Addr().String())
}

// udpBackend answers every datagram with name.
func udpBackend(t *testing.T, name string) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 1500)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo([]byte(name), from)
		}
	}()
	t.Cleanup(func() { _ = pc.Close() })
	return netip.MustParseAddrPort(pc.LocalAddr().String())
}

func ask(port int32) (string, error) {
	c, err := net.Dial("udp", net.JoinHostPort(testNodeIP.String(), strconv.Itoa(int(port))))
	if err != nil {
		return "", err
	}
	defer c.Close()
	buf := make([]byte, 100)
	for range 3 {
		_, _ = c.Write([]byte("?"))
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if n, err := c.Read(buf); err == nil {
			return string(buf[:n]), nil
		}
	}
	return "", errors.New("no reply")
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	poll.True(t, 10*time.Second, what, cond)
}

func TestProxyForwardsNodePortTraffic(t *testing.T) {
	b1, b2 := backend(t, "b1"), backend(t, "b2")
	u1 := udpBackend(t, "u1")
	const tcpNodePort, udpNodePort = 30080, 30053

	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{
			{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, NodePort: tcpNodePort},
			{Name: "dns", Protocol: corev1.ProtocolUDP, Port: 53, NodePort: udpNodePort},
		}},
	}
	// The backends listen on different ports, so each gets its own slice, as
	// the EndpointSlice controller does for pods with different target ports.
	mk := func(name, portName string, proto corev1.Protocol, addr netip.AddrPort, ready bool) *discoveryv1.EndpointSlice {
		port := int32(addr.Port())
		return &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Namespace: "ns", Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: &portName, Protocol: &proto, Port: &port}},
			Endpoints: []discoveryv1.Endpoint{{
				Addresses:  []string{addr.Addr().String()},
				Conditions: discoveryv1.EndpointConditions{Ready: &ready},
			}},
		}
	}
	cs := fake.NewClientset(svc,
		mk("web-1", "http", corev1.ProtocolTCP, b1, true),
		mk("web-2", "http", corev1.ProtocolTCP, b2, true),
		mk("web-3", "dns", corev1.ProtocolUDP, u1, true))
	p, err := New(Config{NodeName: "n1", NodeIP: testNodeIP, Client: cs})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	seen := map[string]bool{}
	eventually(t, "TCP node port to reach both backends", func() bool {
		if s, err := httpserve.Ask(context.Background(), net.JoinHostPort(testNodeIP.String(), strconv.Itoa(tcpNodePort))); err == nil {
			seen[s] = true
		}
		return seen["b1"] && seen["b2"]
	})
	if got, err := ask(udpNodePort); err != nil || got != "u1" {
		t.Fatalf("UDP node port: got %q, %v; want u1", got, err)
	}

	// A not-ready endpoint leaves the rotation.
	if _, err := cs.DiscoveryV1().EndpointSlices("ns").Update(ctx, mk("web-2", "http", corev1.ProtocolTCP, b2, false), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "only b1 to answer", func() bool {
		for range 4 {
			if s, err := httpserve.Ask(context.Background(), net.JoinHostPort(testNodeIP.String(), strconv.Itoa(tcpNodePort))); err != nil || s != "b1" {
				return false
			}
		}
		return true
	})

	// Deleting the service closes its node ports.
	if err := cs.CoreV1().Services("ns").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the node port to close", func() bool {
		_, err := net.DialTimeout("tcp", net.JoinHostPort(testNodeIP.String(), strconv.Itoa(tcpNodePort)), time.Second)
		return err != nil
	})

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run returned %v", err)
	}
	done <- nil
}
