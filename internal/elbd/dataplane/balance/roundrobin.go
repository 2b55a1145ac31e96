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
	for i, m := range members {
		weights[i] = m.Weight
	}
	weights, total := reduceWeights(weights)
	if total*len(weights) > maxSequence*4 || total > maxSequence {
		return &liveRoundRobin{weights: weights, current: make([]int, len(weights)), total: total}
	}
	// Precompute one period so that Pick is a single atomic increment.
	seq := make([]int32, total)
	for k, i := range Sequence(weights) {
		seq[k] = int32(i)
	}
	return &seqRoundRobin{seq: seq}
}

// reduceWeights divides the weights by their greatest common divisor and
// returns them with their sum: the length of one smooth round-robin period.
func reduceWeights(weights []int) ([]int, int) {
	g := 0
	for _, w := range weights {
		g = gcd(g, w)
	}
	out := make([]int, len(weights))
	total := 0
	for i, w := range weights {
		out[i] = w / max(g, 1)
		total += out[i]
	}
	return out, total
}

// Sequence is one period of the smooth weighted round robin over weights (all
// > 0): member indices, each appearing weight/gcd times, spread out evenly.
// The kernel data plane maps numgen or jhash values onto it (K2, K3).
func Sequence(weights []int) []int {
	weights, total := reduceWeights(weights)
	seq := make([]int, total)
	current := make([]int, len(weights))
	for k := range seq {
		seq[k] = swrrStep(weights, current, total)
	}
	return seq
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
