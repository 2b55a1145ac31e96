package store

import (
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"testing"
)

// TestIndexesAnswerAsScans (F13): after creates, rebinds, updates and deletes in two projects and
// both families, every indexed read gives what a scan of all records filtered the same way gives;
// and again after a reopen, which rebuilds the indexes from the records.
func TestIndexesAnswerAsScans(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, testNet())
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	other := Scope{Family: FamilyV3, ProjectID: "p2"}
	scopes := []Scope{v3, v2, other}
	var lbs []LoadBalancer
	for _, sc := range scopes {
		for range 2 {
			lb, err := s.CreateLoadBalancer(sc, LoadBalancer{VIPSubnetID: "s1", IPTargetEnable: true})
			if err != nil {
				t.Fatal(err)
			}
			lbs = append(lbs, lb)
		}
	}
	scopeOf := func(lb LoadBalancer) Scope { return Scope{Family: lb.Family, ProjectID: lb.ProjectID} }
	addrs := []string{"127.10.1.10", "127.10.1.11", "127.10.1.12", "127.10.1.13"}
	var pools []Pool
	for i, lb := range lbs {
		sc := scopeOf(lb)
		for port := 80; port < 84; port++ {
			l, err := s.CreateListener(sc, Listener{LoadBalancerID: lb.ID, Protocol: ProtocolTCP, ProtocolPort: port})
			if err != nil {
				t.Fatal(err)
			}
			if port == 83 {
				// a UDP listener shares the port; and one listener stays without a pool
				if _, err := s.CreateListener(sc, Listener{LoadBalancerID: lb.ID, Protocol: ProtocolUDP, ProtocolPort: port}); err != nil {
					t.Fatal(err)
				}
				continue
			}
			p, err := s.CreatePool(sc, Pool{Protocol: ProtocolTCP, LBAlgorithm: AlgRoundRobin}, l.ID)
			if err != nil {
				t.Fatal(err)
			}
			pools = append(pools, p)
			for j, a := range addrs {
				if (i+j+port)%3 == 0 {
					continue
				}
				if _, err := s.CreateMember(sc, p.ID, Member{Address: a, ProtocolPort: 8000 + j, Weight: 1, SubnetID: "s1"}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	// Changes: members deleted and re-weighted, a pool unbound from its listener and bound to
	// another, a pool deleted, a listener force-deleted, tags written (an update of the record).
	for _, p := range pools[:6] {
		sc := Scope{Family: p.Family, ProjectID: p.ProjectID}
		ms, err := s.ListMembers(sc, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) > 0 {
			m := ms[0] // the first is re-weighted below when there are more
			if len(ms) > 1 {
				m = ms[1+rng.Intn(len(ms)-1)]
			}
			if err := s.DeleteMember(sc, p.ID, m.ID); err != nil {
				t.Fatal(err)
			}
		}
		if len(ms) > 1 {
			if _, err := s.UpdateMember(sc, p.ID, ms[0].ID, func(m *Member) error { m.Weight = 7; return nil }); err != nil {
				t.Fatal(err)
			}
		}
	}
	lid, err := s.PoolListenerID(v3, pools[0].ID)
	if err != nil || lid == "" {
		t.Fatalf("pool %s serves %q (%v)", pools[0].ID, lid, err)
	}
	if _, err := s.UpdateListener(v3, lid, func(l *Listener) error { l.DefaultPoolID = ""; return nil }); err != nil {
		t.Fatal(err)
	}
	free, err := s.CreateListener(v3, Listener{LoadBalancerID: pools[0].LoadBalancerID, Protocol: ProtocolTCP, ProtocolPort: 90})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateListener(v3, free.ID, func(l *Listener) error {
		l.DefaultPoolID, l.Tags = pools[0].ID, []Tag{{Key: "k", Value: "v"}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The pool is bound again: a third listener cannot take it.
	_, err = s.UpdateListener(v3, lid, func(l *Listener) error { l.DefaultPoolID = pools[0].ID; return nil })
	wantCode(t, err, 409, "already the default pool of listener "+free.ID)
	if err := s.DeletePoolCascade(v3, pools[1].ID); err != nil {
		t.Fatal(err)
	}
	lid2, _ := s.PoolListenerID(v3, pools[2].ID)
	if err := s.DeleteListenerCascade(v3, lid2); err != nil {
		t.Fatal(err)
	}
	// A port taken: the port index finds the listener there.
	_, err = s.CreateListener(v3, Listener{LoadBalancerID: pools[0].LoadBalancerID, Protocol: ProtocolTCP, ProtocolPort: 90})
	wantCode(t, err, 409, "already has a TCP listener on port 90")

	compare := func(stage string) {
		t.Helper()
		for _, sc := range append(scopes, Scope{Family: FamilyV2, ProjectID: "p2"}) {
			all, err := s.ListAllMembers(sc)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range append(addrs, "127.10.1.99") {
				got, err := s.MembersAt(sc, []string{a})
				if err != nil {
					t.Fatal(err)
				}
				same(t, stage+" members at "+a, got, where(all, func(m Member) bool { return m.Address == a }))
			}
			got, err := s.MembersAt(sc, addrs[1:3])
			if err != nil {
				t.Fatal(err)
			}
			same(t, stage+" members at two addresses", got, where(all, func(m Member) bool { return slices.Contains(addrs[1:3], m.Address) }))
			listeners, err := s.ListListeners(sc)
			if err != nil {
				t.Fatal(err)
			}
			for _, lb := range lbs {
				got, err := s.MembersOfLoadBalancers(sc, []string{lb.ID})
				if err != nil {
					t.Fatal(err)
				}
				same(t, stage+" members of "+lb.ID, got, where(all, func(m Member) bool { return m.LoadBalancerID == lb.ID }))
				gotL, err := s.ListenersOn(sc, []string{lb.ID}, nil)
				if err != nil {
					t.Fatal(err)
				}
				same(t, stage+" listeners of "+lb.ID, gotL, where(listeners, func(l Listener) bool { return l.LoadBalancerID == lb.ID }))
				for _, ports := range [][]int{{80}, {83}, {90}, {81, 82}, {7}} {
					gotL, err := s.ListenersOn(sc, []string{lb.ID}, ports)
					if err != nil {
						t.Fatal(err)
					}
					same(t, fmt.Sprintf("%s listeners of %s on %v", stage, lb.ID, ports), gotL, where(listeners, func(l Listener) bool {
						return l.LoadBalancerID == lb.ID && slices.Contains(ports, l.ProtocolPort)
					}))
				}
			}
			ps, err := s.ListPools(sc)
			if err != nil {
				t.Fatal(err)
			}
			for _, lb := range lbs {
				if scopeOf(lb) != sc {
					continue
				}
				gotL, gotP, err := s.LoadBalancerChildren(lb.ID)
				if err != nil {
					t.Fatal(err)
				}
				same(t, stage+" listener IDs of "+lb.ID, gotL, IDsWhere(listeners, func(l Listener) bool { return l.LoadBalancerID == lb.ID }))
				same(t, stage+" pool IDs of "+lb.ID, gotP, IDsWhere(ps, func(p Pool) bool { return p.LoadBalancerID == lb.ID }))
			}
			for _, p := range ps {
				got, err := s.PoolListenerID(sc, p.ID)
				if err != nil {
					t.Fatal(err)
				}
				want := ""
				for _, l := range listeners {
					if l.DefaultPoolID == p.ID {
						want = l.ID
					}
				}
				if got != want {
					t.Errorf("%s: pool %s serves listener %q by the index, %q by a scan", stage, p.ID, got, want)
				}
			}
		}
	}
	compare("before reopen")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	compare("after reopen")
}

func where[T any](xs []T, keep func(T) bool) []T {
	out := []T{}
	for _, x := range xs {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}

func same[T any](t *testing.T, what string, got, want []T) {
	t.Helper()
	if got == nil {
		got = []T{}
	}
	if want == nil {
		want = []T{}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: the index gives %d records, a scan %d:\n%+v\n%+v", what, len(got), len(want), got, want)
	}
}
