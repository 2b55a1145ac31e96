package dataplane

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// E7: connection drain (connection_drain, services/elb/v3/model/model_connection_drain.go; the
// user guide's "deregistration delay": a removed or unhealthy member's established connections
// carry on for the timeout, then ELB closes them). The API takes 10-4000 s; the data plane takes
// any duration, so these tests use a short one.

// conn is one client connection through the listener, opened and kept.
type conn struct {
	c      net.Conn
	r      *bufio.Reader
	member string
}

func openConn(t *testing.T, addr string) *conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	name, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the member's name: %v", err)
	}
	return &conn{c: c, r: r, member: strings.TrimSpace(name)}
}

// alive reports whether the connection still carries data both ways (the member echoes).
func (c *conn) alive() error {
	_ = c.c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := fmt.Fprintf(c.c, "ping\n"); err != nil {
		return err
	}
	line, err := c.r.ReadString('\n')
	if err != nil {
		return err
	}
	if line != "ping\n" {
		return fmt.Errorf("echo %q", line)
	}
	return nil
}

// twoConns opens connections until it has one to each of m0 and m1.
func twoConns(t *testing.T, addr string) map[string]*conn {
	t.Helper()
	got := map[string]*conn{}
	for i := 0; i < 20 && len(got) < 2; i++ {
		c := openConn(t, addr)
		if got[c.member] == nil {
			got[c.member] = c
		}
	}
	if len(got) != 2 {
		t.Fatalf("connections reached %v, want both members", got)
	}
	return got
}

func TestConnectionDrainOfARemovedMember(t *testing.T) {
	const drain = 1500 * time.Millisecond
	for _, withDrain := range []bool{true, false} {
		t.Run(fmt.Sprintf("drain=%v", withDrain), func(t *testing.T) {
			dp := newTestDataPlane(t)
			vip := 201
			if !withDrain {
				vip = 202
			}
			pool, _ := tcpPool(t, vip, "ROUND_ROBIN", 1, 1)
			if withDrain {
				pool.Drain = drain
			}
			l := tcpListener("l", vip, pool)
			apply(t, dp, Config{Listeners: []Listener{l}})
			addr := fmt.Sprintf("127.50.0.%d:8080", vip)
			conns := twoConns(t, addr)

			// m0 leaves the pool: new connections go to m1 only, m0's connection carries on.
			kept := *pool
			kept.Members = pool.Members[1:]
			l.Pool = &kept
			apply(t, dp, Config{Listeners: []Listener{l}})
			removedAt := time.Now()
			for i := 0; i < 10; i++ {
				if c := openConn(t, addr); c.member != "m1" {
					t.Fatalf("a new connection went to %s after m0 was removed", c.member)
				}
			}
			if err := conns["m0"].alive(); err != nil {
				t.Fatalf("the removed member's connection broke at once: %v", err)
			}
			// It is kept up to the timeout...
			time.Sleep(drain - 500*time.Millisecond - time.Since(removedAt))
			if err := conns["m0"].alive(); err != nil {
				t.Fatalf("the removed member's connection broke %s after removal, before the %s drain: %v", time.Since(removedAt).Round(time.Millisecond), drain, err)
			}
			// ...and closed after it.
			time.Sleep(drain + time.Second - time.Since(removedAt))
			err := conns["m0"].alive()
			switch {
			case withDrain && err == nil:
				t.Fatalf("the removed member's connection is still up %s after the %s drain", time.Since(removedAt).Round(time.Millisecond), drain)
			case !withDrain && err != nil:
				t.Fatalf("without drain, the removed member's connection was cut: %v", err)
			}
			if err := conns["m1"].alive(); err != nil {
				t.Fatalf("the kept member's connection was cut: %v", err)
			}
		})
	}
}

func TestConnectionDrainOfAnUnhealthyMember(t *testing.T) {
	const drain = 1500 * time.Millisecond
	dp := newTestDataPlane(t)
	_, bs := checkedPool(t, dp, 203, 1, drain, 1, 1)
	conns := twoConns(t, "127.50.0.203:8080")

	// m0 stops accepting: its health check fails, its established connection still works.
	bs[0].stopListening()
	eventually(t, 5*time.Second, "m0 OFFLINE", func() bool { return dp.MemberStatus("m0") == StatusOffline })
	downAt := time.Now()
	if err := conns["m0"].alive(); err != nil {
		t.Fatalf("the unhealthy member's connection broke before the drain timeout: %v", err)
	}
	if c := openConn(t, "127.50.0.203:8080"); c.member != "m1" {
		t.Fatalf("a new connection went to the unhealthy member %s", c.member)
	}
	time.Sleep(drain + time.Second - time.Since(downAt))
	if err := conns["m0"].alive(); err == nil {
		t.Fatalf("the unhealthy member's connection is still up %s after it went down (drain %s)", time.Since(downAt).Round(time.Millisecond), drain)
	}
	if err := conns["m1"].alive(); err != nil {
		t.Fatalf("the healthy member's connection was cut: %v", err)
	}
}

// E7 for UDP: a client's flow to a removed member carries on for the drain timeout, then its
// datagrams go to another member; without drain the flow stays until it idles out.
func TestConnectionDrainOfAUDPFlow(t *testing.T) {
	const drain = 1500 * time.Millisecond
	for i, withDrain := range []bool{true, false} {
		t.Run(fmt.Sprintf("drain=%v", withDrain), func(t *testing.T) {
			dp := newTestDataPlane(t)
			vip := 204 + i
			pool := udpPool(t, vip, 1, 1)
			if withDrain {
				pool.Drain = drain
			}
			l := Listener{ID: "u", VIP: fmt.Sprintf("127.50.0.%d", vip), Port: 5353, Protocol: ProtocolUDP, Pool: pool}
			apply(t, dp, Config{Listeners: []Listener{l}})
			c, err := net.Dial("udp", fmt.Sprintf("127.50.0.%d:5353", vip))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ask := func() string {
				t.Helper()
				buf := make([]byte, 100)
				for try := 0; try < 5; try++ {
					_ = c.SetDeadline(time.Now().Add(time.Second))
					if _, err := c.Write([]byte("x")); err != nil {
						t.Fatal(err)
					}
					if n, err := c.Read(buf); err == nil {
						name, _, _ := strings.Cut(string(buf[:n]), ":")
						return name
					}
				}
				t.Fatal("no answer after 5 tries")
				return ""
			}
			first := ask()
			kept := *pool
			kept.Members = nil
			for _, m := range pool.Members {
				if m.ID != first {
					kept.Members = append(kept.Members, m)
				}
			}
			l.Pool = &kept
			apply(t, dp, Config{Listeners: []Listener{l}})
			removedAt := time.Now()
			if got := ask(); got != first {
				t.Fatalf("right after %s was removed the flow went to %s", first, got)
			}
			time.Sleep(drain - 500*time.Millisecond - time.Since(removedAt))
			if got := ask(); got != first {
				t.Fatalf("before the drain timeout the flow went to %s, not the removed %s", got, first)
			}
			time.Sleep(drain + 500*time.Millisecond - time.Since(removedAt))
			got := ask()
			switch {
			case withDrain && got == first:
				t.Fatalf("after the %s drain the flow still goes to the removed member %s", drain, first)
			case !withDrain && got != first:
				t.Fatalf("without drain the flow left the removed member %s for %s before idling out", first, got)
			}
		})
	}
}
