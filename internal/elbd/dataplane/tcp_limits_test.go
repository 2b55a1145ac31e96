package dataplane

// TCP engine under resource limits. Addresses: 127.57.0.0/16 only. The
// out-of-descriptors case runs the data plane in a child process (this test
// binary re-executed) whose own RLIMIT_NOFILE is lowered; the test process's
// limit is never touched.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fleetlb/fleetlb/internal/elbd/membertest"
)

const limitsChildEnv = "FLEETLB_TCP_LIMITS_CHILD"

// TestLocalResourceErrorsAreNotMemberFailures: a member that refuses is
// charged a failed connect; the balancer's own lack of descriptors is not
// charged to any member, and the clients queued behind it wait in the
// backlog instead of being accepted and reset.
func TestLocalResourceErrorsAreNotMemberFailures(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		dp := newTestDataPlane(t)
		port := refusingPort(t, "127.57.2.1")
		pool := &Pool{ID: "p", Members: []Member{{ID: "m0", Address: "127.57.2.1", Port: port, Weight: 1, AdminUp: true}}}
		apply(t, dp, Config{Listeners: []Listener{{ID: "l", VIP: "127.57.0.2", Port: 18091, Protocol: ProtocolTCP, Pool: pool}}})
		if name, err := membertest.AskFrom("127.57.0.2:18091", net.IPv4(127, 57, 9, 1)); err == nil {
			t.Fatalf("served by %q through a refusing member", name)
		}
		if got := dp.MemberCounters("m0").FailedConnects; got != 1 {
			t.Errorf("refusing member: %d failed connects, want 1", got)
		}
	})

	t.Run("out of descriptors", func(t *testing.T) {
		b0 := startTCPBackend(t, "m0", "127.57.1.1:0")
		b1 := startTCPBackend(t, "m1", "127.57.1.2:0")
		child := startChildTest(t, "TestTCPLimitsChild", limitsChildEnv+"=outOfDescriptors",
			fmt.Sprintf("LIMITS_P0=%d", b0.port(t)), fmt.Sprintf("LIMITS_P1=%d", b1.port(t)))
		// All clients connect first: the kernel queues them in the backlog.
		const n = 10
		d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 57, 9, 2)}}
		var conns []net.Conn
		for i := 0; i < n; i++ {
			c, err := d.Dial("tcp", "127.57.0.1:18090")
			if err != nil {
				t.Logf("client %d: %v", i, err) // reset already
				continue
			}
			defer c.Close()
			conns = append(conns, c)
		}
		var served []string
		for _, c := range conns {
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			name, err := bufio.NewReader(c).ReadString('\n')
			if err == nil {
				served = append(served, strings.TrimSpace(name))
			} else {
				t.Logf("client from %s: %v", c.LocalAddr(), err)
			}
		}
		counters := reportCounters(t, child)
		t.Logf("served %v; child: %s", served, counters)
		// The first client takes the last descriptor, so no member socket
		// can be opened for it; the pause that follows frees descriptors
		// (the child's doing), and the clients still queued are served.
		if len(served) != n-1 {
			t.Errorf("%d of %d clients served, want %d: only the first should be reset", len(served), n, n-1)
		}
		if !strings.Contains(counters, "m0failed=0 m1failed=0 ") {
			t.Errorf("members charged with failed connects for the balancer's own lack of descriptors: %s", counters)
		}
	})
}

// TestTCPLimitsChild is the child process's side; it is skipped in a normal
// run.
func TestTCPLimitsChild(t *testing.T) {
	if os.Getenv(limitsChildEnv) != "outOfDescriptors" {
		t.Skip("the child process of TestLocalResourceErrorsAreNotMemberFailures")
	}
	say := func(format string, a ...any) { fmt.Fprintf(os.Stdout, "LIMITS "+format+"\n", a...) }
	fail := func(what string, err error) { say("ERR %s: %v", what, err); os.Exit(2) }
	if err := lowerOpenFiles(64); err != nil {
		fail("setrlimit", err)
	}
	var held []*os.File
	var once sync.Once
	release := func() {
		once.Do(func() {
			for _, f := range held {
				f.Close()
			}
		})
	}
	text := slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})
	dp := New(Options{Logger: slog.New(releaseOnPause{text, release}), AcceptLoops: 1})
	defer dp.Close()
	var p0, p1 int
	fmt.Sscan(os.Getenv("LIMITS_P0"), &p0)
	fmt.Sscan(os.Getenv("LIMITS_P1"), &p1)
	pool := &Pool{ID: "p", Members: []Member{
		{ID: "m0", Address: "127.57.1.1", Port: p0, Weight: 1, AdminUp: true},
		{ID: "m1", Address: "127.57.1.2", Port: p1, Weight: 1, AdminUp: true},
	}}
	if err := dp.Apply(Config{Listeners: []Listener{{ID: "l", VIP: "127.57.0.1", Port: 18090, Protocol: ProtocolTCP, Pool: pool}}}); err != nil {
		fail("apply", err)
	}
	// Take every descriptor but one: accept gets it, and the member
	// socket() fails with EMFILE.
	for {
		f, err := os.Open(os.DevNull)
		if err != nil {
			break
		}
		held = append(held, f)
	}
	held[len(held)-1].Close()
	held = held[:len(held)-1]
	say("READY")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // the parent's "report"
	release()
	m0, m1 := dp.MemberCounters("m0"), dp.MemberCounters("m1")
	say("COUNTERS m0failed=%d m1failed=%d total=%d", m0.FailedConnects, m1.FailedConnects, dp.ListenerCounters("l").TotalConnections)
}

// releaseOnPause frees the child's spare descriptors when the data plane
// pauses its listeners for want of them: what was queued behind the pause
// can then be served.
type releaseOnPause struct {
	slog.Handler
	release func()
}

func (h releaseOnPause) Handle(ctx context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, "cannot open member connections") {
		h.release()
	}
	return h.Handler.Handle(ctx, r)
}

// reportCounters asks the child for its counters.
func reportCounters(t *testing.T, c *childTest) string {
	t.Helper()
	if _, err := io.WriteString(c.stdin, "report\n"); err != nil {
		t.Fatal(err)
	}
	line := c.next(t)
	if !strings.HasPrefix(line, "COUNTERS") {
		t.Fatalf("child: %q, want its COUNTERS", line)
	}
	return line
}

// TestIdleConnectionsGiveTheirPipesBack: a connection takes a pipe for a
// bulk burst and gives it back once the burst has been passed on, so that
// idle keep-alive connections hold no pipe; the bytes arrive whole and in
// order across small messages, bursts and the pipe changes between them.
func TestIdleConnectionsGiveTheirPipesBack(t *testing.T) {
	dp := newTestDataPlane(t)
	b := startTCPBackend(t, "m0", "127.57.3.1:0")
	pool := &Pool{ID: "p", Members: []Member{{ID: "m0", Address: "127.57.3.1", Port: b.port(t), Weight: 1, AdminUp: true}}}
	apply(t, dp, Config{Listeners: []Listener{{ID: "l", VIP: "127.57.0.3", Port: 18092, Protocol: ProtocolTCP, Pool: pool}}})

	// Many connections at once, so that more pipes are in use than a loop
	// keeps free; all stay open, idle, until the test ends.
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 57, 9, 3)}}
	for i := 0; i < n; i++ {
		c, err := d.Dial("tcp", "127.57.0.3:18092")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := echoRounds(c, i, []int{100, 256 << 10, 3, 256 << 10}); err != nil {
				errs <- fmt.Errorf("connection %d: %w", i, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := dp.ListenerCounters("l").ActiveConnections; got != n {
		t.Fatalf("%d connections open, want %d", got, n)
	}
	eventually(t, 5*time.Second, "no connection holding a pipe", func() bool {
		held, _ := pipesIn(dp)
		return held == 0
	})
	_, free := pipesIn(dp)
	total := 0
	for _, f := range free {
		total += f
		if f > 64 {
			t.Errorf("a loop keeps %d free pipes, more than 64", f)
		}
	}
	if total == 0 {
		t.Errorf("no free pipe on any loop: the bursts were never spliced")
	}
}

// echoRounds sends, for each size, that many bytes of a pattern of the
// round's own through c and checks the echo.
func echoRounds(c net.Conn, id int, sizes []int) error {
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	if _, err := br.ReadString('\n'); err != nil {
		return err
	}
	for r, size := range sizes {
		want := make([]byte, size)
		for k := range want {
			want[k] = byte(id*7 + r*31 + k*13 + k>>8)
		}
		werr := make(chan error, 1)
		go func() { _, err := c.Write(want); werr <- err }()
		got := make([]byte, size)
		if _, err := io.ReadFull(br, got); err != nil {
			return fmt.Errorf("round %d: %w", r, err)
		}
		if err := <-werr; err != nil {
			return fmt.Errorf("round %d: %w", r, err)
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("round %d: the %d bytes echoed differ from those sent", r, size)
		}
	}
	return nil
}

// pipesIn counts, on the loops' own threads, the pipes that connections
// hold and the free pipes each loop keeps.
func pipesIn(dp *DataPlane) (held int, free []int) {
	for _, lp := range dp.engine.loops {
		lp.call(func() {
			for _, p := range lp.pairs {
				if p.client.hasPipe {
					held++
				}
				if p.member.hasPipe {
					held++
				}
			}
			free = append(free, len(lp.pipes))
		})
	}
	return held, free
}
