package store

import (
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/config"
)

var (
	v3 = Scope{Family: FamilyV3, ProjectID: "p1"}
	v2 = Scope{Family: FamilyV2, ProjectID: "p1"}
)

func testNet() *config.Network {
	return config.NewNetwork(
		config.Subnet{ID: "s1", VPCID: "vpc-a", Prefix: netip.MustParsePrefix("127.10.1.0/24")},
		config.Subnet{ID: "s2", VPCID: "vpc-b", Prefix: netip.MustParsePrefix("127.20.1.0/24")},
	)
}

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, testNet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func wantCode(t *testing.T, err error, status int, fragment string) {
	t.Helper()
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Status != status || !strings.Contains(ae.Msg, fragment) {
		t.Fatalf("got %v; want %d mentioning %q", err, status, fragment)
	}
}

func TestFamiliesAreSeparateAndSnapshotHoldsBoth(t *testing.T) {
	s := open(t, t.TempDir())
	ded, err := s.CreateLoadBalancer(v3, LoadBalancer{Name: "d", VIPSubnetID: "s1", IPTargetEnable: true})
	if err != nil {
		t.Fatal(err)
	}
	sh, err := s.CreateLoadBalancer(v2, LoadBalancer{Name: "s", VIPSubnetID: "s1", IPTargetEnable: true})
	if err != nil {
		t.Fatal(err)
	}
	if !ded.Guaranteed() || sh.Guaranteed() || sh.IPTargetEnable || sh.VIPAddress == ded.VIPAddress {
		t.Fatalf("dedicated %+v shared %+v", ded, sh)
	}
	if _, err := s.GetLoadBalancer(v3, sh.ID); err == nil {
		t.Fatal("v3 scope sees the shared LB")
	}
	if _, err := s.CreateListener(v3, Listener{LoadBalancerID: sh.ID, Protocol: ProtocolTCP, ProtocolPort: 80}); err == nil {
		t.Fatal("v3 scope created a listener on the shared LB")
	}
	if _, err := s.GetLoadBalancer(Scope{Family: FamilyV2, ProjectID: "p2"}, sh.ID); err == nil {
		t.Fatal("another project sees the LB")
	}
	p2, err := s.CreatePool(v2, Pool{LoadBalancerID: sh.ID, Protocol: ProtocolTCP, LBAlgorithm: AlgRoundRobin}, "")
	if err != nil {
		t.Fatal(err)
	}
	// v2 members need a subnet; v2 pools have no type; TERMINATED_HTTPS is a v2 listener protocol.
	_, err = s.CreateMember(v2, p2.ID, Member{Address: "10.0.0.1", ProtocolPort: 80, Weight: 1})
	wantCode(t, err, 400, "subnet_id is required")
	_, err = s.CreatePool(v2, Pool{LoadBalancerID: sh.ID, Protocol: ProtocolTCP, LBAlgorithm: AlgRoundRobin, Type: PoolTypeIP}, "")
	wantCode(t, err, 400, "leave it empty")
	if _, err := s.CreateListener(v2, Listener{LoadBalancerID: sh.ID, Protocol: ProtocolTerminatedHTTPS, ProtocolPort: 443}); err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateListener(v3, Listener{LoadBalancerID: ded.ID, Protocol: ProtocolTerminatedHTTPS, ProtocolPort: 443})
	wantCode(t, err, 400, "TERMINATED_HTTPS")
	if _, err := s.CreateMember(v2, p2.ID, Member{Address: "127.10.1.9", ProtocolPort: 80, Weight: 3, SubnetID: "s1"}); err != nil {
		t.Fatal(err)
	}

	snap, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.LoadBalancers) != 2 || snap.LoadBalancers[0].ID != ded.ID || len(snap.Pools) != 1 || len(snap.Members) != 1 ||
		snap.Members[0].LoadBalancerID != sh.ID || len(snap.Listeners) != 1 {
		t.Errorf("snapshot %+v", snap)
	}
}

func TestStateSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, testNet())
	if err != nil {
		t.Fatal(err)
	}
	lb, _ := s.CreateLoadBalancer(v3, LoadBalancer{VIPSubnetID: "s2"})
	p, err := s.CreatePool(v3, Pool{LoadBalancerID: lb.ID, Protocol: ProtocolUDP, LBAlgorithm: AlgSourceIP}, "")
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.CreateMember(v3, p.ID, Member{Address: "127.20.1.7", ProtocolPort: 53, Weight: 9, SubnetID: "s2"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	got, err := s.GetMember(v3, "", m.ID)
	if err != nil || got.Weight != 9 || got.PoolID != p.ID || got.LoadBalancerID != lb.ID || !got.CreatedAt.Equal(m.CreatedAt) {
		t.Fatalf("member after reopen: %v %+v", err, got)
	}
	// The address index is rebuilt: the same address and port is still a conflict, and can be
	// deleted by address.
	_, err = s.CreateMember(v3, p.ID, Member{Address: "127.20.1.7", ProtocolPort: 53, Weight: 1, SubnetID: "s2"})
	wantCode(t, err, 409, "already has member "+m.ID)
	ids, err := s.BatchDeleteMembers(v3, p.ID, []MemberRef{{Address: "127.20.1.7", ProtocolPort: 53}})
	if err != nil || len(ids) != 1 || ids[0] != (BatchDeleteResult{ID: m.ID}) {
		t.Fatalf("delete by address after reopen: %v %v", err, ids)
	}
}

func TestConcurrentWritersKeepRules(t *testing.T) {
	s := open(t, t.TempDir())
	lb, _ := s.CreateLoadBalancer(v3, LoadBalancer{VIPSubnetID: "s1"})
	// 8 writers race to create the same listener port and the same member: exactly one wins each.
	p, _ := s.CreatePool(v3, Pool{LoadBalancerID: lb.ID, Protocol: ProtocolTCP, LBAlgorithm: AlgRoundRobin}, "")
	var wg sync.WaitGroup
	var mu sync.Mutex
	okL, okM := 0, 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errL := s.CreateListener(v3, Listener{LoadBalancerID: lb.ID, Protocol: ProtocolTCP, ProtocolPort: 80})
			_, errM := s.CreateMember(v3, p.ID, Member{Address: "127.10.1.5", ProtocolPort: 80, Weight: 1, SubnetID: "s1"})
			mu.Lock()
			defer mu.Unlock()
			if errL == nil {
				okL++
			}
			if errM == nil {
				okM++
			}
		}()
	}
	wg.Wait()
	if okL != 1 || okM != 1 {
		t.Fatalf("%d listeners and %d members created; want exactly one of each", okL, okM)
	}
}

func TestRules(t *testing.T) {
	for _, c := range []struct {
		l, p string
		ok   bool
	}{{"TCP", "TCP", true}, {"TCP", "UDP", false}, {"TCP", "HTTP", false}, {"UDP", "UDP", true}, {"UDP", "QUIC", true},
		{"HTTP", "HTTP", true}, {"HTTP", "TCP", false}, {"HTTPS", "HTTP", true}, {"HTTPS", "HTTPS", true}, {"TERMINATED_HTTPS", "HTTP", true}, {"QUIC", "UDP", true}} {
		if PoolFitsListener(c.l, c.p) != c.ok {
			t.Errorf("PoolFitsListener(%s, %s) = %v", c.l, c.p, !c.ok)
		}
	}
	for codes, ok := range map[string]bool{"200": true, "200,202": true, "200-204": true, "200-204,301,404-405": true,
		"": false, "199": false, "600": false, "204-200": false, "2xx": false, "200,": false} {
		if (CheckExpectedCodes(codes) == nil) != ok {
			t.Errorf("CheckExpectedCodes(%q) ok=%v", codes, !ok)
		}
	}
	for w, ok := range map[int]bool{-1: false, 0: true, 1: true, 100: true, 101: false} {
		if (CheckWeight(w) == nil) != ok {
			t.Errorf("CheckWeight(%d) ok=%v", w, !ok)
		}
	}
	// A listener on another LB, or the listener itself, never conflicts.
	l := Listener{Meta: Meta{ID: "a"}, LoadBalancerID: "lb1", Protocol: ProtocolTCP, ProtocolPort: 80}
	if err := CheckListenerPortFree(l, []Listener{l, {Meta: Meta{ID: "b"}, LoadBalancerID: "lb2", Protocol: ProtocolTCP, ProtocolPort: 80}}); err != nil {
		t.Error(err)
	}
}

func TestVIPAllocationAvoidsMemberAddresses(t *testing.T) {
	s := open(t, t.TempDir())
	lb, _ := s.CreateLoadBalancer(v3, LoadBalancer{VIPSubnetID: "s1", IPTargetEnable: true})
	p, err := s.CreatePool(v3, Pool{LoadBalancerID: lb.ID, Protocol: ProtocolTCP, LBAlgorithm: AlgRoundRobin}, "")
	if err != nil {
		t.Fatal(err)
	}
	// The next VIP skips an address a member already uses.
	if _, err := s.CreateMember(v3, p.ID, Member{Address: "127.10.1.3", ProtocolPort: 80, Weight: 1, SubnetID: "s1"}); err != nil {
		t.Fatal(err)
	}
	next, err := s.CreateLoadBalancer(v3, LoadBalancer{VIPSubnetID: "s1"})
	if err != nil || next.VIPAddress != "127.10.1.4" {
		t.Fatalf("next VIP %q (%v), want 127.10.1.4 (127.10.1.2 is a VIP, .3 a member)", next.VIPAddress, err)
	}
	_, err = s.CreateLoadBalancer(v3, LoadBalancer{VIPSubnetID: "s1", VIPAddress: "127.10.1.3"})
	wantCode(t, err, 409, "address of a backend member")
}
