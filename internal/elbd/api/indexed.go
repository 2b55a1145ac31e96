package api

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// The lists of all members and of listeners start from what the store's indexes name when the
// query filters on an indexed field (F13): the filters then narrow those as they would the whole
// list, so the answer is the same, read in O(matches) instead of decoding every record.

// indexedMembers are the members a list of all members filters: with address or loadbalancer_id
// in the query only those members, else all.
func (h *v3) indexedMembers(q url.Values, sc store.Scope) ([]store.Member, error) {
	if addrs, ok := q["address"]; ok {
		return h.st.MembersAt(sc, addrs)
	}
	if ids, ok := q["loadbalancer_id"]; ok {
		return h.st.MembersOfLoadBalancers(sc, ids)
	}
	return h.st.ListAllMembers(sc)
}

// indexedListeners are the listeners a list of listeners filters: with loadbalancer_id in the
// query only theirs (on the protocol_port values, when all are numbers), else all.
func (h *v3) indexedListeners(q url.Values, sc store.Scope) ([]store.Listener, error) {
	ids, ok := q["loadbalancer_id"]
	if !ok {
		return h.st.ListListeners(sc)
	}
	var ports []int
	for _, v := range q["protocol_port"] {
		p, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return h.st.ListListeners(sc) // the protocol_port filter refuses it
		}
		ports = append(ports, p)
	}
	return h.st.ListenersOn(sc, ids, ports)
}

// poolListeners gives the listener each pool serves ("" for none), read once per pool.
func (h *v3) poolListeners(sc store.Scope) func(poolID string) string {
	seen := map[string]string{}
	return func(poolID string) string {
		lid, ok := seen[poolID]
		if !ok {
			lid, _ = h.st.PoolListenerID(sc, poolID)
			seen[poolID] = lid
		}
		return lid
	}
}
