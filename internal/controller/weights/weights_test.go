package weights

import (
	"math/big"
	"reflect"
	"testing"

	"github.com/fleetlb/fleetlb/internal/common/elbrules"
)

func TestPassThroughTable(t *testing.T) {
	cases := []struct{ w, n, each, sum int }{
		{80, 2, 40, 80},
		{20, 2, 10, 20},
		{80, 3, 27, 81}, // 26.67 -> 27
		{20, 50, 1, 50}, // the distortion of the issue: W=20 over 50 pods sums to 50
		{100, 1, 100, 100},
		{100, 7, 15, 105}, // 14.29 -> 15
		{0, 5, 0, 0},      // W=0 drains: members stay with weight 0
		{1, 100, 1, 100},
		{33, 3, 11, 33},
	}
	for _, c := range cases {
		each, err := PassThrough(c.w, c.n)
		if err != nil {
			t.Fatalf("PassThrough(%d,%d): %v", c.w, c.n, err)
		}
		if each != c.each || each*c.n != c.sum {
			t.Errorf("W=%d over %d pods: each %d (sum %d), want each %d (sum %d)", c.w, c.n, each, each*c.n, c.each, c.sum)
		}
	}
}

func TestNodeTable(t *testing.T) {
	cases := []struct {
		name    string
		w       int
		podsPer []int
		want    []int
	}{
		{"even", 80, []int{2, 2}, []int{40, 40}},
		{"uneven 3 pods", 80, []int{2, 1}, []int{54, 27}}, // 53.33->54, 26.67->27
		{"one node all pods", 20, []int{5}, []int{20}},
		{"W=20 over 50 pods on 3 nodes", 20, []int{25, 24, 1}, []int{10, 10, 1}}, // 10, 9.6->10, 0.4->1
		{"drain", 0, []int{3, 1}, []int{0, 0}},
		{"exact thirds", 30, []int{1, 1, 1}, []int{10, 10, 10}},
		{"100 over 3 nodes", 100, []int{1, 1, 1}, []int{34, 34, 34}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := 0
			for _, k := range c.podsPer {
				n += k
			}
			got, err := Spread(c.w, c.podsPer, n)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
			for i, k := range c.podsPer {
				one, err := Node(c.w, k, n)
				if err != nil || one != c.want[i] {
					t.Errorf("Node(%d,%d,%d) = %d,%v want %d", c.w, k, n, one, err, c.want[i])
				}
			}
		})
	}
}

func TestSpreadRefusesBadInput(t *testing.T) {
	bad := []struct {
		w       int
		podsPer []int
		n       int
	}{
		{101, []int{1}, 1},
		{-1, []int{1}, 1},
		{50, []int{1}, 0},
		{50, []int{3}, 2},
		{50, []int{-1}, 2},
	}
	for _, b := range bad {
		if _, err := Spread(b.w, b.podsPer, b.n); err == nil {
			t.Errorf("Spread(%d,%v,%d) should fail", b.w, b.podsPer, b.n)
		}
	}
	if got, err := Spread(50, nil, 0); err != nil || got != nil {
		t.Errorf("no pods, no backends: got %v, %v", got, err)
	}
}

func TestReport(t *testing.T) {
	cases := []struct {
		w       int
		weights []int
		want    Share
	}{
		{20, repeat(1, 50), Share{20, 50, true}},
		{80, []int{40, 40}, Share{80, 80, false}},
		{0, []int{0, 0}, Share{0, 0, false}},
		{80, nil, Share{80, 0, false}},
		{80, []int{27, 27, 27}, Share{80, 81, true}},
	}
	for _, c := range cases {
		if got := Report(c.w, c.weights); got != c.want {
			t.Errorf("Report(%d, %v) = %+v, want %+v", c.w, c.weights, got, c.want)
		}
	}
	if s := (Share{20, 50, true}).String(); s != "requested weight 20, effective sum 50" {
		t.Errorf("String = %q", s)
	}
}

func repeat(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// ratCeil is ceil((w/n) × k) computed with exact rationals, the definition R2/R3 state.
func ratCeil(w, k, n int) int {
	r := new(big.Rat).Mul(big.NewRat(int64(w), int64(n)), big.NewRat(int64(k), 1))
	q, m := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	if m.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	return int(q.Int64())
}

// Every (W, k, n) in the realistic range matches the exact rational ceiling.
func TestExhaustiveSmall(t *testing.T) {
	for w := 0; w <= 100; w++ {
		for n := 1; n <= 60; n++ {
			for k := 0; k <= n; k++ {
				got, err := Node(w, k, n)
				if err != nil {
					t.Fatal(err)
				}
				if want := ratCeil(w, k, n); got != want {
					t.Fatalf("Node(%d,%d,%d) = %d, exact ceiling %d", w, k, n, got, want)
				}
			}
		}
	}
}

func FuzzSpreadEqualsRationalCeiling(f *testing.F) {
	f.Add(20, 50, 1, 3)
	f.Add(80, 3, 2, 7)
	f.Add(0, 1, 1, 1)
	f.Fuzz(func(t *testing.T, w, n, seed, nodes int) {
		w = abs(w) % (elbrules.MaxWeight + 1)
		n = abs(n)%100000 + 1
		nodes = abs(nodes)%50 + 1
		// Distribute n pods over the nodes deterministically from seed.
		podsPer := make([]int, nodes)
		left := n
		s := abs(seed)
		for i := range podsPer {
			if i == nodes-1 {
				podsPer[i] = left
				break
			}
			s = (s*1103515245 + 12345) % (1 << 31)
			podsPer[i] = s % (left + 1)
			left -= podsPer[i]
		}
		got, err := Spread(w, podsPer, n)
		if err != nil {
			t.Fatalf("Spread(%d,%v,%d): %v", w, podsPer, n, err)
		}
		sum := 0
		for i, k := range podsPer {
			if want := ratCeil(w, k, n); got[i] != want {
				t.Fatalf("backend with %d of %d pods at W=%d: %d, exact ceiling %d", k, n, w, got[i], want)
			}
			if got[i] > elbrules.MaxWeight {
				t.Fatalf("weight %d above the ELB maximum", got[i])
			}
			sum += got[i]
		}
		// Ceilings never give less than requested, and at most one extra unit per backend.
		if sum < w || sum > w+nodes {
			t.Fatalf("sum %d outside [%d, %d]", sum, w, w+nodes)
		}
	})
}

func abs(x int) int {
	if x < 0 {
		if x == -x { // math.MinInt
			return 0
		}
		return -x
	}
	return x
}
