package balance

import "math"

// sourceIP is weighted rendezvous (highest random weight) hashing: every
// member scores -weight/ln(u) where u is a uniform hash of (client, member),
// and the highest score wins. A client moves only when its member leaves or a
// new member outscores it, so a change of n members moves about 1/n of the
// clients, and a member's share of clients is proportional to its weight.
type sourceIP struct {
	members []Member
	keys    []uint64
}

func newSourceIP(members []Member) Picker {
	keys := make([]uint64, len(members))
	for i, m := range members {
		keys[i] = HashString(m.Key)
	}
	return &sourceIP{members: members, keys: keys}
}

func (s *sourceIP) Pick(clientKey uint64, tried []int) int {
	best := -1
	bestScore := 0.0
	for i, mk := range s.keys {
		if contains(tried, i) {
			continue
		}
		h := mix64(clientKey ^ mk)
		u := (float64(h>>11) + 0.5) / (1 << 53) // uniform in (0, 1)
		score := -float64(s.members[i].Weight) / math.Log(u)
		if best < 0 || score > bestScore {
			best, bestScore = i, score
		}
	}
	return best
}

// mix64 is the splitmix64 finalizer: it spreads the bits of x evenly.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
