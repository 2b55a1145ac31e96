package store

import (
	"errors"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// Secondary indexes (F13): derived buckets, written in the same transaction as the records they
// index and rebuilt from the records at Open, so that they can never disagree with them. With
// them a filtered list, a port check or a pool's listener reads only what matches, not every
// record of the kind: at 1,000 listeners and 10,000 members a scan decodes them all per call.
//
//	member_pool        <member id>                          → <pool id>
//	member_addr        <pool id>/<address>:<port>           → <member id>
//	member_by_address  <address>/<pool id>/<member id>      → <pool id>/<member id> (its key in members)
//	member_by_lb       <lb id>/<pool id>/<member id>        → <pool id>/<member id>
//	listener_by_port   <lb id>/<port, 5 digits>/<listener id> → <listener id>
//	listener_by_pool   <pool id>                            → <listener id> (the listener it is the default pool of)
//	children_by_lb     <lb id>/<l|p>/<created, ns>/<id>      → <id> (its listeners, its pools, oldest first)
//
// A listener's load balancer and port and a member's pool, load balancer and address never
// change (Update* keeps them), so an update rewrites the same keys.
var (
	bMemberByAddress = []byte("member_by_address")
	bMemberByLB      = []byte("member_by_lb")
	bListenerByPort  = []byte("listener_by_port")
	bListenerByPool  = []byte("listener_by_pool")
	bChildrenByLB    = []byte("children_by_lb")
	derivedBuckets   = [][]byte{bMemberPool, bMemberAddr, bMemberByAddress, bMemberByLB, bListenerByPort, bListenerByPool, bChildrenByLB}
)

func memberRecKey(m Member) string { return m.PoolID + "/" + m.ID }

// memberIndexEntries are the index entries of m: bucket, key, value.
func memberIndexEntries(m Member) [][3][]byte {
	rec := []byte(memberRecKey(m))
	return [][3][]byte{
		{bMemberPool, []byte(m.ID), []byte(m.PoolID)},
		{bMemberAddr, addrKey(m.PoolID, m.Address, m.ProtocolPort), []byte(m.ID)},
		{bMemberByAddress, []byte(m.Address + "/" + memberRecKey(m)), rec},
		{bMemberByLB, []byte(m.LoadBalancerID + "/" + memberRecKey(m)), rec},
	}
}

func listenerPortPrefix(lbID string, port int) string { return fmt.Sprintf("%s/%05d/", lbID, port) }

// Kinds of a load balancer's children in children_by_lb.
const (
	childListener = "l"
	childPool     = "p"
)

// childKey orders a load balancer's children of one kind as sortByCreated does: by creation
// time, then by ID.
func childKey(lbID, kind string, m Meta) []byte {
	return fmt.Appendf(nil, "%s/%s/%020d/%s", lbID, kind, m.CreatedAt.UnixNano(), m.ID)
}

func indexPool(tx *bolt.Tx, p Pool) error {
	return tx.Bucket(bChildrenByLB).Put(childKey(p.LoadBalancerID, childPool, p.Meta), []byte(p.ID))
}

func unindexPool(tx *bolt.Tx, p Pool) error {
	return tx.Bucket(bChildrenByLB).Delete(childKey(p.LoadBalancerID, childPool, p.Meta))
}

func indexMember(tx *bolt.Tx, m Member) error {
	for _, e := range memberIndexEntries(m) {
		if err := tx.Bucket(e[0]).Put(e[1], e[2]); err != nil {
			return err
		}
	}
	return nil
}

func unindexMember(tx *bolt.Tx, m Member) error {
	for _, e := range memberIndexEntries(m) {
		if err := tx.Bucket(e[0]).Delete(e[1]); err != nil {
			return err
		}
	}
	return nil
}

// indexListener moves l's entries from what old (nil for a new listener) had to what l has.
func indexListener(tx *bolt.Tx, old *Listener, l Listener) error {
	if old != nil {
		if err := unindexListener(tx, *old); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bListenerByPort).Put([]byte(listenerPortPrefix(l.LoadBalancerID, l.ProtocolPort)+l.ID), []byte(l.ID)); err != nil {
		return err
	}
	if err := tx.Bucket(bChildrenByLB).Put(childKey(l.LoadBalancerID, childListener, l.Meta), []byte(l.ID)); err != nil {
		return err
	}
	if l.DefaultPoolID == "" {
		return nil
	}
	return tx.Bucket(bListenerByPool).Put([]byte(l.DefaultPoolID), []byte(l.ID))
}

func unindexListener(tx *bolt.Tx, l Listener) error {
	if err := tx.Bucket(bListenerByPort).Delete([]byte(listenerPortPrefix(l.LoadBalancerID, l.ProtocolPort) + l.ID)); err != nil {
		return err
	}
	if err := tx.Bucket(bChildrenByLB).Delete(childKey(l.LoadBalancerID, childListener, l.Meta)); err != nil {
		return err
	}
	if l.DefaultPoolID == "" {
		return nil
	}
	if cur := tx.Bucket(bListenerByPool).Get([]byte(l.DefaultPoolID)); string(cur) != l.ID {
		return nil // the pool's entry is another listener's
	}
	return tx.Bucket(bListenerByPool).Delete([]byte(l.DefaultPoolID))
}

// putListener stores l (old: the stored copy it replaces, nil for a new one) with its index entries.
func putListener(tx *bolt.Tx, old *Listener, l Listener) error {
	if err := indexListener(tx, old, l); err != nil {
		return err
	}
	return putRec(tx, bListeners, l.ID, l)
}

// deleteListenerRec deletes listener l and its index entries.
func deleteListenerRec(tx *bolt.Tx, l Listener) error {
	if err := unindexListener(tx, l); err != nil {
		return err
	}
	return tx.Bucket(bListeners).Delete([]byte(l.ID))
}

// rebuildIndexes derives every index bucket from the records (also for files written before an
// index existed).
func rebuildIndexes(tx *bolt.Tx) error {
	for _, b := range derivedBuckets {
		if err := tx.DeleteBucket(b); err != nil && tx.Bucket(b) != nil {
			return err
		}
		if _, err := tx.CreateBucket(b); err != nil {
			return err
		}
	}
	return errors.Join(
		reindexAll(tx, bMembers, indexMember),
		reindexAll(tx, bListeners, func(tx *bolt.Tx, l Listener) error { return indexListener(tx, nil, l) }),
		reindexAll(tx, bPools, indexPool))
}

// reindexAll writes the index entries of every record of bucket.
func reindexAll[T record](tx *bolt.Tx, bucket []byte, index func(*bolt.Tx, T) error) error {
	rs, err := scanRec[T](tx, bucket, "")
	if err != nil {
		return err
	}
	for _, r := range rs {
		if err := index(tx, r); err != nil {
			return err
		}
	}
	return nil
}

// byIndex decodes the records of bucket named by the values of the index entries whose keys
// start with prefix.
func byIndex[T record](tx *bolt.Tx, index, bucket []byte, prefix string) ([]T, error) {
	var out []T
	c := tx.Bucket(index).Cursor()
	for k, v := c.Seek([]byte(prefix)); k != nil && strings.HasPrefix(string(k), prefix); k, v = c.Next() {
		r, ok, err := getRec[T](tx, bucket, string(v))
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("index %s: %s names %s/%s, which is missing", index, k, bucket, v)
		}
		out = append(out, r)
	}
	return out, nil
}

// listenersOfLB are the listeners of load balancer lbID; port > 0 keeps those on that port.
func listenersOfLB(tx *bolt.Tx, lbID string, port int) ([]Listener, error) {
	prefix := lbID + "/"
	if port > 0 {
		prefix = listenerPortPrefix(lbID, port)
	}
	return byIndex[Listener](tx, bListenerByPort, bListeners, prefix)
}

// listenerOfPool is the listener whose default pool is poolID, if any.
func listenerOfPool(tx *bolt.Tx, poolID string) (Listener, bool, error) {
	id := tx.Bucket(bListenerByPool).Get([]byte(poolID))
	if id == nil {
		return Listener{}, false, nil
	}
	return getRec[Listener](tx, bListeners, string(id))
}

// scopedByIndex lists, oldest first, the records sc can see among those the index entries under
// each prefix name, each record once.
func scopedByIndex[T record](s *Store, sc Scope, index, bucket []byte, prefixes []string) ([]T, error) {
	out, err := view(s, func(tx *bolt.Tx) ([]T, error) {
		var out []T
		seen := map[string]bool{}
		for _, p := range prefixes {
			rs, err := byIndex[T](tx, index, bucket, p)
			if err != nil {
				return nil, err
			}
			for _, r := range rs {
				if id := r.Base().ID; inScope(sc, r) && !seen[id] {
					seen[id] = true
					out = append(out, r)
				}
			}
		}
		return out, nil
	})
	sortByCreated(out)
	return out, err
}

// MembersAt lists the members sc can see whose address is one of addresses, oldest first: what
// ListAllMembers filtered by address gives, read through the address index.
func (s *Store) MembersAt(sc Scope, addresses []string) ([]Member, error) {
	prefixes := make([]string, len(addresses))
	for i, a := range addresses {
		prefixes[i] = a + "/"
	}
	return scopedByIndex[Member](s, sc, bMemberByAddress, bMembers, prefixes)
}

// MembersOfLoadBalancers lists the members sc can see in the pools of the named load balancers,
// oldest first.
func (s *Store) MembersOfLoadBalancers(sc Scope, lbIDs []string) ([]Member, error) {
	prefixes := make([]string, len(lbIDs))
	for i, id := range lbIDs {
		prefixes[i] = id + "/"
	}
	return scopedByIndex[Member](s, sc, bMemberByLB, bMembers, prefixes)
}

// ListenersOn lists the listeners sc can see of the named load balancers, oldest first; with
// ports, only those on one of them.
func (s *Store) ListenersOn(sc Scope, lbIDs []string, ports []int) ([]Listener, error) {
	var prefixes []string
	for _, id := range lbIDs {
		if len(ports) == 0 {
			prefixes = append(prefixes, id+"/")
		}
		for _, p := range ports {
			prefixes = append(prefixes, listenerPortPrefix(id, p))
		}
	}
	return scopedByIndex[Listener](s, sc, bListenerByPort, bListeners, prefixes)
}

// LoadBalancerChildren are the IDs of load balancer lbID's listeners and pools, each oldest
// first, read from the index alone (a load balancer's children are in its own scope: callers
// pass a load balancer sc sees).
func (s *Store) LoadBalancerChildren(lbID string) (listeners, pools []string, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bChildrenByLB).Cursor()
		prefix := lbID + "/"
		for k, v := c.Seek([]byte(prefix)); k != nil && strings.HasPrefix(string(k), prefix); k, v = c.Next() {
			if strings.HasPrefix(string(k), prefix+childListener+"/") {
				listeners = append(listeners, string(v))
			} else {
				pools = append(pools, string(v))
			}
		}
		return nil
	})
	return listeners, pools, err
}
