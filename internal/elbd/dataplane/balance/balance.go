// Package balance holds the pure load-balancing algorithms of the elbd data
// plane: given the usable members of a pool, pick one for a new connection or
// flow. Pickers are immutable once built and safe for concurrent use; the data
// plane builds a new one whenever the set of usable members changes.
package balance

import (
	"fmt"
	"sync/atomic"
)

// Algorithm names, as the ELB API spells them.
const (
	RoundRobin       = "ROUND_ROBIN"
	LeastConnections = "LEAST_CONNECTIONS"
	SourceIP         = "SOURCE_IP"
)

// Member is one usable backend as an algorithm sees it.
type Member struct {
	// Key identifies the member stably (the member ID); SOURCE_IP hashes it.
	Key string
	// Weight is > 0; members of weight 0 must not be passed to New.
	Weight int
	// Active counts the member's open connections (LEAST_CONNECTIONS reads it).
	Active *atomic.Int64
}

// Picker chooses a member index for a new connection.
type Picker interface {
	// Pick returns the index (into the members given to New) of the member
	// that should serve a connection from a client whose address hashes to
	// clientKey, skipping the indexes in tried (members that already failed
	// for this connection). It returns -1 when no member is left.
	Pick(clientKey uint64, tried []int) int
}

// New builds the picker of algorithm for members. An empty member list gives a
// picker that always returns -1.
func New(algorithm string, members []Member) (Picker, error) {
	for _, m := range members {
		if m.Weight <= 0 {
			return nil, fmt.Errorf("member %q has weight %d: only members with weight > 0 can be picked", m.Key, m.Weight)
		}
	}
	if len(members) == 0 {
		return empty{}, nil
	}
	switch algorithm {
	case RoundRobin, "":
		return newRoundRobin(members), nil
	case LeastConnections:
		for _, m := range members {
			if m.Active == nil {
				return nil, fmt.Errorf("member %q has no active-connection counter, which LEAST_CONNECTIONS needs", m.Key)
			}
		}
		return newLeastConn(members), nil
	case SourceIP:
		return newSourceIP(members), nil
	default:
		return nil, fmt.Errorf("unknown lb_algorithm %q: use ROUND_ROBIN, LEAST_CONNECTIONS or SOURCE_IP", algorithm)
	}
}

type empty struct{}

func (empty) Pick(uint64, []int) int { return -1 }

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// HashBytes is the FNV-1a hash used for client keys (e.g. a client IP).
func HashBytes(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// HashString is HashBytes of a string, without a conversion allocation.
func HashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
