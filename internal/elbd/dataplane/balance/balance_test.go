package balance

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"testing"
)

func members(weights ...int) []Member {
	ms := make([]Member, len(weights))
	for i, w := range weights {
		ms[i] = Member{Key: fmt.Sprintf("member-%d", i), Weight: w, Active: new(atomic.Int64)}
	}
	return ms
}

func TestRoundRobinEveryWindowGetsExactWeights(t *testing.T) {
	for _, weights := range [][]int{{80, 20}, {50, 30, 20}, {1}, {3, 3, 3}, {7, 1, 100, 13}, {4, 6}} {
		t.Run(fmt.Sprint(weights), func(t *testing.T) {
			p, err := New(RoundRobin, members(weights...))
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for _, w := range weights {
				total += w
			}
			picks := make([]int, 3*total)
			for k := range picks {
				picks[k] = p.Pick(0, nil)
			}
			// Every window of Σweights consecutive picks, at any offset.
			for off := 0; off+total <= len(picks); off++ {
				got := make([]int, len(weights))
				for _, i := range picks[off : off+total] {
					got[i]++
				}
				for i, w := range weights {
					if got[i] != w {
						t.Fatalf("window at %d: member %d got %d picks, want %d (all: %v)", off, i, got[i], w, got)
					}
				}
			}
		})
	}
}

func TestRoundRobinIsSmooth(t *testing.T) {
	// 5:1:1 must interleave (a a b a c a a), never five a's in a row.
	p, _ := New(RoundRobin, members(5, 1, 1))
	run := 0
	for k := 0; k < 70; k++ {
		if p.Pick(0, nil) == 0 {
			run++
			if run >= 5 {
				t.Fatalf("member 0 picked %d times in a row; smooth round robin interleaves", run)
			}
		} else {
			run = 0
		}
	}
}

func TestRoundRobinLiveMatchesSequence(t *testing.T) {
	ms := members(7, 3, 2)
	seq := newRoundRobin(ms)
	live := &liveRoundRobin{weights: []int{7, 3, 2}, current: make([]int, 3), total: 12}
	for k := 0; k < 100; k++ {
		if a, b := seq.Pick(0, nil), live.Pick(0, nil); a != b {
			t.Fatalf("pick %d: sequence %d, live %d", k, a, b)
		}
	}
}

func TestTriedMembersAreSkipped(t *testing.T) {
	for _, alg := range []string{RoundRobin, LeastConnections, SourceIP} {
		t.Run(alg, func(t *testing.T) {
			p, _ := New(alg, members(10, 10, 10))
			for k := 0; k < 50; k++ {
				key := uint64(k) * 7919
				if got := p.Pick(key, []int{0, 2}); got != 1 {
					t.Fatalf("with members 0 and 2 tried, picked %d, want 1", got)
				}
				if got := p.Pick(key, []int{0, 1, 2}); got != -1 {
					t.Fatalf("with every member tried, picked %d, want -1", got)
				}
			}
		})
	}
}

func TestEmptyPoolPicksNothing(t *testing.T) {
	for _, alg := range []string{RoundRobin, LeastConnections, SourceIP} {
		p, err := New(alg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Pick(1, nil); got != -1 {
			t.Fatalf("%s on an empty pool picked %d", alg, got)
		}
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	if _, err := New("RANDOM", members(1)); err == nil {
		t.Fatal("unknown algorithm accepted")
	}
	if _, err := New(RoundRobin, members(1, 0)); err == nil {
		t.Fatal("weight 0 accepted")
	}
}

func TestLeastConnectionsIsWeighted(t *testing.T) {
	ms := members(3, 1)
	p, _ := New(LeastConnections, ms)
	// Open 400 connections that never close: the 3:1 weights must give 300:100.
	for k := 0; k < 400; k++ {
		i := p.Pick(0, nil)
		ms[i].Active.Add(1)
	}
	if a, b := ms[0].Active.Load(), ms[1].Active.Load(); a != 300 || b != 100 {
		t.Fatalf("active connections %d:%d, want 300:100", a, b)
	}
	// A member that lost its connections gets the next ones.
	ms[1].Active.Store(0)
	for k := 0; k < 50; k++ {
		if i := p.Pick(0, nil); i != 1 {
			t.Fatalf("pick %d went to member %d, want the idle member 1", k, i)
		}
		ms[1].Active.Add(1)
	}
}

func clientKey(k int) uint64 {
	var b [16]byte
	binary.BigEndian.PutUint32(b[12:], uint32(0x0a000000+k))
	return HashBytes(b[:])
}

// E6a: with SOURCE_IP, weights other than 0 have no effect (model_create_pool_option.go
// lb_algorithm): members of weights 50, 30 and 20 get a third of the sources each.
func TestSourceIPIsStickyEqualAndMovesFew(t *testing.T) {
	const clients = 20000
	ms := members(50, 30, 20)
	p, _ := New(SourceIP, ms)
	before := make([]int, clients)
	counts := make([]int, 3)
	for k := range before {
		before[k] = p.Pick(clientKey(k), nil)
		counts[before[k]]++
		if again := p.Pick(clientKey(k), nil); again != before[k] {
			t.Fatalf("client %d moved from %d to %d without a change", k, before[k], again)
		}
	}
	for i, w := range []int{50, 30, 20} {
		share := 100 * float64(counts[i]) / clients
		if share < 100.0/3-2 || share > 100.0/3+2 {
			t.Fatalf("member %d (weight %d) got %.1f%% of clients, want 33.3%% ± 2: weights do not count with SOURCE_IP", i, w, share)
		}
	}
	// Add a fourth member (of weight 1): about a quarter of the clients move,
	// and every client that moves goes to the new member.
	ms2 := append(members(50, 30, 20), Member{Key: "member-new", Weight: 1})
	p2, _ := New(SourceIP, ms2)
	moved := 0
	for k := range before {
		after := p2.Pick(clientKey(k), nil)
		if after != before[k] {
			moved++
			if after != 3 {
				t.Fatalf("client %d moved from %d to old member %d", k, before[k], after)
			}
		}
	}
	if share := 100 * float64(moved) / clients; share < 23 || share > 27 {
		t.Fatalf("%.1f%% of clients moved after adding a fourth member, want about 25%%", share)
	}
	// Removing member 2: only its clients move.
	p3, _ := New(SourceIP, members(50, 30))
	for k := range before {
		if after := p3.Pick(clientKey(k), nil); before[k] != 2 && after != before[k] {
			t.Fatalf("client %d of member %d moved to %d though its member stayed", k, before[k], after)
		}
	}
}

func BenchmarkPick(b *testing.B) {
	for _, alg := range []string{RoundRobin, LeastConnections, SourceIP} {
		b.Run(alg, func(b *testing.B) {
			p, _ := New(alg, members(50, 30, 20, 10, 5))
			b.RunParallel(func(pb *testing.PB) {
				k := uint64(0)
				for pb.Next() {
					k++
					p.Pick(k, nil)
				}
			})
		})
	}
}
