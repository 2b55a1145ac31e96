// Package weights spreads one cluster's weight W over that cluster's backends (R2, R3) with
// exact integer ceilings, and reports when those ceilings distort the requested share.
//
// Both rules are one formula. A backend that stands for k of the cluster's n ready target Pods gets
// ceil(W × k / n): in pass-through mode (R2) every backend is one Pod (k = 1, so ceil(W / n)); in node
// mode (R3) k is the number of ready target Pods on that node. Computing ceil(W×k/n) in integers
// gives the exact rational ceiling that ceil((W/n)×k) means, with no floating-point error.
//
// Cap: an ELB member weight is at most 100. With 0 ≤ W ≤ 100 and k ≤ n, ceil(W×k/n) ≤ W ≤ 100, so
// the cap never changes a valid result; Spread refuses inputs outside those bounds instead of
// silently capping them, and clamps to elbrules.MaxWeight only as a last guard.
package weights

import (
	"fmt"

	"github.com/fleetlb/fleetlb/internal/common/elbrules"
)

// Ceil returns ceil(w × k / n) for w, k ≥ 0 and n > 0, in exact integer arithmetic.
func Ceil(w, k, n int) int {
	p := w * k
	return (p + n - 1) / n
}

// PassThrough is R2: the weight of each ready target Pod when a cluster of weight w has n of them.
func PassThrough(w, n int) (int, error) {
	ws, err := Spread(w, []int{1}, n)
	if err != nil {
		return 0, err
	}
	return ws[0], nil
}

// Node is R3: the weight of a node running k of the cluster's n ready target Pods.
func Node(w, k, n int) (int, error) {
	ws, err := Spread(w, []int{k}, n)
	if err != nil {
		return 0, err
	}
	return ws[0], nil
}

// Spread returns the weight of each backend, where podsPer[i] is how many of the n ready target
// Pods backend i stands for. n is passed separately because a caller may place only some Pods.
func Spread(w int, podsPer []int, n int) ([]int, error) {
	if !elbrules.ValidWeight(w) {
		return nil, fmt.Errorf("cluster weight %d is outside %d-%d", w, elbrules.MinWeight, elbrules.MaxWeight)
	}
	if n <= 0 {
		if len(podsPer) == 0 {
			return nil, nil
		}
		return nil, fmt.Errorf("%d backends but no ready target Pods", len(podsPer))
	}
	out := make([]int, len(podsPer))
	placed := 0
	for i, k := range podsPer {
		if k < 0 {
			return nil, fmt.Errorf("backend %d stands for %d Pods", i, k)
		}
		placed += k
		out[i] = min(Ceil(w, k, n), elbrules.MaxWeight)
	}
	if placed > n {
		return nil, fmt.Errorf("backends stand for %d Pods but only %d are ready target Pods", placed, n)
	}
	return out, nil
}

// Share compares the weight a cluster asked for with what its members add up to.
type Share struct {
	Requested int // W
	Effective int // sum of member weights
	// Distorted: the ceilings made the effective sum differ from W, so the cluster's real share of
	// traffic differs from what was asked (e.g. W=20 over 50 Pods gives 50 × 1 = 50).
	Distorted bool
}

// Report sums the member weights. An empty cluster (no members) is not distorted: it has no
// traffic to share.
func Report(requested int, memberWeights []int) Share {
	s := Share{Requested: requested}
	for _, w := range memberWeights {
		s.Effective += w
	}
	s.Distorted = len(memberWeights) > 0 && s.Effective != requested
	return s
}

func (s Share) String() string {
	return fmt.Sprintf("requested weight %d, effective sum %d", s.Requested, s.Effective)
}
