package dataplane

// Tests of the UDP flow cap, of failover away from members that fail their
// health checks, and of datagrams that arrive as their flow expires.
// Addresses: 127.56.0.0/16 only. The descriptor-exhaustion test runs the data
// plane in a child process (the test binary re-executed) whose own
// RLIMIT_NOFILE is lowered; this process's limit is never touched.

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fleetlb/fleetlb/internal/elbd/dataplane/health"
	"github.com/fleetlb/fleetlb/internal/elbd/membertest"
)

// A datagram from a new client is dropped, not charged to a member, once the
// live flows reach Options.MaxUDPFlows; flows that end give their slots back.
func TestUDPFlowCapDropsNewClients(t *testing.T) {
	dp := New(Options{Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})), MaxUDPFlows: 3})
	t.Cleanup(func() { dp.Close() })
	u0 := startUDPBackend(t, "u0", "127.56.3.1:0")
	pool := &Pool{ID: "up", Members: []Member{{ID: "u0", Address: "127.56.3.1", Port: u0.port, Weight: 1, AdminUp: true}}}
	listener := func(port int) Listener {
		return Listener{ID: "u", VIP: "127.56.0.3", Port: port, Protocol: ProtocolUDP, Pool: pool, KeepaliveTimeout: time.Minute}
	}
	apply(t, dp, Config{Listeners: []Listener{listener(18055)}})
	var clients []*udpClient
	for i := 0; i < 5; i++ {
		clients = append(clients, dialUDPClient(t, net.IPv4(127, 56, 4, byte(i+1)), "127.56.0.3:18055"))
	}
	for _, c := range clients[:3] {
		if name := c.ask(); name != "u0" {
			t.Fatalf("client %s below the cap: answer %q", c.local, name)
		}
	}
	for _, c := range clients[3:] {
		c.send()
	}
	eventually(t, 5*time.Second, "2 datagrams dropped at the cap", func() bool { return dp.udpFlows.dropped.Load() == 2 })
	if got := dp.ListenerCounters("u"); got.ActiveConnections != 3 || got.TotalConnections != 3 || got.FailedConnects != 0 {
		t.Errorf("listener counters %+v, want 3 active, 3 total, 0 failed", got)
	}
	if got := dp.MemberCounters("u0").FailedConnects; got != 0 {
		t.Errorf("member charged %d failed connects for the cap", got)
	}
	if name := clients[0].ask(); name != "u0" {
		t.Errorf("a live flow stopped working at the cap: answer %q", name)
	}

	// Removing the listener ends its flows; their slots serve new clients.
	apply(t, dp, Config{Pools: []Pool{*pool}})
	eventually(t, 5*time.Second, "flows released", func() bool { return dp.udpFlows.live.Load() == 0 })
	apply(t, dp, Config{Listeners: []Listener{listener(18056)}})
	for i := 0; i < 3; i++ {
		c := dialUDPClient(t, net.IPv4(127, 56, 4, byte(i+10)), "127.56.0.3:18056")
		if name := c.ask(); name != "u0" {
			t.Errorf("client %s after the flows ended: answer %q", c.local, name)
		}
	}
}

// A flood of one-datagram clients (spoofable source addresses) must not take
// every descriptor of the process: the default cap (half of RLIMIT_NOFILE)
// keeps health probes and the TCP listener working, and nothing is charged to
// the UDP member.
func TestUDPFlowCapKeepsTCPAndHealth(t *testing.T) {
	tb := startTCPBackend(t, "m0", "127.56.1.1:0")
	ub := startUDPBackend(t, "u0", "127.56.1.2:0")
	probes := udpProbeCounter(t, "127.56.1.1:0")
	c := startChildTest(t, "TestUDPLimitsChild", udpLimitsChildEnv+"=flood",
		fmt.Sprintf("LIMITS_TPORT=%d", tb.port(t)),
		fmt.Sprintf("LIMITS_HPORT=%d", probes.port),
		fmt.Sprintf("LIMITS_UPORT=%d", ub.port))
	if name, err := membertest.Ask("127.56.0.1:18080"); err != nil || name != "m0" {
		t.Fatalf("before the flood: %q %v", name, err)
	}
	vip := &net.UDPAddr{IP: net.IPv4(127, 56, 0, 2), Port: 18053}
	const flood, batch = 400, 50
	for sent := 0; sent < flood; sent += batch {
		for i := sent; i < sent+batch; i++ {
			from := &net.UDPAddr{IP: net.IPv4(127, 56, byte(10+i/250), byte(i%250+1))}
			u, err := net.DialUDP("udp", from, vip)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = u.Write([]byte("x"))
			u.Close()
		}
		// Pace the flood so that the listener's receive buffer drops nothing.
		waitUDPStatus(t, c, fmt.Sprintf("%d datagrams handled", sent+batch), func(s udpChildStatus) bool { return s.handled() >= sent+batch })
	}
	// Let the health checker probe a few times with the flows in place.
	seen := probes.count.Load()
	st := waitUDPStatus(t, c, "3 more health probes, or m0 OFFLINE", func(s udpChildStatus) bool {
		return probes.count.Load() >= seen+3 || s.m0 != StatusOnline
	})
	t.Logf("after %d one-datagram clients: %+v", flood, st)
	if st.m0 != StatusOnline {
		t.Errorf("a healthy TCP member went %s after a UDP flood", st.m0)
	}
	if st.failed != 0 {
		t.Errorf("the UDP member was charged %d failed connects during the flood", st.failed)
	}
	if st.active > st.max || st.capped == 0 {
		t.Errorf("%d live flows for a cap of %d, %d datagrams dropped at the cap", st.active, st.max, st.capped)
	}
	if name, err := membertest.Ask("127.56.0.1:18080"); err != nil || name != "m0" {
		t.Errorf("the TCP listener no longer serves after a UDP flood: %q %v", name, err)
	}
}

// A client that keeps talking fails over when its member fails its health
// checks; when the member is only drained (weight 0), its flow stays.
func TestUDPFailoverFromDownMember(t *testing.T) {
	dp := newTestDataPlane(t)
	backends := map[string]*udpBackend{
		"u0": startUDPBackend(t, "u0", "127.56.5.1:0"),
		"u1": startUDPBackend(t, "u1", "127.56.5.2:0"),
	}
	checks0 := udpProbeCounter(t, "127.56.5.1:0")
	checks1 := udpProbeCounter(t, fmt.Sprintf("127.56.5.2:%d", checks0.port))
	checks := map[string]*udpProbeListener{"u0": checks0, "u1": checks1}
	mon := &health.Monitor{Type: health.TypeTCP, Delay: 50 * time.Millisecond, Timeout: 200 * time.Millisecond, MaxRetries: 1, MaxRetriesDown: 2, Port: checks0.port}
	pool := func(weights map[string]int) *Pool {
		p := &Pool{ID: "up", Monitor: mon}
		for i, id := range []string{"u0", "u1"} {
			p.Members = append(p.Members, Member{ID: id, Address: fmt.Sprintf("127.56.5.%d", i+1), Port: backends[id].port, Weight: weights[id], AdminUp: true})
		}
		return p
	}
	listener := func(p *Pool) Config {
		return Config{Listeners: []Listener{{ID: "u", VIP: "127.56.0.4", Port: 18054, Protocol: ProtocolUDP, Pool: p, KeepaliveTimeout: time.Minute}}}
	}
	apply(t, dp, listener(pool(map[string]int{"u0": 1, "u1": 1})))
	client := dialUDPClient(t, net.IPv4(127, 56, 6, 1), "127.56.0.4:18054")
	first := client.ask()
	other := map[string]string{"u0": "u1", "u1": "u0"}[first]
	if other == "" {
		t.Fatalf("no answer: %q", first)
	}

	// Drained: the flow finishes on its member, new clients go elsewhere.
	apply(t, dp, listener(pool(map[string]int{first: 0, other: 1})))
	for i := 0; i < 3; i++ {
		if got := client.ask(); got != first {
			t.Fatalf("the flow left its drained member %s for %q", first, got)
		}
	}
	if got := dialUDPClient(t, net.IPv4(127, 56, 6, 2), "127.56.0.4:18054").ask(); got != other {
		t.Fatalf("a new client went to %q, want %s (the other is drained)", got, other)
	}

	// Down: the next datagram of the same flow goes to the healthy member.
	apply(t, dp, listener(pool(map[string]int{"u0": 1, "u1": 1})))
	checks[first].close() // the member still answers; only its health checks fail
	eventually(t, 5*time.Second, first+" OFFLINE", func() bool { return dp.MemberStatus(first) == StatusOffline })
	for i := 0; i < 3; i++ {
		if got := client.ask(); got != other {
			t.Errorf("datagram %d of a flow went to %q, want %s (%s is OFFLINE)", i, got, other, first)
		}
	}
	if got := dp.MemberCounters(first).FailedConnects; got != 0 {
		t.Errorf("failing over charged %s %d failed connects", first, got)
	}
}

// A datagram that arrives as its flow expires opens a new flow: it is neither
// dropped nor charged to the member as a failure. The test sets up the
// instant of the race: the read loop finds the flow, whose socket the idle
// timeout has just closed.
func TestUDPDatagramAtFlowExpiry(t *testing.T) {
	dp := newTestDataPlane(t)
	u0 := startUDPBackend(t, "u0", "127.56.7.1:0")
	pool := &Pool{ID: "up", Members: []Member{{ID: "u0", Address: "127.56.7.1", Port: u0.port, Weight: 1, AdminUp: true}}}
	apply(t, dp, Config{Listeners: []Listener{{ID: "u", VIP: "127.56.0.5", Port: 18057, Protocol: ProtocolUDP, Pool: pool, KeepaliveTimeout: time.Minute}}})
	client := dialUDPClient(t, net.IPv4(127, 56, 8, 1), "127.56.0.5:18057")
	if name := client.ask(); name != "u0" {
		t.Fatalf("first datagram: answer %q", name)
	}
	dp.mu.Lock()
	l := dp.listeners["u"]
	dp.mu.Unlock()
	clientAddr := netip.MustParseAddrPort(client.local)
	f := l.flows.get(clientAddr)
	if f == nil {
		t.Fatal("no flow for the client")
	}
	f.end()
	l.flows.put(expiringFlow(t, f))

	if name := client.ask(); name != "u0" {
		t.Errorf("the datagram that met its flow's expiry got answer %q", name)
	}
	if got := dp.ListenerCounters("u"); got.FailedConnects != 0 || got.TotalConnections != 2 {
		t.Errorf("listener counters %+v, want 2 flows and no failure", got)
	}
}

// expiringFlow is f as the read loop sees it when the idle timeout closes its
// socket: still in the table, the socket closed.
func expiringFlow(t *testing.T, f *flow) *flow {
	t.Helper()
	conn, err := net.DialUDP("udp", nil, f.b.udpAddr)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	// The counts newFlow takes, which end gives back.
	f.b.stats.active.Add(1)
	f.l.stats.active.Add(1)
	f.l.dp.udpFlows.live.Add(1)
	return &flow{l: f.l, b: f.b, sock: f.sock, client: f.client, conn: conn}
}

// udpClient is one client address talking to a UDP VIP.
type udpClient struct {
	conn  *net.UDPConn
	local string
}

func dialUDPClient(t *testing.T, from net.IP, vip string) *udpClient {
	t.Helper()
	raddr, err := net.ResolveUDPAddr("udp", vip)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialUDP("udp", &net.UDPAddr{IP: from}, raddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &udpClient{conn: conn, local: conn.LocalAddr().String()}
}

func (c *udpClient) send() { _, _ = c.conn.Write([]byte("ping")) }

// ask sends "ping" and returns the name of the member that answered, or "".
func (c *udpClient) ask() string {
	buf := make([]byte, 256)
	for try := 0; try < 5; try++ { // UDP may drop; a resend stays in the flow
		_ = c.conn.SetDeadline(time.Now().Add(time.Second))
		c.send()
		if n, err := c.conn.Read(buf); err == nil {
			name, _, _ := strings.Cut(string(buf[:n]), ":")
			return name
		}
	}
	return ""
}

// udpProbeListener accepts TCP health probes and counts them.
type udpProbeListener struct {
	ln    net.Listener
	port  int
	count atomic.Int64
}

func udpProbeCounter(t *testing.T, addr string) *udpProbeListener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	p := &udpProbeListener{ln: ln, port: ln.Addr().(*net.TCPAddr).Port}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.count.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(p.close)
	return p
}

func (p *udpProbeListener) close() { _ = p.ln.Close() }

const udpLimitsChildEnv = "FLEETLB_UDP_LIMITS_CHILD"

// TestUDPLimitsChild is the child process of TestUDPFlowCapKeepsTCPAndHealth;
// it does nothing in a normal run.
func TestUDPLimitsChild(t *testing.T) {
	if os.Getenv(udpLimitsChildEnv) != "flood" {
		t.Skip("child process of TestUDPFlowCapKeepsTCPAndHealth")
	}
	fail := func(format string, a ...any) {
		fmt.Printf("LIMITS ERR "+format+"\n", a...)
		os.Exit(2)
	}
	if err := lowerOpenFiles(160); err != nil {
		fail("setrlimit %v", err)
	}
	port := func(env string) int {
		var p int
		fmt.Sscan(os.Getenv(env), &p)
		return p
	}
	dp := New(Options{Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), AcceptLoops: 2})
	mon := &health.Monitor{Type: health.TypeTCP, Delay: 50 * time.Millisecond, Timeout: 300 * time.Millisecond, MaxRetries: 1, MaxRetriesDown: 2, Port: port("LIMITS_HPORT")}
	tp := &Pool{ID: "tp", Monitor: mon, Members: []Member{{ID: "m0", Address: "127.56.1.1", Port: port("LIMITS_TPORT"), Weight: 1, AdminUp: true}}}
	up := &Pool{ID: "up", Members: []Member{{ID: "u0", Address: "127.56.1.2", Port: port("LIMITS_UPORT"), Weight: 1, AdminUp: true}}}
	if err := dp.Apply(Config{Listeners: []Listener{
		{ID: "t", VIP: "127.56.0.1", Port: 18080, Protocol: ProtocolTCP, Pool: tp},
		{ID: "u", VIP: "127.56.0.2", Port: 18053, Protocol: ProtocolUDP, Pool: up, KeepaliveTimeout: time.Minute},
	}}); err != nil {
		fail("apply %v", err)
	}
	fmt.Println("LIMITS READY")
	for i := 0; i < 3000; i++ { // the parent kills the child long before
		u := dp.ListenerCounters("u")
		fmt.Printf("LIMITS STATUS m0=%s total=%d failed=%d active=%d capped=%d max=%d\n",
			dp.MemberStatus("m0"), u.TotalConnections, u.FailedConnects, u.ActiveConnections, dp.udpFlows.dropped.Load(), dp.opts.MaxUDPFlows)
		time.Sleep(20 * time.Millisecond)
	}
	os.Exit(0)
}

type udpChildStatus struct {
	m0                                 string
	total, failed, active, capped, max int
}

// handled counts the datagrams that made a flow, failed one, or were capped.
func (s udpChildStatus) handled() int { return s.total + s.failed + s.capped }

// waitUDPStatus returns the child's first status line that satisfies cond.
func waitUDPStatus(t *testing.T, c *childTest, what string, cond func(udpChildStatus) bool) udpChildStatus {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		line := c.next(t)
		var s udpChildStatus
		if _, err := fmt.Sscanf(line, "STATUS m0=%s total=%d failed=%d active=%d capped=%d max=%d", &s.m0, &s.total, &s.failed, &s.active, &s.capped, &s.max); err != nil {
			t.Fatalf("child: %s", line)
		}
		if cond(s) {
			return s
		}
	}
	t.Fatalf("child: not %s within 10s", what)
	return udpChildStatus{}
}
