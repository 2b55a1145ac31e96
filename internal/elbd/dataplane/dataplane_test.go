package dataplane

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"

	"github.com/fleetlb/fleetlb/internal/elbd/dataplane/health"
	"github.com/fleetlb/fleetlb/internal/elbd/membertest"
)

// tcpPool starts one backend per weight on 127.50.<net>.<i+1> and returns
// the pool and the backends.
func tcpPool(t *testing.T, net_ int, algorithm string, weights ...int) (*Pool, []*tcpBackend) {
	t.Helper()
	p := &Pool{ID: fmt.Sprintf("pool-%d", net_), Algorithm: algorithm}
	var bs []*tcpBackend
	for i, w := range weights {
		name := fmt.Sprintf("m%d", i)
		b := startTCPBackend(t, name, fmt.Sprintf("127.50.%d.%d:0", net_, i+1))
		bs = append(bs, b)
		p.Members = append(p.Members, Member{ID: name, Address: fmt.Sprintf("127.50.%d.%d", net_, i+1), Port: b.port(t), Weight: w, AdminUp: true})
	}
	return p, bs
}

// servePool serves tcpPool(t, net_, algorithm, weights...) behind TCP listener "l" on
// 127.50.0.<net_>:8080 of dp.
func servePool(t *testing.T, dp *DataPlane, net_ int, algorithm string, weights ...int) (*Pool, []*tcpBackend) {
	t.Helper()
	pool, bs := tcpPool(t, net_, algorithm, weights...)
	apply(t, dp, Config{Listeners: []Listener{tcpListener("l", net_, pool)}})
	return pool, bs
}

// checkedPool serves tcpPool(t, net_, "ROUND_ROBIN", weights...) behind TCP listener "l" on
// 127.50.0.<net_>:8080 of dp, its members checked over TCP every 200 ms (retries failures or
// successes flip one) and drained for drain; it returns once every member is ONLINE.
func checkedPool(t *testing.T, dp *DataPlane, net_, retries int, drain time.Duration, weights ...int) (*Pool, []*tcpBackend) {
	t.Helper()
	pool, bs := tcpPool(t, net_, "ROUND_ROBIN", weights...)
	pool.Monitor = &health.Monitor{Type: health.TypeTCP, Delay: 200 * time.Millisecond, Timeout: 200 * time.Millisecond, MaxRetries: retries, MaxRetriesDown: retries}
	pool.Drain = drain
	apply(t, dp, Config{Listeners: []Listener{tcpListener("l", net_, pool)}})
	for _, m := range pool.Members {
		eventually(t, 5*time.Second, "member "+m.ID+" ONLINE after its first check", func() bool { return dp.MemberStatus(m.ID) == StatusOnline })
	}
	return pool, bs
}

func tcpListener(id string, vip int, p *Pool) Listener {
	return Listener{ID: id, VIP: fmt.Sprintf("127.50.0.%d", vip), Port: 8080, Protocol: ProtocolTCP, Pool: p}
}

func TestTCPSplitFollowsWeights(t *testing.T) {
	for i, weights := range [][]int{{80, 20}, {50, 30, 20}} {
		t.Run(fmt.Sprint(weights), func(t *testing.T) {
			dp := newTestDataPlane(t)
			pool, _ := tcpPool(t, 10+i, "ROUND_ROBIN", weights...)
			l := tcpListener("l1", 10+i, pool)
			apply(t, dp, Config{Listeners: []Listener{l}})
			if s := dp.ListenerStatus("l1"); s != StatusOnline {
				t.Fatalf("listener status %q, want ONLINE", s)
			}
			counts := countTCP(t, "127.50.0."+fmt.Sprint(10+i)+":8080", 10000)
			want := map[string]int{}
			for j, w := range weights {
				want[fmt.Sprintf("m%d", j)] = w
			}
			checkShares(t, counts, want)
			// The counters agree with what the clients saw.
			for name, n := range counts {
				if got := dp.MemberCounters(name).TotalConnections; got != int64(n) {
					t.Errorf("member %s counts %d connections, clients saw %d", name, got, n)
				}
				if s := dp.MemberStatus(name); s != StatusNoMonitor {
					t.Errorf("member %s status %q, want NO_MONITOR", name, s)
				}
			}
			if got := dp.ListenerCounters("l1").TotalConnections; got != 10000 {
				t.Errorf("listener counts %d connections, want 10000", got)
			}
			eventually(t, 5*time.Second, "all connections closed", func() bool { return dp.ListenerCounters("l1").ActiveConnections == 0 })
		})
	}
}

func udpPool(t *testing.T, net_ int, weights ...int) *Pool {
	t.Helper()
	p := &Pool{ID: fmt.Sprintf("upool-%d", net_), Algorithm: "ROUND_ROBIN"}
	for i, w := range weights {
		name := fmt.Sprintf("u%d", i)
		addr := fmt.Sprintf("127.50.%d.%d", net_, i+1)
		b := startUDPBackend(t, name, addr+":0")
		p.Members = append(p.Members, Member{ID: name, Address: addr, Port: b.port, Weight: w, AdminUp: true})
	}
	return p
}

func TestUDPFlowSplitFollowsWeights(t *testing.T) {
	for i, weights := range [][]int{{80, 20}, {50, 30, 20}} {
		t.Run(fmt.Sprint(weights), func(t *testing.T) {
			dp := newTestDataPlane(t)
			vip := 20 + i
			l := Listener{ID: "u1", VIP: fmt.Sprintf("127.50.0.%d", vip), Port: 5353, Protocol: ProtocolUDP, KeepaliveTimeout: 500 * time.Millisecond, Pool: udpPool(t, vip, weights...)}
			apply(t, dp, Config{Listeners: []Listener{l}})
			counts := countUDP(t, fmt.Sprintf("127.50.0.%d:5353", vip), 10000)
			want := map[string]int{}
			for j, w := range weights {
				want[fmt.Sprintf("u%d", j)] = w
			}
			checkShares(t, counts, want)
			if got := dp.ListenerCounters("u1").TotalConnections; got != 10000 {
				t.Errorf("listener counts %d flows, want 10000", got)
			}
			// Idle flows are forgotten after the keepalive timeout.
			eventually(t, 10*time.Second, "idle flows expire", func() bool { return dp.ListenerCounters("u1").ActiveConnections == 0 })
		})
	}
}

// oneFlowStays sends n datagrams from one socket (one flow) to addr and
// fails unless one member answers them all.
func oneFlowStays(t *testing.T, addr string, n int) {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 100)
	first := ""
	for i := 0; i < n; i++ {
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		name, _, _ := strings.Cut(string(buf[:n]), ":")
		if first == "" {
			first = name
		} else if name != first {
			t.Fatalf("datagram %d of one flow went to %s, the flow started on %s", i, name, first)
		}
	}
}

func TestUDPFlowStaysOnItsMember(t *testing.T) {
	dp := newTestDataPlane(t)
	l := Listener{ID: "u", VIP: "127.50.0.25", Port: 5353, Protocol: ProtocolUDP, Pool: udpPool(t, 25, 1, 1)}
	apply(t, dp, Config{Listeners: []Listener{l}})
	oneFlowStays(t, "127.50.0.25:5353", 20)
	if got := dp.ListenerCounters("u").TotalConnections; got != 1 {
		t.Fatalf("one client made %d flows, want 1", got)
	}
}

func TestNoUsableMemberClosesAtOnce(t *testing.T) {
	dp := newTestDataPlane(t)
	pool, _ := tcpPool(t, 30, "ROUND_ROBIN", 0, 10)
	pool.Members[1].AdminUp = false
	apply(t, dp, Config{Listeners: []Listener{
		tcpListener("weights-zero", 30, pool),
		{ID: "no-pool", VIP: "127.50.0.30", Port: 8081, Protocol: ProtocolTCP},
	}})
	for _, addr := range []string{"127.50.0.30:8080", "127.50.0.30:8081"} {
		_, err := membertest.Ask(addr)
		if err == nil {
			t.Fatalf("%s: a connection was served with no usable member", addr)
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("%s: the connection hung instead of being closed: %v", addr, err)
		}
	}
	if s := dp.MemberStatus("m1"); s != StatusOffline {
		t.Fatalf("admin-down member status %q, want OFFLINE", s)
	}
}

func TestFailoverAndRejoin(t *testing.T) {
	dp := newTestDataPlane(t)
	pool, bs := checkedPool(t, dp, 40, 2, 0, 10, 10, 10)
	mon := pool.Monitor

	// Clients keep connecting during the whole test; none may fail.
	var stop atomic.Bool
	var mu sync.Mutex
	var failures []error
	var after []string // answers of connections opened after the failover bound
	var afterBound atomic.Bool
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				bounded := afterBound.Load()
				name, err := membertest.Ask("127.50.0.40:8080")
				mu.Lock()
				if err != nil {
					failures = append(failures, err)
				} else if bounded {
					after = append(after, name)
				}
				mu.Unlock()
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	defer func() { stop.Store(true); wg.Wait() }()

	time.Sleep(300 * time.Millisecond)
	bs[2].stopListening()
	// delay × max_retries_down + 1 s after the member died, it is out.
	time.Sleep(mon.Delay*time.Duration(mon.MaxRetriesDown) + time.Second)
	if s := dp.MemberStatus("m2"); s != StatusOffline {
		t.Fatalf("stopped member status %q, want OFFLINE", s)
	}
	failedBefore := dp.MemberCounters("m2").FailedConnects
	afterBound.Store(true)
	time.Sleep(500 * time.Millisecond)
	if got := dp.MemberCounters("m2").FailedConnects; got != failedBefore {
		t.Errorf("connects to the down member went on: failed connects %d -> %d", failedBefore, got)
	}

	bs[2].listen(t, bs[2].addr)
	eventually(t, 10*time.Second, "member m2 back ONLINE", func() bool { return dp.MemberStatus("m2") == StatusOnline })
	eventually(t, 10*time.Second, "member m2 gets connections again", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, n := range after {
			if n == "m2" {
				return true
			}
		}
		return false
	})
	stop.Store(true)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(failures) > 0 {
		t.Fatalf("%d client connections failed during failover, first: %v", len(failures), failures[0])
	}
	if len(after) == 0 {
		t.Fatal("no connections were made after the failover")
	}
}

func TestDrainKeepsEstablishedConnection(t *testing.T) {
	dp := newTestDataPlane(t)
	pool, _ := tcpPool(t, 50, "ROUND_ROBIN", 1, 1)
	l := tcpListener("l", 50, pool)
	l.KeepaliveTimeout = 1500 * time.Millisecond
	apply(t, dp, Config{Listeners: []Listener{l}})

	// Open connections until one lands on m0.
	var long net.Conn
	var r *bufio.Reader
	for i := 0; i < 4 && long == nil; i++ {
		c, br, name := dialMember(t, "127.50.0.50:8080")
		if name == "m0" {
			long, r = c, br
			continue
		}
		c.Close()
	}
	if long == nil {
		t.Fatal("no connection reached m0")
	}
	defer long.Close()
	echo := func(msg string) error {
		_ = long.SetDeadline(time.Now().Add(3 * time.Second))
		if _, err := io.WriteString(long, msg); err != nil {
			return err
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(r, buf); err != nil {
			return err
		}
		if string(buf) != msg {
			return fmt.Errorf("echo %q, want %q", buf, msg)
		}
		return nil
	}

	// Remove m0 from the pool: new connections all go to m1 ...
	drained := *pool
	drained.Members = pool.Members[1:]
	l.Pool = &drained
	apply(t, dp, Config{Listeners: []Listener{l}})
	counts := countTCP(t, "127.50.0.50:8080", 50)
	if counts["m1"] != 50 {
		t.Fatalf("after removing m0, answers %v, want all 50 from m1", counts)
	}
	// ... while the established connection keeps working, also past the idle
	// timeout as long as it carries traffic.
	for i := 0; i < 8; i++ {
		if err := echo(fmt.Sprintf("ping %d\n", i)); err != nil {
			t.Fatalf("established connection to the removed member broke: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Once idle for the keepalive timeout, it is closed.
	_ = long.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := r.ReadByte(); err == nil {
		t.Fatal("read data from an idle drained connection")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the idle drained connection was not closed")
	}
	eventually(t, 5*time.Second, "drained connection counted closed", func() bool { return dp.ListenerCounters("l").ActiveConnections == 0 })
}

func TestHalfCloseBothWays(t *testing.T) {
	// The member reads the whole request until EOF, then answers its size.
	port := serveTCP(t, "127.50.60.1", func(c net.Conn) {
		n, _ := io.Copy(io.Discard, c)
		fmt.Fprintf(c, "got %d bytes", n)
	})
	dp := newTestDataPlane(t)
	apply(t, dp, Config{Listeners: []Listener{oneMemberListener("127.50.0.60", "127.50.60.1", port)}})

	// 3 MiB is spliced; 100 bytes come with their FIN in one read and leave
	// corked with the FIN (and the member's short answer does the same).
	var in, out int64
	for _, size := range []int{3 << 20, 100} {
		c, err := net.Dial("tcp", "127.50.0.60:8080")
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		payload := bytes.Repeat([]byte("x"), size)
		if _, err := c.Write(payload); err != nil {
			t.Fatal(err)
		}
		if err := c.(*net.TCPConn).CloseWrite(); err != nil {
			t.Fatal(err)
		}
		answer, err := io.ReadAll(c)
		c.Close()
		if err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		if want := fmt.Sprintf("got %d bytes", len(payload)); string(answer) != want {
			t.Fatalf("answer %q, want %q", answer, want)
		}
		in, out = in+int64(len(payload)), out+int64(len(answer))
	}
	eventually(t, 5*time.Second, "counters settle", func() bool {
		s := dp.MemberCounters("m")
		return s.ActiveConnections == 0 && s.BytesIn == in && s.BytesOut == out
	})
}

func TestClientFirstDataSurvivesARefusingMember(t *testing.T) {
	// m0 refuses connections; every connection it is picked for moves on to
	// m1 with the bytes the client sent before the connection was accepted.
	refusedPort := refusingPort(t, "127.50.160.1")
	live := startTCPBackend(t, "m1", "127.50.160.2:0")
	dp := newTestDataPlane(t)
	pool := &Pool{ID: "p", Algorithm: "ROUND_ROBIN", Members: []Member{
		{ID: "m0", Address: "127.50.160.1", Port: refusedPort, Weight: 1, AdminUp: true},
		{ID: "m1", Address: "127.50.160.2", Port: live.port(t), Weight: 1, AdminUp: true},
	}}
	apply(t, dp, Config{Listeners: []Listener{tcpListener("l", 160, pool)}})

	// Sizes below, at and above the engine's read buffer.
	sizes := []int{10, scratchSize, 100 << 10}
	var sent int64
	for k := 0; k < 60; k++ {
		payload := bytes.Repeat([]byte{byte('a' + k%26)}, sizes[k%len(sizes)])
		c, err := net.Dial("tcp", "127.50.0.160:8080")
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		wrote := make(chan error, 1)
		go func() {
			_, err := c.Write(payload)
			if err == nil {
				err = c.(*net.TCPConn).CloseWrite()
			}
			wrote <- err
		}()
		got, err := io.ReadAll(c)
		c.Close()
		if err := <-wrote; err != nil {
			t.Fatalf("connection %d: writing %d bytes: %v", k, len(payload), err)
		}
		if err != nil {
			t.Fatalf("connection %d: %v", k, err)
		}
		if want := "m1\n" + string(payload); string(got) != want {
			t.Fatalf("connection %d (%d bytes): got %d bytes back, want the member's name and the %d bytes sent", k, len(payload), len(got), len(payload))
		}
		sent += int64(len(payload))
	}
	eventually(t, 5*time.Second, "counters settle", func() bool {
		s := dp.MemberCounters("m1")
		return s.ActiveConnections == 0 && s.TotalConnections == 60 && s.BytesIn == sent
	})
	if s := dp.MemberCounters("m0"); s.FailedConnects == 0 || s.TotalConnections != 0 || s.BytesIn != 0 {
		t.Errorf("refusing member counters %+v, want failed connects only", s)
	}
}

func TestUrgentBytesAndTheBytesAfterThemArrive(t *testing.T) {
	// Each side sends a stream with an urgent (MSG_OOB) byte in it and then
	// its FIN, all while the loops are held, so that the proxy finds data,
	// urgent mark and FIN queued at once: a read stops at the mark, and
	// nothing may be lost there, the urgent byte included.
	ln, err := net.Listen("tcp", "127.50.170.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dp := newTestDataPlane(t)
	apply(t, dp, Config{Listeners: []Listener{oneMemberListener("127.50.0.170", "127.50.170.1", ln.Addr().(*net.TCPAddr).Port)}})

	c, err := net.Dial("tcp", "127.50.0.170:8080")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	m, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	_ = m.SetDeadline(time.Now().Add(10 * time.Second))

	holdLoops(t, dp, func() { sendWithUrgentByte(t, c.(*net.TCPConn), "abc", 'X', "def") })
	got, err := io.ReadAll(m)
	if err != nil || string(got) != "abcXdef" {
		t.Fatalf("member got %q (%v), want %q", got, err, "abcXdef")
	}
	holdLoops(t, dp, func() { sendWithUrgentByte(t, m.(*net.TCPConn), "got:"+string(got), '!', "end") })
	back, err := io.ReadAll(c)
	if err != nil || string(back) != "got:abcXdef!end" {
		t.Fatalf("client got %q (%v), want %q", back, err, "got:abcXdef!end")
	}
}

func TestEarlyDataBufferIsReusedWhenNoMemberTakesIt(t *testing.T) {
	port := refusingPort(t, "127.50.171.1")
	dp := newTestDataPlane(t)
	apply(t, dp, Config{Listeners: []Listener{oneMemberListener("127.50.0.171", "127.50.171.1", port)}})
	var c net.Conn
	holdLoops(t, dp, func() { // the bytes are in before the connection is accepted
		var err error
		if c, err = net.Dial("tcp", "127.50.0.171:8080"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
	})
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(c); err == nil {
		t.Fatal("the connection was closed gracefully, want a reset: no member can serve it")
	}
	free := 0
	for _, lp := range dp.engine.loops {
		lp.call(func() { free += len(lp.bufs) })
	}
	if free != 1 {
		t.Errorf("%d buffers back in the loops' pools, want 1: the one the early bytes were read into", free)
	}
}

// sendWithUrgentByte writes before, then urg as urgent data, then after, then
// shuts down writing.
func sendWithUrgentByte(t *testing.T, c *net.TCPConn, before string, urg byte, after string) {
	t.Helper()
	if _, err := c.Write([]byte(before)); err != nil {
		t.Fatal(err)
	}
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := rc.Write(func(fd uintptr) bool { serr = unix.Sendto(int(fd), []byte{urg}, unix.MSG_OOB, nil); return true }); err != nil || serr != nil {
		t.Fatalf("sending the urgent byte: %v %v", err, serr)
	}
	if _, err := c.Write([]byte(after)); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
}

// holdLoops runs send while every event loop of dp is busy, so that what
// send does is all queued when the loops look again.
func holdLoops(t *testing.T, dp *DataPlane, send func()) {
	t.Helper()
	release := make(chan struct{})
	var held, done sync.WaitGroup
	for _, lp := range dp.engine.loops {
		held.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			lp.call(func() { held.Done(); <-release })
		}()
	}
	held.Wait()
	send()
	time.Sleep(20 * time.Millisecond) // loopback delivery is immediate; this is margin
	close(release)
	done.Wait()
}

func TestPortMovesToARenamedListenerInOneApply(t *testing.T) {
	// The store may replace a listener by another one on the same VIP:port
	// (a new ID): the old sockets must be gone before the new ones bind.
	dp := newTestDataPlane(t)
	pool, _ := tcpPool(t, 180, "ROUND_ROBIN", 1)
	for i := 0; i < 20; i++ {
		id := fmt.Sprintf("l%d", i)
		l := tcpListener(id, 180, pool)
		udp := Listener{ID: id + "-udp", VIP: l.VIP, Port: l.Port, Protocol: ProtocolUDP, Pool: pool}
		if err := dp.Apply(Config{Listeners: []Listener{l, udp}}); err != nil {
			t.Fatalf("apply %d (listeners %s and %s on the port of the one before): %v", i, l.ID, udp.ID, err)
		}
		if s := dp.ListenerStatus(id); s != StatusOnline {
			t.Fatalf("listener %s status %q, want ONLINE", id, s)
		}
	}
	if name, err := membertest.Ask("127.50.0.180:8080"); err != nil || name != "m0" {
		t.Fatalf("through the last listener: %q, %v", name, err)
	}
}

func TestListenersSkipAStoppedEventLoop(t *testing.T) {
	// An event loop whose epoll descriptor fails stops. A TCP listener bound
	// afterwards must not leave a socket on it, which would get a share of
	// the clients and accept none: the other loops serve it. With every loop
	// stopped, the listener is reported and OFFLINE.
	dp := New(Options{Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)), AcceptLoops: 2})
	t.Cleanup(func() { _ = dp.Close() })
	stop := func(lp *loop) {
		_ = lp.file.Close()
		<-lp.done
	}
	stop(dp.engine.loops[0])
	pool, _ := servePool(t, dp, 190, "ROUND_ROBIN", 1)
	counts := countTCP(t, "127.50.0.190:8080", 50)
	if counts["m0"] != 50 {
		t.Fatalf("answers %v, want all 50 from m0", counts)
	}

	stop(dp.engine.loops[1])
	err := dp.Apply(Config{Listeners: []Listener{tcpListener("l2", 191, pool)}})
	if err == nil || !strings.Contains(err.Error(), errLoopEnded.Error()) {
		t.Fatalf("apply with every loop stopped: %v, want that reported", err)
	}
	if s := dp.ListenerStatus("l2"); s != StatusOffline {
		t.Fatalf("listener status %q, want OFFLINE", s)
	}
}

func TestBindFailureIsReportedAndOthersServe(t *testing.T) {
	busy, err := net.Listen("tcp", "127.50.0.70:8080")
	if err != nil {
		t.Fatal(err)
	}
	dp := newTestDataPlane(t)
	pool, _ := tcpPool(t, 70, "ROUND_ROBIN", 1)
	cfg := Config{Listeners: []Listener{
		tcpListener("busy", 70, pool),
		{ID: "free", VIP: "127.50.0.70", Port: 8081, Protocol: ProtocolTCP, Pool: pool},
	}}
	if err := dp.Apply(cfg); err == nil || !strings.Contains(err.Error(), "127.50.0.70:8080") {
		t.Fatalf("Apply error %v, want one naming 127.50.0.70:8080", err)
	}
	if s := dp.ListenerStatus("busy"); s != StatusOffline {
		t.Fatalf("busy listener status %q, want OFFLINE", s)
	}
	if dp.ListenerError("busy") == nil {
		t.Fatal("no error reported for the busy listener")
	}
	if s := dp.ListenerStatus("free"); s != StatusOnline {
		t.Fatalf("free listener status %q, want ONLINE", s)
	}
	if name, err := membertest.Ask("127.50.0.70:8081"); err != nil || name != "m0" {
		t.Fatalf("free listener answered %q, %v", name, err)
	}
	// Once the port is free, the next Apply binds it.
	busy.Close()
	apply(t, dp, cfg)
	if s := dp.ListenerStatus("busy"); s != StatusOnline {
		t.Fatalf("listener status %q after the port was freed, want ONLINE", s)
	}
	if name, err := membertest.Ask("127.50.0.70:8080"); err != nil || name != "m0" {
		t.Fatalf("rebound listener answered %q, %v", name, err)
	}
}

func TestApplyChangesWeightsWithoutRebinding(t *testing.T) {
	dp := newTestDataPlane(t)
	pool, _ := tcpPool(t, 80, "ROUND_ROBIN", 1, 1)
	l := tcpListener("l", 80, pool)
	apply(t, dp, Config{Listeners: []Listener{l}})
	c, r, _ := dialMember(t, "127.50.0.80:8080")   // open across the changes
	apply(t, dp, Config{Listeners: []Listener{l}}) // idempotent
	changed := *pool
	changed.Members = append([]Member(nil), pool.Members...)
	changed.Members[0].Weight = 3
	l.Pool = &changed
	apply(t, dp, Config{Listeners: []Listener{l}})
	checkShares(t, countTCP(t, "127.50.0.80:8080", 400), map[string]int{"m0": 3, "m1": 1})
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(c, "still here\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := r.ReadString('\n'); err != nil || line != "still here\n" {
		t.Fatalf("connection opened before the changes: %q, %v", line, err)
	}
	// Removing the listener stops new connections.
	apply(t, dp, Config{})
	eventually(t, 5*time.Second, "listener closed", func() bool {
		_, err := net.DialTimeout("tcp", "127.50.0.80:8080", time.Second)
		return err != nil
	})
	if s := dp.ListenerStatus("l"); s != "" {
		t.Fatalf("removed listener status %q, want empty", s)
	}
}

// stickyClients connects 5 times from each of n client addresses
// (127.51.0.x) to addr, fails when one client reaches two members, and
// returns how many clients each member got.
func stickyClients(t *testing.T, addr string, n int) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for client := 1; client <= n; client++ {
		from := net.IPv4(127, 51, 0, byte(client))
		first := ""
		for i := 0; i < 5; i++ {
			name, err := membertest.AskFrom(addr, from)
			if err != nil {
				t.Fatal(err)
			}
			if first == "" {
				first = name
			} else if name != first {
				t.Fatalf("client %s went to %q then %q", from, first, name)
			}
		}
		seen[first]++
	}
	return seen
}

func TestSourceIPIsSticky(t *testing.T) {
	dp := newTestDataPlane(t)
	servePool(t, dp, 90, "SOURCE_IP", 1, 1, 1)
	if seen := stickyClients(t, "127.50.0.90:8080", 30); len(seen) < 2 {
		t.Fatalf("30 clients all went to %v; SOURCE_IP should spread them", seen)
	}
}

func TestLeastConnectionsBalancesOpenConnections(t *testing.T) {
	dp := newTestDataPlane(t)
	servePool(t, dp, 100, "LEAST_CONNECTIONS", 2, 1)
	counts := map[string]int{}
	for i := 0; i < 30; i++ {
		_, _, name := dialMember(t, "127.50.0.100:8080")
		counts[name]++
	}
	if counts["m0"] != 20 || counts["m1"] != 10 {
		t.Fatalf("30 open connections split %v, want m0:20 m1:10", counts)
	}
}

func TestMetricsExposeCounters(t *testing.T) {
	dp := newTestDataPlane(t)
	servePool(t, dp, 110, "ROUND_ROBIN", 1)
	countTCP(t, "127.50.0.110:8080", 5)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(dp.Collector())
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(families) != 17 {
		t.Fatalf("gathered %d metric families, want 17 (7 listener + 7 member + 2 UDP flow cap + health transitions)", len(families))
	}
	found := false
	for _, f := range families {
		if f.GetName() != "elbd_member_connections_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			if labels["member"] == "m0" && labels["pool"] == "pool-110" {
				found = true
				if v := m.GetCounter().GetValue(); v != 5 {
					t.Fatalf("elbd_member_connections_total{member=m0} = %v, want 5", v)
				}
			}
		}
	}
	if !found {
		t.Fatal("no elbd_member_connections_total for member m0")
	}
}

// TestSlowClientGetsEveryByte: a member sends 16 MiB (bulk, spliced) to a
// client that reads slowly at first; flow control must hold data back, never
// drop or reorder it.
func TestSlowClientGetsEveryByte(t *testing.T) {
	const size = 16 << 20
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte(i*7 + i>>12)
	}
	port := serveTCP(t, "127.50.130.1", func(c net.Conn) {
		// A few small writes first (the read/write path), then bulk.
		for i := 0; i < 100; i++ {
			if _, err := c.Write(payload[i*10 : i*10+10]); err != nil {
				return
			}
		}
		_, _ = c.Write(payload[1000:])
	})
	dp := newTestDataPlane(t)
	apply(t, dp, Config{Listeners: []Listener{oneMemberListener("127.50.0.130", "127.50.130.1", port)}})
	c, err := net.Dial("tcp", "127.50.0.130:8080")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	got := make([]byte, 0, size)
	buf := make([]byte, 4096)
	for len(got) < size {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			break
		}
		if len(got) < 1<<20 {
			time.Sleep(time.Millisecond) // slow at first: the proxy must buffer and wait
		}
	}
	if len(got) != size {
		t.Fatalf("received %d bytes, want %d", len(got), size)
	}
	if !bytes.Equal(got, payload) {
		t.Fatal("received bytes differ from what the member sent")
	}
	c.Close()
	eventually(t, 5*time.Second, "counters settle", func() bool {
		s := dp.ListenerCounters("l")
		return s.ActiveConnections == 0 && s.BytesOut == size
	})
}

func TestListenerMovesToAnotherPort(t *testing.T) {
	dp := newTestDataPlane(t)
	pool, _ := tcpPool(t, 140, "ROUND_ROBIN", 1)
	l := tcpListener("l", 140, pool)
	apply(t, dp, Config{Listeners: []Listener{l}})
	if name, err := membertest.Ask("127.50.0.140:8080"); err != nil || name != "m0" {
		t.Fatalf("before the move: %q, %v", name, err)
	}
	l.Port = 8090
	apply(t, dp, Config{Listeners: []Listener{l}})
	if name, err := membertest.Ask("127.50.0.140:8090"); err != nil || name != "m0" {
		t.Fatalf("on the new port: %q, %v", name, err)
	}
	if _, err := net.DialTimeout("tcp", "127.50.0.140:8080", time.Second); err == nil {
		t.Fatal("the old port still accepts connections")
	}
}

func TestCloseEndsEstablishedConnections(t *testing.T) {
	dp := New(Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	servePool(t, dp, 150, "ROUND_ROBIN", 1)
	c, r, _ := dialMember(t, "127.50.0.150:8080")
	if err := dp.Close(); err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.ReadByte(); err == nil {
		t.Fatal("read data after Close")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the connection stayed open after Close")
	}
	if err := dp.Apply(Config{}); err == nil {
		t.Fatal("Apply after Close succeeded")
	}
}

func TestIPv6(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	ln.Close()
	b := startTCPBackend(t, "v6", "[::1]:0")
	dp := newTestDataPlane(t)
	apply(t, dp, Config{Listeners: []Listener{{ID: "l", VIP: "::1", Port: 18080, Protocol: ProtocolTCP,
		Pool: &Pool{ID: "p", Algorithm: "SOURCE_IP", Members: []Member{{ID: "m", Address: "::1", Port: b.port(t), Weight: 1, AdminUp: true}}}}}})
	if name, err := membertest.Ask("[::1]:18080"); err != nil || name != "v6" {
		t.Fatalf("through [::1]:18080: %q, %v", name, err)
	}
}

// dialMember connects to the TCP listener at addr and reads the greeting of the member it reached:
// the connection (closed by the test's cleanup), its reader, and the member's name.
func dialMember(t *testing.T, addr string) (net.Conn, *bufio.Reader, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	name, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("greeting of the member behind %s: %v", addr, err)
	}
	_ = c.SetDeadline(time.Time{})
	return c, r, strings.TrimSuffix(name, "\n")
}
