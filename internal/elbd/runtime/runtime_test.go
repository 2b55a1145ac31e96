package runtime

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fleetlb/fleetlb/internal/elbd/config"
	"github.com/fleetlb/fleetlb/internal/elbd/dataplane"
	"github.com/fleetlb/fleetlb/internal/elbd/membertest"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
	"github.com/fleetlb/fleetlb/internal/testbed/poll"
)

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	poll.True(t, 5*time.Second, what, cond)
}

// TestStoreWritesDriveTraffic goes from store writes to real traffic.
func TestStoreWritesDriveTraffic(t *testing.T) {
	net_ := config.NewNetwork(config.Subnet{ID: "subnet-1", CIDR: "127.55.0.0/16", VPCID: "vpc-1", Prefix: netip.MustParsePrefix("127.55.0.0/16")})
	st, err := store.Open(t.TempDir(), net_)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sc := store.Scope{Family: store.FamilyV3, ProjectID: "p"}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rt := New(st, dataplane.New(dataplane.Options{Logger: log}), log)
	t.Cleanup(func() { rt.Close() })

	lb, err := st.CreateLoadBalancer(sc, store.LoadBalancer{VIPSubnetID: "subnet-1", VIPAddress: "127.55.0.10", AdminStateUp: true})
	if err != nil {
		t.Fatal(err)
	}
	l, err := st.CreateListener(sc, store.Listener{LoadBalancerID: lb.ID, Protocol: "TCP", ProtocolPort: 8080, AdminStateUp: true})
	if err != nil {
		t.Fatal(err)
	}
	p, err := st.CreatePool(sc, store.Pool{LoadBalancerID: lb.ID, Protocol: "TCP", LBAlgorithm: "ROUND_ROBIN", AdminStateUp: true}, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	addMember := func(name, ip string, weight int) store.Member {
		port, _ := membertest.Serve(t, ip+":0", name)
		m, err := st.CreateMember(sc, p.ID, store.Member{Name: name, Address: ip, ProtocolPort: port, Weight: weight, AdminStateUp: true, SubnetID: "subnet-1"})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a := addMember("a", "127.55.1.1", 3)
	rt.Sync()
	vip := "127.55.0.10:8080"
	eventually(t, "listener serves member a", func() bool { n, err := membertest.Ask(vip); return err == nil && n == "a" })
	if s := rt.ListenerStatus(l.ID); s != "ONLINE" {
		t.Fatalf("listener status %q, want ONLINE", s)
	}
	if s := rt.MemberStatus(a.ID); s != "NO_MONITOR" {
		t.Fatalf("member status %q, want NO_MONITOR", s)
	}

	b := addMember("b", "127.55.1.2", 1)
	rt.Sync()
	eventually(t, "member b gets traffic", func() bool { n, err := membertest.Ask(vip); return err == nil && n == "b" })
	counts := map[string]int{}
	for i := 0; i < 400; i++ {
		n, err := membertest.Ask(vip)
		if err != nil {
			t.Fatal(err)
		}
		counts[n]++
	}
	if counts["a"] != 300 || counts["b"] != 100 {
		t.Fatalf("weights 3:1 split 400 connections %v", counts)
	}
	if got := rt.MemberCounters(b.ID).TotalConnections; got < 100 {
		t.Fatalf("member b counters show %d connections, want ≥ 100", got)
	}

	// A health monitor on a port where nothing listens takes both members down.
	if _, err := st.CreateHealthMonitor(sc, store.HealthMonitor{PoolID: p.ID, Type: "TCP", Delay: 1, Timeout: 1, MaxRetries: 1, MaxRetriesDown: 1, MonitorPort: 1, AdminStateUp: true}); err != nil {
		t.Fatal(err)
	}
	rt.Sync()
	eventually(t, "members OFFLINE", func() bool { return rt.MemberStatus(a.ID) == "OFFLINE" && rt.MemberStatus(b.ID) == "OFFLINE" })

	// Metrics are served.
	srv := httptest.NewServer(rt.MetricsHandler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := fmt.Sprintf(`elbd_member_connections_total{address="127.55.1.2:%d",member="%s",pool="%s"}`, b.ProtocolPort, b.ID, p.ID)
	if !strings.Contains(string(body), want) {
		t.Fatalf("metrics lack %s:\n%s", want, body)
	}
}

// TestSyncIsCoalescedAndNonBlocking: a burst of Syncs never blocks the caller.
func TestSyncIsCoalescedAndNonBlocking(t *testing.T) {
	src := &countingSource{}
	rt := New(src, dataplane.New(dataplane.Options{}), slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer rt.Close()
	for i := 0; i < 10000; i++ {
		rt.Sync()
	}
	eventually(t, "the last Sync is applied", func() bool {
		src.mu.Lock()
		defer src.mu.Unlock()
		return src.n >= 2
	})
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.n > 100 {
		t.Fatalf("10000 Syncs caused %d snapshots; they should coalesce", src.n)
	}
}

type countingSource struct {
	mu sync.Mutex
	n  int
}

func (c *countingSource) Snapshot() (store.Snapshot, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	time.Sleep(time.Millisecond)
	return store.Snapshot{}, nil
}

func TestUnservedListenerIsOffline(t *testing.T) {
	src := staticSource{snap: store.Snapshot{
		LoadBalancers: []store.LoadBalancer{{Meta: store.Meta{ID: "lb"}, VIPAddress: "127.55.2.1", AdminStateUp: true}},
		Listeners:     []store.Listener{{Meta: store.Meta{ID: "tls"}, LoadBalancerID: "lb", Protocol: "HTTPS", ProtocolPort: 443, AdminStateUp: true}},
	}}
	rt := New(src, dataplane.New(dataplane.Options{}), slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer rt.Close()
	if s := rt.ListenerStatus("tls"); s != "OFFLINE" {
		t.Fatalf("HTTPS listener status %q, want OFFLINE", s)
	}
	if err := rt.ListenerError("tls"); err == nil || !strings.Contains(err.Error(), "HTTPS") {
		t.Fatalf("ListenerError = %v, want a reason naming HTTPS", err)
	}
}

type staticSource struct{ snap store.Snapshot }

func (s staticSource) Snapshot() (store.Snapshot, error) { return s.snap, nil }

// TestTakenPortComesOnlineWhenFreed: a listener whose port is taken is
// OFFLINE, and becomes ONLINE by itself once the port is free.
func TestTakenPortComesOnlineWhenFreed(t *testing.T) {
	old := retryInterval
	retryInterval = 50 * time.Millisecond
	defer func() { retryInterval = old }()
	busy, err := net.Listen("tcp", "127.55.3.1:8080")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	src := staticSource{snap: store.Snapshot{
		LoadBalancers: []store.LoadBalancer{{Meta: store.Meta{ID: "lb"}, VIPAddress: "127.55.3.1", AdminStateUp: true}},
		Listeners:     []store.Listener{{Meta: store.Meta{ID: "l"}, LoadBalancerID: "lb", Protocol: "TCP", ProtocolPort: 8080, AdminStateUp: true}},
	}}
	rt := New(src, dataplane.New(dataplane.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}), slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer rt.Close()
	if s := rt.ListenerStatus("l"); s != "OFFLINE" {
		t.Fatalf("listener on a taken port: status %q, want OFFLINE", s)
	}
	if err := rt.ListenerError("l"); err == nil || !strings.Contains(err.Error(), "127.55.3.1:8080") {
		t.Fatalf("ListenerError = %v, want one naming 127.55.3.1:8080", err)
	}
	busy.Close()
	eventually(t, "listener ONLINE after the port was freed", func() bool { return rt.ListenerStatus("l") == "ONLINE" })
}
