// Package dataplane is elbd's load balancer: for each listener it serves
// VIP:port over TCP or UDP and forwards every new connection (TCP) or flow
// (UDP, keyed by client address) to a usable member of the listener's pool,
// chosen by the pool's algorithm (package balance) among members that are
// admin-up, have weight > 0 and are healthy or unmonitored (package health).
//
// The data plane knows nothing of the API or the store: it is driven by
// Apply(Config), an idempotent reconcile. The hot path reads the current pool
// through an atomic pointer, so configuration changes never take a lock that
// connections wait on, and never cut an established connection.
//
// It runs on Linux only, and the files named *_linux.go say which code that is:
// TCP runs on an epoll engine (engine_linux.go, pair_linux.go): one event loop per
// GOMAXPROCS, each with its own SO_REUSEPORT socket per listener, non-blocking
// sockets, read/write through one scratch buffer for short messages and
// splice(2) through a pipe for bulk streams, half-close in both directions.
// UDP (udp_linux.go) runs on Go's poller: a flow per client address, each with a
// connected socket to its member, forgotten after the idle timeout. Health
// checks are in package health, algorithms in package balance.
package dataplane

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/fleetlb/fleetlb/internal/elbd/dataplane/health"
)

// Protocols a listener can serve.
const (
	ProtocolTCP = "TCP"
	ProtocolUDP = "UDP"
)

// Operating statuses, as the ELB API reports them (E4; the values of
// operating_status in services/elb/v3/model/model_member.go).
const (
	StatusOnline    = "ONLINE"
	StatusOffline   = "OFFLINE"
	StatusNoMonitor = "NO_MONITOR"
	// StatusInitial: the pool has a monitor, the member no check result yet.
	StatusInitial = "INITIAL"
	// StatusUnknown: the member's pool is used by no listener.
	StatusUnknown = "UNKNOWN"
)

// DefaultIdleTimeout applies when a listener's KeepaliveTimeout is zero
// (the ELB API's default keepalive_timeout for TCP and UDP listeners).
const DefaultIdleTimeout = 300 * time.Second

// Config is the whole desired state of the data plane.
type Config struct {
	Listeners []Listener
	// Pools that no listener serves. Their members are health-checked all the
	// same, so that their statuses are real when a listener takes them on.
	Pools []Pool
}

// Listener serves VIP:Port for one protocol.
type Listener struct {
	ID       string
	VIP      string
	Port     int
	Protocol string // TCP or UDP
	// KeepaliveTimeout closes a TCP connection or forgets a UDP flow after
	// this long without traffic in either direction. Zero means
	// DefaultIdleTimeout.
	KeepaliveTimeout time.Duration
	// TransparentClientIP is the listener's transparent_client_ip_enable
	// (services/elb/v3/model/model_create_listener_option.go): on the kernel
	// data plane its members see the client's own address (DNAT only, K12)
	// instead of the VIP (full NAT, K11). The proxy always connects to members
	// from its own address.
	TransparentClientIP bool
	// Pool is the listener's default pool; nil means every connection is
	// closed at once (the port stays reserved).
	Pool *Pool
}

// Pool is a set of members and how to choose among them.
type Pool struct {
	ID        string
	Algorithm string // ROUND_ROBIN (default), LEAST_CONNECTIONS or SOURCE_IP
	Members   []Member
	Monitor   *health.Monitor // nil: members are not monitored (NO_MONITOR)
	// Drain is the pool's connection drain timeout (connection_drain, E7): a
	// member removed from the pool or failing its health checks keeps its
	// established TCP connections this long, then they are closed. Zero: no
	// drain, connections stay until they end or idle out (the real ELB's
	// behaviour without it: "已建立的连接通常不会立即中断").
	Drain time.Duration
}

// Member is one backend server of a pool.
type Member struct {
	ID      string
	Address string // IP address
	Port    int
	Weight  int // 0 drains the member: no new connections
	AdminUp bool
}

// validate checks what a listener needs to be bound.
func (l Listener) validate() (netip.AddrPort, error) {
	if l.Protocol != ProtocolTCP && l.Protocol != ProtocolUDP {
		return netip.AddrPort{}, fmt.Errorf("listener %s: protocol %q is not served by the data plane: use TCP or UDP", l.ID, l.Protocol)
	}
	ip, err := netip.ParseAddr(l.VIP)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("listener %s: VIP %q is not an IP address", l.ID, l.VIP)
	}
	if l.Port < 1 || l.Port > 65535 {
		return netip.AddrPort{}, fmt.Errorf("listener %s: port %d is out of range 1-65535", l.ID, l.Port)
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(l.Port)), nil
}

func (l Listener) idleTimeout() time.Duration {
	if l.KeepaliveTimeout <= 0 {
		return DefaultIdleTimeout
	}
	return l.KeepaliveTimeout
}
