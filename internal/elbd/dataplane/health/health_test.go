package health

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"
)

func TestStateRiseAndFall(t *testing.T) {
	s := NewState(2, 3)
	steps := []struct {
		ok      bool
		up      bool
		changed bool
	}{
		{false, true, false}, {false, true, false}, {true, true, false}, // a success resets the failures
		{false, true, false}, {false, true, false}, {false, false, true}, // 3 failures: down
		{true, false, false}, {false, false, false}, {true, false, false}, {true, true, true}, // 2 successes: up
	}
	for i, st := range steps {
		changed := s.Observe(st.ok)
		if s.Up() != st.up || changed != st.changed {
			t.Fatalf("step %d (ok=%v): up=%v changed=%v, want up=%v changed=%v", i, st.ok, s.Up(), changed, st.up, st.changed)
		}
	}
}

func TestParseExpectedCodes(t *testing.T) {
	cases := []struct {
		in      string
		yes, no []int
	}{
		{"", []int{200}, []int{201, 404}},
		{"200", []int{200}, []int{201}},
		{"200-204", []int{200, 202, 204}, []int{199, 205}},
		{"200,202", []int{200, 202}, []int{201}},
		{"200, 300-302", []int{200, 301}, []int{303}},
	}
	for _, c := range cases {
		cs, err := ParseExpectedCodes(c.in)
		if err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		for _, y := range c.yes {
			if !cs.Contains(y) {
				t.Errorf("%q should contain %d", c.in, y)
			}
		}
		for _, n := range c.no {
			if cs.Contains(n) {
				t.Errorf("%q should not contain %d", c.in, n)
			}
		}
	}
	for _, bad := range []string{"abc", "204-200", "99", "200-", "600"} {
		if _, err := ParseExpectedCodes(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestValidate(t *testing.T) {
	good := Monitor{Type: TypeHTTP, Delay: time.Second, Timeout: time.Second, MaxRetries: 1, MaxRetriesDown: 1, URLPath: "/healthz", ExpectedCodes: "200-299"}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, mut := range []func(*Monitor){
		func(m *Monitor) { m.Type = "PING" },
		func(m *Monitor) { m.Delay = 0 },
		func(m *Monitor) { m.Timeout = 0 },
		func(m *Monitor) { m.MaxRetries = 0 },
		func(m *Monitor) { m.Port = 70000 },
		func(m *Monitor) { m.URLPath = "healthz" },
		func(m *Monitor) { m.ExpectedCodes = "2xx" },
	} {
		m := good
		mut(&m)
		if err := m.Validate(); err == nil {
			t.Errorf("invalid monitor %+v accepted", m)
		}
	}
}

func addrOf(t *testing.T, a net.Addr) netip.AddrPort {
	t.Helper()
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

// upThenDown checks that m probes the port at a up while it is open, and down once close has
// closed it.
func upThenDown(t *testing.T, m Monitor, a net.Addr, close func() error) {
	t.Helper()
	target := addrOf(t, a)
	if err := m.Probe(context.Background(), target); err != nil {
		t.Fatalf("%s: open port probed down: %v", m.Type, err)
	}
	_ = close()
	if err := m.Probe(context.Background(), target); err == nil {
		t.Fatalf("%s: closed port probed up", m.Type)
	}
}

func TestProbeTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	upThenDown(t, Monitor{Type: TypeTCP, Timeout: time.Second}, ln.Addr(), ln.Close)
}

// A silent but open UDP port is up (no ICMP unreachable).
func TestProbeUDPConnect(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	upThenDown(t, Monitor{Type: TypeUDPConnect, Timeout: 300 * time.Millisecond}, pc.LocalAddr(), pc.Close)
}

func TestProbeHTTP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/ok" && r.Method == http.MethodHead:
			w.WriteHeader(204)
		case r.URL.Path == "/ok":
			w.WriteHeader(200)
		default:
			w.WriteHeader(503)
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	target := addrOf(t, ln.Addr())
	probe := func(method, path, codes string) error {
		m := Monitor{Type: TypeHTTP, Timeout: time.Second, HTTPMethod: method, URLPath: path, ExpectedCodes: codes}
		return m.Probe(context.Background(), target)
	}
	if err := probe("", "/ok", ""); err != nil {
		t.Fatalf("GET /ok expecting 200: %v", err)
	}
	if err := probe("HEAD", "/ok", "200"); err == nil {
		t.Fatal("HEAD /ok answers 204, expected 200, but probed up")
	}
	if err := probe("HEAD", "/ok", "200-204"); err != nil {
		t.Fatalf("HEAD /ok expecting 200-204: %v", err)
	}
	if err := probe("GET", "/down", "200,202"); err == nil {
		t.Fatal("503 probed up")
	}
}

func TestCheckerFlipsDownAndUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := addrOf(t, ln.Addr())
	// The member listens on another port; the monitor port is the one probed.
	member := netip.AddrPortFrom(target.Addr(), 1)
	m := Monitor{Type: TypeTCP, Delay: 20 * time.Millisecond, Timeout: 200 * time.Millisecond, MaxRetries: 2, MaxRetriesDown: 2, Port: int(target.Port())}
	flips := make(chan bool, 10)
	c := Start(m, member, func(up bool, _ error) { flips <- up })
	defer c.Stop()
	ln.Close()
	if up := waitFlip(t, flips); up {
		t.Fatal("first flip was up, want down")
	}
	if up, err := c.Up(); up || err == nil {
		t.Fatalf("Up() = %v, %v after going down", up, err)
	}
	ln2, err := net.Listen("tcp", target.String())
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	if up := waitFlip(t, flips); !up {
		t.Fatal("second flip was down, want up")
	}
}

func waitFlip(t *testing.T, flips chan bool) bool {
	t.Helper()
	select {
	case up := <-flips:
		return up
	case <-time.After(10 * time.Second):
		t.Fatal("no state change within 10s")
		return false
	}
}
