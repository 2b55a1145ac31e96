package dataplane

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fleetlb/fleetlb/internal/elbd/membertest"
	"github.com/fleetlb/fleetlb/internal/testbed/poll"
)

// tcpBackend is a member server: on each connection it writes its name and a
// newline, then echoes until the client half-closes.
type tcpBackend struct {
	name string
	ln   net.Listener
	addr string
	wg   sync.WaitGroup
	mu   sync.Mutex
	open map[net.Conn]struct{}
}

func startTCPBackend(t *testing.T, name, addr string) *tcpBackend {
	t.Helper()
	b := &tcpBackend{name: name, open: map[net.Conn]struct{}{}}
	b.listen(t, addr)
	t.Cleanup(b.stop)
	return b
}

func (b *tcpBackend) listen(t *testing.T, addr string) {
	t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // a just-closed port may linger briefly
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("backend %s: %v", b.name, err)
	}
	b.ln, b.addr = ln, ln.Addr().String()
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.open[c] = struct{}{}
			b.mu.Unlock()
			b.wg.Add(1)
			go func() {
				defer b.wg.Done()
				defer func() {
					b.mu.Lock()
					delete(b.open, c)
					b.mu.Unlock()
					c.Close()
				}()
				if _, err := io.WriteString(c, b.name+"\n"); err != nil {
					return
				}
				_, _ = io.Copy(c, c)
			}()
		}
	}()
}

// stopListening closes the listening socket only: established connections
// keep working, new ones are refused.
func (b *tcpBackend) stopListening() {
	_ = b.ln.Close()
}

func (b *tcpBackend) stop() {
	_ = b.ln.Close()
	b.mu.Lock()
	for c := range b.open {
		_ = c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

func (b *tcpBackend) port(t *testing.T) int {
	t.Helper()
	_, p, _ := net.SplitHostPort(b.addr)
	var n int
	fmt.Sscan(p, &n)
	return n
}

// serveTCP runs a member server on ip, on a port of its own, until the test
// ends: handle gets each connection, which is closed after. It returns the port.
func serveTCP(t *testing.T, ip string, handle func(net.Conn)) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// oneMemberListener is TCP listener "l" on vip:8080 with pool "p" of the one
// member "m", at ip:port.
func oneMemberListener(vip, ip string, port int) Listener {
	return Listener{ID: "l", VIP: vip, Port: 8080, Protocol: ProtocolTCP,
		Pool: &Pool{ID: "p", Members: []Member{{ID: "m", Address: ip, Port: port, Weight: 1, AdminUp: true}}}}
}

// refusingPort returns a TCP port on ip that nothing listens on: connecting
// to it is refused.
func refusingPort(t *testing.T, ip string) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// countTCP opens n connections with a few workers and counts the answers.
// Each connection comes from its own client address (127.53.x.y), so that
// the clients' TIME_WAIT sockets never exhaust one address's ports.
func countTCP(t *testing.T, addr string, n int) map[string]int {
	t.Helper()
	return countAnswers(t, "connection through "+addr, n, func(k int) (string, error) {
		return membertest.AskFrom(addr, net.IPv4(127, 53, byte(k/250%250), byte(k%250+1)))
	})
}

// countAnswers runs ask(0..n-1) on a few workers and counts the names answered;
// the first error fails the test, naming what failed.
func countAnswers(t *testing.T, what string, n int, ask func(k int) (string, error)) map[string]int {
	t.Helper()
	var mu sync.Mutex
	counts := map[string]int{}
	var firstErr error
	var wg sync.WaitGroup
	jobs := make(chan int, n)
	for i := 0; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range jobs {
				name, err := ask(k)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				counts[name]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatalf("%s failed: %v (answers: %v)", what, firstErr, counts)
	}
	return counts
}

// udpBackend answers every datagram with its name.
type udpBackend struct {
	name string
	pc   net.PacketConn
	port int
}

func startUDPBackend(t *testing.T, name, addr string) *udpBackend {
	t.Helper()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	b := &udpBackend{name: name, pc: pc, port: pc.LocalAddr().(*net.UDPAddr).Port}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo([]byte(b.name+":"+string(buf[:n])), from)
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return b
}

// askUDP sends one datagram from a fresh socket on local IP from (a new
// flow) and returns the name of the member that answered.
func askUDP(addr string, from net.IP) (string, error) {
	d := net.Dialer{LocalAddr: &net.UDPAddr{IP: from}}
	c, err := d.Dial("udp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	buf := make([]byte, 256)
	for try := 0; try < 5; try++ { // UDP may drop; a resend stays in the same flow
		_ = c.SetDeadline(time.Now().Add(time.Second))
		if _, err := c.Write([]byte("ping")); err != nil {
			return "", err
		}
		n, err := c.Read(buf)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			continue
		}
		if err != nil {
			return "", err
		}
		name, _, _ := strings.Cut(string(buf[:n]), ":")
		return name, nil
	}
	return "", errors.New("no answer after 5 tries")
}

// countUDP makes n flows, each from its own client address (127.52.x.y), so
// that no two share a flow even when the kernel reuses a source port.
func countUDP(t *testing.T, addr string, n int) map[string]int {
	t.Helper()
	return countAnswers(t, "flow through "+addr, n, func(k int) (string, error) {
		return askUDP(addr, net.IPv4(127, 52, byte(k/250), byte(k%250+1)))
	})
}

func newTestDataPlane(t *testing.T) *DataPlane {
	t.Helper()
	dp := New(Options{Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	t.Cleanup(func() { dp.Close() })
	return dp
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func apply(t *testing.T, dp *DataPlane, cfg Config) {
	t.Helper()
	if err := dp.Apply(cfg); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

// checkShares asserts that each member's share of answers is within ±0.5
// percentage points of its weight share.
func checkShares(t *testing.T, counts map[string]int, weights map[string]int) {
	t.Helper()
	total, wsum := 0, 0
	for _, c := range counts {
		total += c
	}
	for _, w := range weights {
		wsum += w
	}
	for name, w := range weights {
		got := 100 * float64(counts[name]) / float64(total)
		want := 100 * float64(w) / float64(wsum)
		if got < want-0.5 || got > want+0.5 {
			t.Errorf("member %s got %.2f%% (%d of %d), want %.2f%% ± 0.5", name, got, counts[name], total, want)
		}
	}
	for name := range counts {
		if _, ok := weights[name]; !ok {
			t.Errorf("unexpected answer %q %d times", name, counts[name])
		}
	}
}

// eventually is poll.True: cond again and again until it holds, failing the test after limit.
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	poll.True(t, limit, what, cond)
}

// childTest is this test binary run again as a child process that runs only
// one test: the child's side of a test, which a normal run skips. The
// child's stdout lines that start with "LIMITS " reach the parent via next.
type childTest struct {
	stdin io.WriteCloser
	lines chan string
}

// startChildTest starts the child running the test named run, with env
// added, and waits for it to say READY.
func startChildTest(t *testing.T, run string, env ...string) *childTest {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+run+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = testWriter{t}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	c := &childTest{stdin: stdin, lines: make(chan string, 100)}
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if line, ok := strings.CutPrefix(sc.Text(), "LIMITS "); ok {
				c.lines <- line
			}
		}
	}()
	if line := c.next(t); line != "READY" {
		t.Fatalf("child: %s", line)
	}
	return c
}

// next returns the child's next line; the test fails when the child ends or
// says nothing for 10 s.
func (c *childTest) next(t *testing.T) string {
	t.Helper()
	select {
	case line, ok := <-c.lines:
		if !ok {
			t.Fatal("the child process ended")
		}
		return line
	case <-time.After(10 * time.Second):
		t.Fatal("the child process says nothing")
	}
	return ""
}

// lowerOpenFiles sets this process's soft limit of open files to n: for
// child processes only, never for the test binary the other tests share.
func lowerOpenFiles(n uint64) error {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	return unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: n, Max: lim.Max})
}
