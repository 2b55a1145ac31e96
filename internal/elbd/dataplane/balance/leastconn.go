package balance

import "sync/atomic"

// leastConn picks the member with the fewest active connections per unit of
// weight. Ties are broken by a rotating start so that equal members share new
// connections instead of the first one taking every burst.
type leastConn struct {
	members []Member
	rotate  atomic.Uint64
}

func newLeastConn(members []Member) Picker {
	return &leastConn{members: members}
}

func (l *leastConn) Pick(_ uint64, tried []int) int {
	n := len(l.members)
	start := int(l.rotate.Add(1) % uint64(n))
	best := -1
	var bestActive, bestWeight int64
	for k := 0; k < n; k++ {
		i := (start + k) % n
		if contains(tried, i) {
			continue
		}
		a, w := l.members[i].Active.Load(), int64(l.members[i].Weight)
		// a/w < bestActive/bestWeight without division.
		if best < 0 || a*bestWeight < bestActive*w {
			best, bestActive, bestWeight = i, a, w
		}
	}
	return best
}
