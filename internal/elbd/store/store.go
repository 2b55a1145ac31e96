package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/config"
)

// Buckets. Members are keyed "<pool id>/<member id>" so a pool's members are one prefix scan;
// memberPool maps a member ID to its pool for lookups by ID alone; memberAddr maps
// "<pool id>/<address>:<port>" to the member ID, so a write checks uniqueness without a scan.
var (
	bLoadBalancers  = []byte("loadbalancers")
	bListeners      = []byte("listeners")
	bPools          = []byte("pools")
	bMembers        = []byte("members")
	bMemberPool     = []byte("member_pool")
	bMemberAddr     = []byte("member_addr")
	bHealthMonitors = []byte("healthmonitors")
	allBuckets      = append([][]byte{bLoadBalancers, bListeners, bPools, bMembers, bHealthMonitors}, derivedBuckets...)
)

// FileName is the store's file inside the data directory.
const FileName = "elbd.db"

// Store is the persistent state. Create it with Open; Close it when done.
type Store struct {
	db     *bolt.DB
	net    *config.Network
	quotas *config.QuotaPlan // nil: the real cloud's defaults
	now    func() time.Time
}

// Open opens (creating if needed) the store in dataDir. net is the address plan that VIPs and
// member addresses are checked against. Opening fails after a second if another process holds
// the file.
func Open(dataDir string, net *config.Network, opts ...Option) (*Store, error) {
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("creating data dir: %w", err)
	}
	path := filepath.Join(dataDir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("opening %s: the file is locked, is another elbd using data dir %s?", path, dataDir)
		}
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return rebuildIndexes(tx)
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("initialising %s: %w", path, err)
	}
	s := &Store{db: db, net: net, now: func() time.Time { return time.Now().UTC() }}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// Network is the address plan the store checks against.
func (s *Store) Network() *config.Network { return s.net }

// ---- generic bucket helpers ----

// record is a stored resource; meta gives the fields every kind shares, so scoping, listing and
// ordering are written once.
type record interface {
	LoadBalancer | Listener | Pool | Member | HealthMonitor
	Base() Meta
}

// Base is the Meta of any record, for code generic over the kinds.
func (m Meta) Base() Meta { return m }

// newMeta is a new resource's Meta: a fresh ID, sc's family and project, created now.
func newMeta(sc Scope, now time.Time) Meta {
	return Meta{ID: newID(), Family: sc.Family, ProjectID: sc.ProjectID, CreatedAt: now, UpdatedAt: now}
}

func getRec[T record](tx *bolt.Tx, bucket []byte, key string) (T, bool, error) {
	var v T
	data := tx.Bucket(bucket).Get([]byte(key))
	if data == nil {
		return v, false, nil
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return v, false, fmt.Errorf("decoding %s/%s: %w", bucket, key, err)
	}
	return v, true, nil
}

func putRec(tx *bolt.Tx, bucket []byte, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Bucket(bucket).Put([]byte(key), data)
}

// scanRec decodes every record whose key starts with prefix ("" for all).
func scanRec[T record](tx *bolt.Tx, bucket []byte, prefix string) ([]T, error) {
	var out []T
	c := tx.Bucket(bucket).Cursor()
	p := []byte(prefix)
	for k, v := c.Seek(p); k != nil && strings.HasPrefix(string(k), prefix); k, v = c.Next() {
		var r T
		if err := json.Unmarshal(v, &r); err != nil {
			return nil, fmt.Errorf("decoding %s/%s: %w", bucket, k, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// scanWhere decodes the records of bucket that keep selects.
func scanWhere[T record](tx *bolt.Tx, bucket []byte, keep func(T) bool) ([]T, error) {
	all, err := scanRec[T](tx, bucket, "")
	out := all[:0]
	for _, v := range all {
		if keep(v) {
			out = append(out, v)
		}
	}
	return out, err
}

func newID() string { return uuid.NewString() }

// sortByCreated orders records oldest first, by ID among equals.
func sortByCreated[T record](xs []T) {
	sort.SliceStable(xs, func(i, j int) bool {
		a, b := xs[i].Base(), xs[j].Base()
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.Before(b.CreatedAt)
		}
		return a.ID < b.ID
	})
}

func inScope[T record](sc Scope, v T) bool {
	m := v.Base()
	return sc.Family == m.Family && sc.ProjectID == m.ProjectID
}

// getScoped reads the record stored under key; 404 naming kind and id when it is missing or sc
// cannot see it.
func getScoped[T record](tx *bolt.Tx, bucket []byte, sc Scope, kind, key, id string) (T, error) {
	v, ok, err := getRec[T](tx, bucket, key)
	if err != nil {
		return v, err
	}
	if !ok || !inScope(sc, v) {
		return v, errNotFound(kind, id)
	}
	return v, nil
}

// view runs read in a read transaction and returns what it read.
func view[T any](s *Store, read func(tx *bolt.Tx) (T, error)) (T, error) {
	var out T
	err := s.db.View(func(tx *bolt.Tx) (err error) { out, err = read(tx); return })
	return out, err
}

// written runs fn in a write transaction and returns *v as fn left it: what the write stored, or
// v's zero value and fn's error, with nothing stored.
func written[T any](s *Store, v *T, fn func(tx *bolt.Tx) error) (T, error) {
	if err := s.db.Update(fn); err != nil {
		var zero T
		return zero, err
	}
	return *v, nil
}

// update is the read-modify-write of the Update* methods for a record stored under its ID: it
// loads the record, lets fn edit a copy, then settle restores the fields fn may not change,
// checks the result and stamps it; the settled copy is saved and returned.
func update[T record](s *Store, bucket []byte, id string, load func(tx *bolt.Tx) (T, error),
	fn func(*T) error, settle func(tx *bolt.Tx, old T, nv *T) error) (T, error) {
	var out T
	err := s.db.Update(func(tx *bolt.Tx) error {
		old, err := load(tx)
		if err != nil {
			return err
		}
		nv := old
		if err := fn(&nv); err != nil {
			return err
		}
		if err := settle(tx, old, &nv); err != nil {
			return err
		}
		out = nv
		return putRec(tx, bucket, id, nv)
	})
	return out, err
}

func listScoped[T record](s *Store, bucket []byte, sc Scope) ([]T, error) {
	out, err := view(s, func(tx *bolt.Tx) ([]T, error) {
		return scanWhere(tx, bucket, func(v T) bool { return inScope(sc, v) })
	})
	sortByCreated(out)
	return out, err
}

// ---- load balancers ----

func (s *Store) lbTx(tx *bolt.Tx, sc Scope, id string) (LoadBalancer, error) {
	lb, err := getScoped[LoadBalancer](tx, bLoadBalancers, sc, "loadbalancer", id, id)
	if err != nil && sc.Family == FamilyV3 {
		// The v3 API shows the project's shared load balancers (E8) but never changes them or
		// what is under them: say so rather than "not found".
		if other, ok, _ := getRec[LoadBalancer](tx, bLoadBalancers, id); ok && other.ProjectID == sc.ProjectID && other.Family == FamilyV2 {
			return lb, errSharedFromV3(id)
		}
	}
	return lb, err
}

func errSharedFromV3(id string) error {
	return apierr.Invalid("load balancer %s is a shared load balancer (guaranteed=false); the v3 API lists and shows it but does not change it or what is under it: use the v2 API (/v2/{project_id}/elb/...)", id)
}

// LoadBalancersSeenFromV3 lists what the v3 API lists: sc's dedicated load balancers and the
// project's shared (v2) ones, told apart by Guaranteed (E8; the v3 API's guaranteed field,
// services/elb/v3/model/model_load_balancer.go), oldest first.
func (s *Store) LoadBalancersSeenFromV3(sc Scope) ([]LoadBalancer, error) {
	v3, err := listScoped[LoadBalancer](s, bLoadBalancers, Scope{Family: FamilyV3, ProjectID: sc.ProjectID})
	if err != nil {
		return nil, err
	}
	v2, err := listScoped[LoadBalancer](s, bLoadBalancers, Scope{Family: FamilyV2, ProjectID: sc.ProjectID})
	if err != nil {
		return nil, err
	}
	all := append(v3, v2...)
	sortByCreated(all)
	return all, nil
}

// LoadBalancerSeenFromV3 is the load balancer as the v3 API shows it: a dedicated one of sc, or a
// shared one of sc's project (E8).
func (s *Store) LoadBalancerSeenFromV3(sc Scope, id string) (LoadBalancer, error) {
	return view(s, func(tx *bolt.Tx) (LoadBalancer, error) {
		lb, err := getScoped[LoadBalancer](tx, bLoadBalancers, Scope{Family: FamilyV3, ProjectID: sc.ProjectID}, "loadbalancer", id, id)
		if err != nil {
			return getScoped[LoadBalancer](tx, bLoadBalancers, Scope{Family: FamilyV2, ProjectID: sc.ProjectID}, "loadbalancer", id, id)
		}
		return lb, nil
	})
}

// CreateLoadBalancer stores a new load balancer of sc's family. It checks the fields (see
// CheckLoadBalancer); with no VIPAddress it allocates the first free address of the subnet,
// otherwise the address must be free (409 if another load balancer holds it). The stored copy,
// with ID, VPCID, VIPAddress and timestamps filled, is returned.
func (s *Store) CreateLoadBalancer(sc Scope, lb LoadBalancer) (LoadBalancer, error) {
	lb.Meta = newMeta(sc, s.now())
	if sc.Family == FamilyV2 {
		lb.IPTargetEnable = false
	}
	return written(s, &lb, func(tx *bolt.Tx) error {
		subnet, err := CheckLoadBalancer(lb, s.net)
		if err != nil {
			return err
		}
		lb.VPCID = subnet.VPCID
		all, err := scanRec[LoadBalancer](tx, bLoadBalancers, "")
		if err != nil {
			return err
		}
		mine := 0
		for _, o := range all {
			if o.ProjectID == lb.ProjectID {
				mine++
			}
		}
		if err := s.checkQuota(lb.ProjectID, QuotaLoadBalancer, " of project "+lb.ProjectID, mine, 1); err != nil {
			return err
		}
		used := map[netip.Addr]string{}
		for _, o := range all {
			if a, err := netip.ParseAddr(o.VIPAddress); err == nil {
				used[a] = o.ID
			}
		}
		backends := memberAddresses(tx)
		if lb.VIPAddress == "" {
			a, err := config.AllocateVIP(subnet, func(a netip.Addr) bool { _, u := used[a]; return u || backends[a] })
			if err != nil {
				return apierr.Conflict("%v; free an address or use another subnet", err)
			}
			lb.VIPAddress = a.String()
		} else if owner, u := used[netip.MustParseAddr(lb.VIPAddress)]; u {
			return apierr.Conflict("vip_address %s is already used by load balancer %s; pick another address or leave vip_address empty to get a free one", lb.VIPAddress, owner)
		} else if backends[netip.MustParseAddr(lb.VIPAddress)] {
			return apierr.Conflict("vip_address %s is the address of a backend member; pick another address or leave vip_address empty to get a free one", lb.VIPAddress)
		}
		return putRec(tx, bLoadBalancers, lb.ID, lb)
	})
}

// GetLoadBalancer returns the load balancer; 404 if sc cannot see it.
func (s *Store) GetLoadBalancer(sc Scope, id string) (LoadBalancer, error) {
	return view(s, func(tx *bolt.Tx) (LoadBalancer, error) { return s.lbTx(tx, sc, id) })
}

// ListLoadBalancers returns sc's load balancers, oldest first.
func (s *Store) ListLoadBalancers(sc Scope) ([]LoadBalancer, error) {
	return listScoped[LoadBalancer](s, bLoadBalancers, sc)
}

// UpdateLoadBalancer applies fn to the stored load balancer and saves the result after checking
// it. fn may change Name, Description, AdminStateUp and IPTargetEnable; other fields are kept.
// Turning ip_target_enable off is refused (400) while the load balancer has IP-type members.
func (s *Store) UpdateLoadBalancer(sc Scope, id string, fn func(*LoadBalancer) error) (LoadBalancer, error) {
	load := func(tx *bolt.Tx) (LoadBalancer, error) { return s.lbTx(tx, sc, id) }
	return update(s, bLoadBalancers, id, load, fn, func(tx *bolt.Tx, old LoadBalancer, nv *LoadBalancer) error {
		nv.Meta, nv.VIPSubnetID, nv.VIPAddress, nv.VPCID = old.Meta, old.VIPSubnetID, old.VIPAddress, old.VPCID
		if _, err := CheckLoadBalancer(*nv, s.net); err != nil {
			return err
		}
		if err := CheckIPTargetChange(old, *nv); err != nil {
			return err
		}
		nv.UpdatedAt = s.now()
		return nil
	})
}

// DeleteLoadBalancer deletes the load balancer; 409 while it has listeners or pools.
func (s *Store) DeleteLoadBalancer(sc Scope, id string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if _, err := s.lbTx(tx, sc, id); err != nil {
			return err
		}
		ls, err := listenersOfLB(tx, id, 0)
		if err != nil {
			return err
		}
		if len(ls) > 0 {
			return errInUse("loadbalancer", id, "it has %d listener(s) (e.g. %s); delete them first", len(ls), ls[0].ID)
		}
		ps, err := s.poolsOfLB(tx, id)
		if err != nil {
			return err
		}
		if len(ps) > 0 {
			return errInUse("loadbalancer", id, "it has %d pool(s) (e.g. %s); delete them first", len(ps), ps[0].ID)
		}
		return tx.Bucket(bLoadBalancers).Delete([]byte(id))
	})
}

func (s *Store) poolsOfLB(tx *bolt.Tx, lbID string) ([]Pool, error) {
	return scanWhere(tx, bPools, func(p Pool) bool { return p.LoadBalancerID == lbID })
}

// unbindPool leaves the listener whose default pool is poolID, if any, without one.
func (s *Store) unbindPool(tx *bolt.Tx, poolID string) error {
	l, ok, err := listenerOfPool(tx, poolID)
	if err != nil || !ok {
		return err
	}
	old := l
	l.DefaultPoolID, l.UpdatedAt = "", s.now()
	return putListener(tx, &old, l)
}

// ---- listeners ----

func (s *Store) listenerTx(tx *bolt.Tx, sc Scope, id string) (Listener, error) {
	return getScoped[Listener](tx, bListeners, sc, "listener", id, id)
}

// checkListenerTx checks l against its load balancer, the other listeners and its default pool.
func (s *Store) checkListenerTx(tx *bolt.Tx, sc Scope, l Listener) error {
	if err := CheckListener(l); err != nil {
		return err
	}
	if l.LoadBalancerID == "" {
		return apierr.Invalid("loadbalancer_id is required")
	}
	if _, err := s.lbTx(tx, sc, l.LoadBalancerID); err != nil {
		return err
	}
	others, err := listenersOfLB(tx, l.LoadBalancerID, l.ProtocolPort)
	if err != nil {
		return err
	}
	if err := CheckListenerPortFree(l, others); err != nil {
		return err
	}
	if l.DefaultPoolID == "" {
		return nil
	}
	p, err := s.poolTx(tx, sc, l.DefaultPoolID)
	if err != nil {
		return err
	}
	if p.LoadBalancerID != l.LoadBalancerID {
		return apierr.Invalid("default_pool_id %s belongs to load balancer %s, not %s", p.ID, p.LoadBalancerID, l.LoadBalancerID)
	}
	if !PoolFitsListener(l.Protocol, p.Protocol) {
		return errPoolProtocol(l, p)
	}
	if o, ok, err := listenerOfPool(tx, p.ID); err != nil || ok && o.ID != l.ID {
		if err != nil {
			return err
		}
		return apierr.Conflict("pool %s is already the default pool of listener %s; a pool serves one listener", p.ID, o.ID)
	}
	return nil
}

// CreateListener stores a new listener: its load balancer must exist in sc, no listener of the
// load balancer may hold the port with the same transport (409), and a default pool, if named,
// must be a free pool of the same load balancer whose protocol fits.
func (s *Store) CreateListener(sc Scope, l Listener) (Listener, error) {
	l.Meta = newMeta(sc, s.now())
	return written(s, &l, func(tx *bolt.Tx) error {
		if err := s.checkListenerTx(tx, sc, l); err != nil {
			return err
		}
		if err := s.checkListenerQuotas(tx, l); err != nil {
			return err
		}
		return putListener(tx, nil, l)
	})
}

// GetListener returns the listener; 404 if sc cannot see it.
func (s *Store) GetListener(sc Scope, id string) (Listener, error) {
	return view(s, func(tx *bolt.Tx) (Listener, error) { return s.listenerTx(tx, sc, id) })
}

// ListListeners returns sc's listeners, oldest first.
func (s *Store) ListListeners(sc Scope) ([]Listener, error) {
	return listScoped[Listener](s, bListeners, sc)
}

// UpdateListener applies fn and saves the checked result. LoadBalancerID, Protocol and
// ProtocolPort cannot change; DefaultPoolID may be set (checked as on create) or cleared.
func (s *Store) UpdateListener(sc Scope, id string, fn func(*Listener) error) (Listener, error) {
	load := func(tx *bolt.Tx) (Listener, error) { return s.listenerTx(tx, sc, id) }
	return update(s, bListeners, id, load, fn, func(tx *bolt.Tx, old Listener, nv *Listener) error {
		nv.Meta, nv.LoadBalancerID, nv.Protocol, nv.ProtocolPort = old.Meta, old.LoadBalancerID, old.Protocol, old.ProtocolPort
		if err := s.checkListenerTx(tx, sc, *nv); err != nil {
			return err
		}
		nv.UpdatedAt = s.now()
		return indexListener(tx, &old, *nv) // update saves the record

	})
}

// DeleteListener deletes the listener; 409 while a default pool is bound to it.
func (s *Store) DeleteListener(sc Scope, id string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		l, err := s.listenerTx(tx, sc, id)
		if err != nil {
			return err
		}
		if l.DefaultPoolID != "" {
			return errInUse("listener", id, "pool %s is bound to it as default pool; delete the pool or clear default_pool_id first", l.DefaultPoolID)
		}
		return deleteListenerRec(tx, l)
	})
}

// ---- pools ----

func (s *Store) poolTx(tx *bolt.Tx, sc Scope, id string) (Pool, error) {
	return getScoped[Pool](tx, bPools, sc, "pool", id, id)
}

// CreatePool stores a new pool. It belongs to p.LoadBalancerID, or to the load balancer of
// listenerID when that is given; with listenerID the pool becomes that listener's default pool,
// which must be free (409) and of a fitting protocol (400).
func (s *Store) CreatePool(sc Scope, p Pool, listenerID string) (Pool, error) {
	p.Meta, p.HealthMonitorID = newMeta(sc, s.now()), ""
	return written(s, &p, func(tx *bolt.Tx) error {
		if err := CheckPool(p); err != nil {
			return err
		}
		var l Listener
		if listenerID != "" {
			var err error
			if l, err = s.listenerTx(tx, sc, listenerID); err != nil {
				return err
			}
			if p.LoadBalancerID != "" && p.LoadBalancerID != l.LoadBalancerID {
				return apierr.Invalid("listener %s belongs to load balancer %s, not to loadbalancer_id %s", l.ID, l.LoadBalancerID, p.LoadBalancerID)
			}
			p.LoadBalancerID = l.LoadBalancerID
			if l.DefaultPoolID != "" {
				return apierr.Conflict("listener %s already has default pool %s; a listener has one default pool", l.ID, l.DefaultPoolID)
			}
			if !PoolFitsListener(l.Protocol, p.Protocol) {
				return errPoolProtocol(l, p)
			}
		}
		if p.LoadBalancerID == "" {
			return apierr.Invalid("one of loadbalancer_id and listener_id is required")
		}
		if _, err := s.lbTx(tx, sc, p.LoadBalancerID); err != nil {
			return err
		}
		if err := checkProjectQuota[Pool](s, tx, bPools, p.ProjectID, QuotaPool); err != nil {
			return err
		}
		if listenerID != "" {
			old := l
			l.DefaultPoolID, l.UpdatedAt = p.ID, p.CreatedAt
			if err := putListener(tx, &old, l); err != nil {
				return err
			}
		}
		if err := indexPool(tx, p); err != nil {
			return err
		}
		return putRec(tx, bPools, p.ID, p)
	})
}

// GetPool returns the pool; 404 if sc cannot see it.
func (s *Store) GetPool(sc Scope, id string) (Pool, error) {
	return view(s, func(tx *bolt.Tx) (Pool, error) { return s.poolTx(tx, sc, id) })
}

// ListPools returns sc's pools, oldest first.
func (s *Store) ListPools(sc Scope) ([]Pool, error) {
	return listScoped[Pool](s, bPools, sc)
}

// PoolListenerID is the ID of the listener whose default pool is poolID, or "".
func (s *Store) PoolListenerID(sc Scope, poolID string) (string, error) {
	var id string
	err := s.db.View(func(tx *bolt.Tx) error {
		if _, err := s.poolTx(tx, sc, poolID); err != nil {
			return err
		}
		l, ok, err := listenerOfPool(tx, poolID)
		if ok {
			id = l.ID
		}
		return err
	})
	return id, err
}

// UpdatePool applies fn and saves the checked result. LoadBalancerID, Protocol and
// HealthMonitorID cannot change; a new Type must admit every member the pool already has.
func (s *Store) UpdatePool(sc Scope, id string, fn func(*Pool) error) (Pool, error) {
	load := func(tx *bolt.Tx) (Pool, error) { return s.poolTx(tx, sc, id) }
	return update(s, bPools, id, load, fn, func(tx *bolt.Tx, old Pool, nv *Pool) error {
		nv.Meta, nv.LoadBalancerID, nv.Protocol, nv.HealthMonitorID = old.Meta, old.LoadBalancerID, old.Protocol, old.HealthMonitorID
		if err := CheckPool(*nv); err != nil {
			return err
		}
		if err := CheckPoolChange(old, *nv); err != nil {
			return err
		}
		if nv.Type != old.Type {
			ms, err := scanRec[Member](tx, bMembers, id+"/")
			if err != nil {
				return err
			}
			for _, m := range ms {
				if err := CheckPoolType(*nv, m.MemberType()); err != nil {
					return apierr.Invalid("type cannot become %q: member %s (%s:%d) is of type %s", nv.Type, m.ID, m.Address, m.ProtocolPort, m.MemberType())
				}
			}
		}
		nv.UpdatedAt = s.now()
		return nil
	})
}

// DeletePool deletes the pool; 409 while it has members or a health monitor. A listener that
// used it as default pool is left without one.
func (s *Store) DeletePool(sc Scope, id string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		p, err := s.poolTx(tx, sc, id)
		if err != nil {
			return err
		}
		k, _ := tx.Bucket(bMembers).Cursor().Seek([]byte(id + "/"))
		if k != nil && strings.HasPrefix(string(k), id+"/") {
			return errInUse("pool", id, "it still has members; delete them first")
		}
		if p.HealthMonitorID != "" {
			return errInUse("pool", id, "health monitor %s checks it; delete the health monitor first", p.HealthMonitorID)
		}
		if err := s.unbindPool(tx, id); err != nil {
			return err
		}
		if err := unindexPool(tx, p); err != nil {
			return err
		}
		return tx.Bucket(bPools).Delete([]byte(id))
	})
}

// ---- members ----

// poolCtx is a pool with its load balancer.
type poolCtx struct {
	pool Pool
	lb   LoadBalancer
}

// memberAddresses is the set of every member's address, read from the address index's keys.
func memberAddresses(tx *bolt.Tx) map[netip.Addr]bool {
	out := map[netip.Addr]bool{}
	_ = tx.Bucket(bMemberAddr).ForEach(func(k, _ []byte) error {
		_, hostPort, _ := strings.Cut(string(k), "/")
		if ap, err := netip.ParseAddrPort(hostPort); err == nil {
			out[ap.Addr()] = true
		}
		return nil
	})
	return out
}

func (s *Store) poolCtxTx(tx *bolt.Tx, sc Scope, poolID string) (*poolCtx, error) {
	p, err := s.poolTx(tx, sc, poolID)
	if err != nil {
		return nil, err
	}
	lb, err := s.lbTx(tx, sc, p.LoadBalancerID)
	if err != nil {
		return nil, err
	}
	return &poolCtx{pool: p, lb: lb}, nil
}

func addrKey(poolID, address string, port int) []byte {
	return []byte(poolID + "/" + memberKey(address, port))
}

// memberAt returns the pool's member with this address and port, if any.
func (s *Store) memberAt(tx *bolt.Tx, poolID, address string, port int) (Member, bool, error) {
	id := tx.Bucket(bMemberAddr).Get(addrKey(poolID, address, port))
	if id == nil {
		return Member{}, false, nil
	}
	return getRec[Member](tx, bMembers, poolID+"/"+string(id))
}

func (s *Store) putMember(tx *bolt.Tx, m Member) error {
	if err := putRec(tx, bMembers, memberRecKey(m), m); err != nil {
		return err
	}
	return indexMember(tx, m)
}

func (s *Store) deleteMember(tx *bolt.Tx, m Member) error {
	if err := tx.Bucket(bMembers).Delete([]byte(memberRecKey(m))); err != nil {
		return err
	}
	return unindexMember(tx, m)
}

func (s *Store) newMember(sc Scope, pc *poolCtx, m Member, now time.Time) (Member, error) {
	m.Meta, m.PoolID, m.LoadBalancerID = newMeta(sc, now), pc.pool.ID, pc.pool.LoadBalancerID
	if err := CheckMember(m, pc.pool, pc.lb, s.net); err != nil {
		return Member{}, err
	}
	return m, nil
}

// CreateMember adds a member to the pool after CheckMember; 409 if the pool already has a member
// with the same address and port.
func (s *Store) CreateMember(sc Scope, poolID string, m Member) (Member, error) {
	return written(s, &m, func(tx *bolt.Tx) error {
		pc, err := s.poolCtxTx(tx, sc, poolID)
		if err != nil {
			return err
		}
		if m, err = s.newMember(sc, pc, m, s.now()); err != nil {
			return err
		}
		o, dup, err := s.memberAt(tx, poolID, m.Address, m.ProtocolPort)
		if err != nil {
			return err
		}
		if dup {
			return apierr.Conflict("pool %s already has member %s with address %s and port %d", poolID, o.ID, m.Address, m.ProtocolPort)
		}
		if err := s.checkMemberQuotas(tx, pc.pool, 1); err != nil {
			return err
		}
		return s.putMember(tx, m)
	})
}

// atIndex prefixes a rule violation with the batch entry it is about: "members[i]: ...".
func atIndex(i int, err error) error {
	var ae *apierr.Error
	if errors.As(err, &ae) {
		return &apierr.Error{Status: ae.Status, Code: ae.Code, Msg: fmt.Sprintf("members[%d]: %s", i, ae.Msg)}
	}
	return err
}

// BatchAddMembers adds members to the pool in one transaction: all are checked first and none is
// added if any breaks a rule, or if the request names one address and port twice (400). A member
// whose address and port the pool already has is reported Existed and left unchanged.
func (s *Store) BatchAddMembers(sc Scope, poolID string, ms []Member) ([]BatchAddResult, error) {
	var out []BatchAddResult
	return written(s, &out, func(tx *bolt.Tx) error {
		out = out[:0]
		pc, err := s.poolCtxTx(tx, sc, poolID)
		if err != nil {
			return err
		}
		now := s.now()
		seen := map[string]int{}
		for i, m := range ms {
			key := memberKey(m.Address, m.ProtocolPort)
			if j, dup := seen[key]; dup {
				return apierr.Invalid("members[%d] and members[%d] both have address %s and port %d; list each member once", j, i, m.Address, m.ProtocolPort)
			}
			seen[key] = i
			o, ok, err := s.memberAt(tx, poolID, m.Address, m.ProtocolPort)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, BatchAddResult{Member: o, Existed: true})
				continue
			}
			nm, err := s.newMember(sc, pc, m, now)
			if err != nil {
				return atIndex(i, err)
			}
			out = append(out, BatchAddResult{Member: nm})
		}
		added := 0
		for _, r := range out {
			if !r.Existed {
				added++
			}
		}
		// A batch over a quota adds nobody (E1).
		if err := s.checkMemberQuotas(tx, pc.pool, added); err != nil {
			return err
		}
		for _, r := range out {
			if !r.Existed {
				if err := s.putMember(tx, r.Member); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func (s *Store) memberTx(tx *bolt.Tx, sc Scope, poolID, id string) (Member, error) {
	pid := tx.Bucket(bMemberPool).Get([]byte(id))
	if pid == nil || (poolID != "" && string(pid) != poolID) {
		return Member{}, errNotFound("member", id)
	}
	return getScoped[Member](tx, bMembers, sc, "member", string(pid)+"/"+id, id)
}

// GetMember returns member id of poolID (poolID "" finds it in any pool); 404 if sc cannot see
// it or it is in another pool.
func (s *Store) GetMember(sc Scope, poolID, id string) (Member, error) {
	var m Member
	err := s.db.View(func(tx *bolt.Tx) error {
		if poolID != "" {
			if _, err := s.poolTx(tx, sc, poolID); err != nil {
				return err
			}
		}
		var err error
		m, err = s.memberTx(tx, sc, poolID, id)
		return err
	})
	return m, err
}

// ListMembers returns the pool's members, oldest first; 404 if sc cannot see the pool.
func (s *Store) ListMembers(sc Scope, poolID string) ([]Member, error) {
	var out []Member
	err := s.db.View(func(tx *bolt.Tx) error {
		if _, err := s.poolTx(tx, sc, poolID); err != nil {
			return err
		}
		var err error
		out, err = scanRec[Member](tx, bMembers, poolID+"/")
		return err
	})
	sortByCreated(out)
	return out, err
}

// ListAllMembers returns every member sc can see, oldest first.
func (s *Store) ListAllMembers(sc Scope) ([]Member, error) {
	return listScoped[Member](s, bMembers, sc)
}

// UpdateMember applies fn to member id of poolID and saves the checked result. Only Name,
// Weight and AdminStateUp can change.
func (s *Store) UpdateMember(sc Scope, poolID, id string, fn func(*Member) error) (Member, error) {
	var out Member
	err := s.db.Update(func(tx *bolt.Tx) error {
		pc, err := s.poolCtxTx(tx, sc, poolID)
		if err != nil {
			return err
		}
		old, err := s.memberTx(tx, sc, poolID, id)
		if err != nil {
			return err
		}
		nv := old
		if err := fn(&nv); err != nil {
			return err
		}
		out, err = s.applyMemberChange(tx, pc, old, nv)
		return err
	})
	return out, err
}

func (s *Store) applyMemberChange(tx *bolt.Tx, pc *poolCtx, old, nv Member) (Member, error) {
	nv.Meta, nv.PoolID, nv.LoadBalancerID, nv.Address, nv.ProtocolPort, nv.SubnetID =
		old.Meta, old.PoolID, old.LoadBalancerID, old.Address, old.ProtocolPort, old.SubnetID
	if err := CheckWeight(nv.Weight); err != nil {
		return Member{}, err
	}
	if err := CheckText("name", nv.Name, MaxNameLen); err != nil {
		return Member{}, err
	}
	nv.UpdatedAt = s.now()
	return nv, s.putMember(tx, nv)
}

// BatchUpdateMembers changes several members of the pool in one transaction; nothing changes if
// any member is missing (404) or any change breaks a rule.
func (s *Store) BatchUpdateMembers(sc Scope, poolID string, ups []MemberUpdate) ([]Member, error) {
	var out []Member
	return written(s, &out, func(tx *bolt.Tx) error {
		out = out[:0]
		pc, err := s.poolCtxTx(tx, sc, poolID)
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for i, u := range ups {
			if seen[u.ID] {
				return apierr.Invalid("members[%d]: member %s is listed twice; list each member once", i, u.ID)
			}
			seen[u.ID] = true
			old, err := s.memberTx(tx, sc, poolID, u.ID)
			if err != nil {
				return err
			}
			nv := old
			if u.Name != nil {
				nv.Name = *u.Name
			}
			if u.Weight != nil {
				nv.Weight = *u.Weight
			}
			if u.AdminStateUp != nil {
				nv.AdminStateUp = *u.AdminStateUp
			}
			m, err := s.applyMemberChange(tx, pc, old, nv)
			if err != nil {
				return atIndex(i, err)
			}
			out = append(out, m)
		}
		return nil
	})
}

// DeleteMember deletes member id of poolID.
func (s *Store) DeleteMember(sc Scope, poolID, id string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		p, err := s.poolTx(tx, sc, poolID)
		if err != nil {
			return err
		}
		m, err := s.memberTx(tx, sc, poolID, id)
		if err != nil {
			return err
		}
		if err := CheckMemberRemoval(p, "deleting member "+id); err != nil {
			return err
		}
		return s.deleteMember(tx, m)
	})
}

// BatchDeleteMembers deletes the named members of the pool in one transaction and answers each
// ref in request order (E5): its member's ID, or NotFound when no member of the pool matches (the
// others are still deleted, as the real API answers "not found" per member). A ref names a member
// by ID, or by Address and ProtocolPort; an incomplete ref, or one member named twice, is a 400
// and nothing is deleted.
func (s *Store) BatchDeleteMembers(sc Scope, poolID string, refs []MemberRef) ([]BatchDeleteResult, error) {
	var out []BatchDeleteResult
	return written(s, &out, func(tx *bolt.Tx) error {
		out = out[:0]
		p, err := s.poolTx(tx, sc, poolID)
		if err != nil {
			return err
		}
		if err := CheckMemberRemoval(p, "a batch delete of its members"); err != nil {
			return err
		}
		// Every ref is resolved before anything is deleted: a member named twice (by id, or by
		// id and by address) would otherwise be deleted by the first ref and "not found" by
		// the second.
		found := make([]*Member, len(refs))
		done := map[string]bool{}
		for i, r := range refs {
			var m Member
			var ok bool
			switch {
			case r.ID != "":
				var err error
				m, err = s.memberTx(tx, sc, poolID, r.ID)
				ok = err == nil
			case r.Address != "" && r.ProtocolPort != 0:
				var err error
				if m, ok, err = s.memberAt(tx, poolID, r.Address, r.ProtocolPort); err != nil {
					return err
				}
			default:
				return apierr.Invalid("members[%d]: give either id, or address and protocol_port", i)
			}
			if !ok {
				continue
			}
			if done[m.ID] {
				return apierr.Invalid("members[%d]: member %s is named twice; name each member once", i, m.ID)
			}
			done[m.ID] = true
			found[i] = &m
		}
		for i, m := range found {
			if m == nil {
				out = append(out, BatchDeleteResult{ID: refs[i].ID, NotFound: true})
				continue
			}
			if err := s.deleteMember(tx, *m); err != nil {
				return err
			}
			out = append(out, BatchDeleteResult{ID: m.ID})
		}
		return nil
	})
}

// ---- health monitors ----

func (s *Store) monitorTx(tx *bolt.Tx, sc Scope, id string) (HealthMonitor, error) {
	return getScoped[HealthMonitor](tx, bHealthMonitors, sc, "healthmonitor", id, id)
}

// CreateHealthMonitor stores a monitor for h.PoolID after CheckHealthMonitor; 409 if the pool
// already has one.
func (s *Store) CreateHealthMonitor(sc Scope, h HealthMonitor) (HealthMonitor, error) {
	h.Meta = newMeta(sc, s.now())
	return written(s, &h, func(tx *bolt.Tx) error {
		if h.PoolID == "" {
			return apierr.Invalid("pool_id is required")
		}
		p, err := s.poolTx(tx, sc, h.PoolID)
		if err != nil {
			return err
		}
		if p.HealthMonitorID != "" {
			return apierr.Conflict("pool %s already has health monitor %s; update that one or delete it first", p.ID, p.HealthMonitorID)
		}
		if err := CheckHealthMonitor(h, p); err != nil {
			return err
		}
		if err := checkProjectQuota[HealthMonitor](s, tx, bHealthMonitors, h.ProjectID, QuotaHealthMonitor); err != nil {
			return err
		}
		h.LoadBalancerID = p.LoadBalancerID
		p.HealthMonitorID = h.ID
		if err := putRec(tx, bPools, p.ID, p); err != nil {
			return err
		}
		return putRec(tx, bHealthMonitors, h.ID, h)
	})
}

// GetHealthMonitor returns the monitor; 404 if sc cannot see it.
func (s *Store) GetHealthMonitor(sc Scope, id string) (HealthMonitor, error) {
	return view(s, func(tx *bolt.Tx) (HealthMonitor, error) { return s.monitorTx(tx, sc, id) })
}

// ListHealthMonitors returns sc's monitors, oldest first.
func (s *Store) ListHealthMonitors(sc Scope) ([]HealthMonitor, error) {
	return listScoped[HealthMonitor](s, bHealthMonitors, sc)
}

// UpdateHealthMonitor applies fn and saves the checked result. PoolID cannot change; a new Type
// must still suit the pool.
func (s *Store) UpdateHealthMonitor(sc Scope, id string, fn func(*HealthMonitor) error) (HealthMonitor, error) {
	load := func(tx *bolt.Tx) (HealthMonitor, error) { return s.monitorTx(tx, sc, id) }
	return update(s, bHealthMonitors, id, load, fn, func(tx *bolt.Tx, old HealthMonitor, nv *HealthMonitor) error {
		nv.Meta, nv.PoolID, nv.LoadBalancerID = old.Meta, old.PoolID, old.LoadBalancerID
		p, err := s.poolTx(tx, sc, nv.PoolID)
		if err != nil {
			return err
		}
		if err := CheckHealthMonitor(*nv, p); err != nil {
			return err
		}
		nv.UpdatedAt = s.now()
		return nil
	})
}

// DeleteHealthMonitor deletes the monitor and detaches it from its pool.
func (s *Store) DeleteHealthMonitor(sc Scope, id string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		h, err := s.monitorTx(tx, sc, id)
		if err != nil {
			return err
		}
		p, ok, err := getRec[Pool](tx, bPools, h.PoolID)
		if err != nil {
			return err
		}
		if ok && p.HealthMonitorID == id {
			p.HealthMonitorID = ""
			if err := putRec(tx, bPools, p.ID, p); err != nil {
				return err
			}
		}
		return tx.Bucket(bHealthMonitors).Delete([]byte(id))
	})
}

// ---- snapshot ----

// Snapshot returns every resource of both families as of one read transaction.
func (s *Store) Snapshot() (Snapshot, error) {
	var snap Snapshot
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		if snap.LoadBalancers, err = scanRec[LoadBalancer](tx, bLoadBalancers, ""); err != nil {
			return err
		}
		if snap.Listeners, err = scanRec[Listener](tx, bListeners, ""); err != nil {
			return err
		}
		if snap.Pools, err = scanRec[Pool](tx, bPools, ""); err != nil {
			return err
		}
		if snap.Members, err = scanRec[Member](tx, bMembers, ""); err != nil {
			return err
		}
		snap.HealthMonitors, err = scanRec[HealthMonitor](tx, bHealthMonitors, "")
		return err
	})
	sortByCreated(snap.LoadBalancers)
	sortByCreated(snap.Listeners)
	sortByCreated(snap.Pools)
	sortByCreated(snap.Members)
	sortByCreated(snap.HealthMonitors)
	return snap, err
}

// ---- cascading deletes ----

// deletePoolTx deletes a pool with its members and health monitor, and unbinds it from its listener.
// checkRemovalTx is CheckMemberRemoval for a call that removes p's members, if it has any.
func (s *Store) checkRemovalTx(tx *bolt.Tx, p Pool, call string) error {
	k, _ := tx.Bucket(bMembers).Cursor().Seek([]byte(p.ID + "/"))
	if k == nil || !strings.HasPrefix(string(k), p.ID+"/") {
		return nil
	}
	return CheckMemberRemoval(p, call)
}

func (s *Store) deletePoolTx(tx *bolt.Tx, p Pool, call string) error {
	if err := s.checkRemovalTx(tx, p, call); err != nil {
		return err
	}
	ms, err := scanRec[Member](tx, bMembers, p.ID+"/")
	if err != nil {
		return err
	}
	for _, m := range ms {
		if err := s.deleteMember(tx, m); err != nil {
			return err
		}
	}
	if p.HealthMonitorID != "" {
		if err := tx.Bucket(bHealthMonitors).Delete([]byte(p.HealthMonitorID)); err != nil {
			return err
		}
	}
	if err := s.unbindPool(tx, p.ID); err != nil {
		return err
	}
	if err := unindexPool(tx, p); err != nil {
		return err
	}
	return tx.Bucket(bPools).Delete([]byte(p.ID))
}

// DeletePoolCascade deletes the pool together with its members and health monitor (the v3
// delete-cascade call).
func (s *Store) DeletePoolCascade(sc Scope, id string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		p, err := s.poolTx(tx, sc, id)
		if err != nil {
			return err
		}
		return s.deletePoolTx(tx, p, "the cascade delete of the pool")
	})
}

// DeleteListenerCascade deletes the listener and unbinds its default pool; the pool, its members
// and health monitor stay (the v3 force-delete call: "删除监听器且级联删除其下子资源（删除监听器、转发
// 策略等，解绑后端服务器组）", services/elb/v3/elb_client.go DeleteListenerForce; E6b). It is
// refused while that pool has members and member_deletion_protection_enable, which names this
// call among those it blocks (model_create_pool_option.go; E6c).
func (s *Store) DeleteListenerCascade(sc Scope, id string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		l, err := s.listenerTx(tx, sc, id)
		if err != nil {
			return err
		}
		if l.DefaultPoolID != "" {
			p, ok, err := getRec[Pool](tx, bPools, l.DefaultPoolID)
			if err != nil {
				return err
			}
			if ok {
				if err := s.checkRemovalTx(tx, p, "the force delete of listener "+id); err != nil {
					return err
				}
			}
		}
		return deleteListenerRec(tx, l)
	})
}

// DeleteLoadBalancerCascade deletes the load balancer with all its listeners, pools, members and
// health monitors (the v3 force-elb call).
func (s *Store) DeleteLoadBalancerCascade(sc Scope, id string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if _, err := s.lbTx(tx, sc, id); err != nil {
			return err
		}
		ps, err := s.poolsOfLB(tx, id)
		if err != nil {
			return err
		}
		for _, p := range ps {
			if err := s.deletePoolTx(tx, p, "the force delete of load balancer "+id); err != nil {
				return err
			}
		}
		ls, err := listenersOfLB(tx, id, 0)
		if err != nil {
			return err
		}
		for _, l := range ls {
			if err := deleteListenerRec(tx, l); err != nil {
				return err
			}
		}
		return tx.Bucket(bLoadBalancers).Delete([]byte(id))
	})
}
