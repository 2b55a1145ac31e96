package balance

import (
	"sync"
	"sync/atomic"
)

// maxSequence bounds the precomputed smooth round-robin cycle (entries and
// build steps); larger pools run the same algorithm live under a mutex.
const maxSequence = 1 << 20

// newRoundRobin returns a smooth weighted round robin (nginx's algorithm):
// each pick adds every member's weight to its current score, takes the highest
// and subtracts the total. The picks repeat with period Σweight/gcd and every
// member appears exactly weight/gcd times per period, spread out evenly, so any
// window of Σweight consecutive picks gives each member exactly its weight.
func newRoundRobin(members []Member) Picker {
	weights := make([]int, len(members))
	g := 0
	for i, m := range members {
		weights[i] = m.Weight
		g = gcd(g, m.Weight)
	}
	total := 0
	for i := range weights {
		weights[i] /= g
		total += weights[i]
	}
	if total*len(weights) > maxSequence*4 || total > maxSequence {
		return &liveRoundRobin{weights: weights, current: make([]int, len(weights)), total: total}
	}
	// Precompute one period so that Pick is a single atomic increment.
	seq := make([]int32, total)
	current := make([]int, len(weights))
	for k := range seq {
		seq[k] = int32(swrrStep(weights, current, total))
	}
	return &seqRoundRobin{seq: seq}
}

func swrrStep(weights, current []int, total int) int {
	best := -1
	for i, w := range weights {
		current[i] += w
		if best < 0 || current[i] > current[best] {
			best = i
		}
	}
	current[best] -= total
	return best
}

type seqRoundRobin struct {
	next atomic.Uint64
	seq  []int32
}

func (r *seqRoundRobin) Pick(_ uint64, tried []int) int {
	n := uint64(len(r.seq))
	start := r.next.Add(1) - 1
	for k := uint64(0); k < n; k++ {
		i := int(r.seq[(start+k)%n])
		if !contains(tried, i) {
			return i
		}
	}
	return -1
}

type liveRoundRobin struct {
	mu      sync.Mutex
	weights []int
	current []int
	total   int
}

func (r *liveRoundRobin) Pick(_ uint64, tried []int) int {
	if len(tried) >= len(r.weights) {
		return -1
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		if i := swrrStep(r.weights, r.current, r.total); !contains(tried, i) {
			return i
		}
	}
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
