package balance

// sourceIP is rendezvous (highest random weight) hashing over the members,
// all counted equally: every member scores a uniform hash of (client,
// member) and the highest score wins. A client moves only when its member
// leaves or a new member outscores it, so a change of n members moves about
// 1/n of the clients.
//
// Weights other than 0 have no effect with SOURCE_IP (E6a): the API
// reference says so of lb_algorithm (services/elb/v3/model/
// model_create_pool_option.go: "当该字段的取值为SOURCE_IP…weight字段无效") and the
// user guide ("Configuring Weights for Backend Servers") says a member of
// weight 0 gets no new connections; members of weight 0 never reach a picker
// (see pool.rebuild), so each member here gets an equal share of sources.
type sourceIP struct {
	keys []uint64
}

func newSourceIP(members []Member) Picker {
	keys := make([]uint64, len(members))
	for i, m := range members {
		keys[i] = HashString(m.Key)
	}
	return &sourceIP{keys: keys}
}

func (s *sourceIP) Pick(clientKey uint64, tried []int) int {
	best := -1
	var bestScore uint64
	for i, mk := range s.keys {
		if contains(tried, i) {
			continue
		}
		if score := mix64(clientKey ^ mk); best < 0 || score > bestScore {
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
