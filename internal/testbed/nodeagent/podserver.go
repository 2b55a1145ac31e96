package nodeagent

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"

	"github.com/fleetlb/fleetlb/internal/testbed/httpserve"
)

// PortSpec is one port a simulated container listens on.
type PortSpec struct {
	Protocol string // "TCP" or "UDP"
	Port     int32
}

// podServers are the real servers standing in for a pod's containers: an HTTP
// server on every TCP containerPort and a datagram responder on every UDP
// one, each answering with the pod's identity so traffic tests can tell who
// served them.
type podServers struct {
	identity string
	http     []*httpserve.Server
	udp      []net.PacketConn
	wg       sync.WaitGroup
}

// startPodServers binds every port on ip. On error nothing is left listening.
func startPodServers(ip netip.Addr, identity string, ports []PortSpec) (*podServers, error) {
	s := &podServers{identity: identity}
	for _, p := range ports {
		addr := net.JoinHostPort(ip.String(), strconv.Itoa(int(p.Port)))
		switch p.Protocol {
		case "TCP", "":
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				s.stop()
				return nil, fmt.Errorf("listen tcp %s: %w", addr, err)
			}
			s.http = append(s.http, httpserve.Serve(ln, httpserve.Identity(identity)))
		case "UDP":
			pc, err := net.ListenPacket("udp", addr)
			if err != nil {
				s.stop()
				return nil, fmt.Errorf("listen udp %s: %w", addr, err)
			}
			s.udp = append(s.udp, pc)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				serveUDPIdentity(pc, identity)
			}()
		default:
			// SCTP and anything newer: no server, as a kubelet would still run the pod.
		}
	}
	return s, nil
}

// serveUDPIdentity answers every datagram with the identity until pc is closed.
func serveUDPIdentity(pc net.PacketConn, identity string) {
	buf := make([]byte, 64*1024)
	reply := []byte(identity)
	for {
		_, from, err := pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		_, _ = pc.WriteTo(reply, from)
	}
}

// stop closes every listener and open connection and waits for the servers to end.
func (s *podServers) stop() {
	for _, srv := range s.http {
		srv.Stop()
	}
	for _, pc := range s.udp {
		_ = pc.Close()
	}
	s.wg.Wait()
}
