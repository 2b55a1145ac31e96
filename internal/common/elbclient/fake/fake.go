// Package fake is an in-memory elbclient.Client for unit tests of code above the ELB client. It keeps
// the ELB's rules that matter to callers (unique listener port per protocol, unique member
// address:port per pool, a pool must be empty and unmonitored before it is deleted, a listener must
// lose its pool first), counts write calls, and can inject failures — including ambiguous ones
// where the write happened but the caller sees an error.
package fake

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/common/fleetrecord"
)

// ELB is the fake. The zero value is not usable; call New.
type ELB struct {
	mu        sync.Mutex
	seq       int
	lbs       map[string]*elbclient.LoadBalancer
	listeners map[string]*elbclient.Listener
	pools     map[string]*elbclient.Pool
	poolLB    map[string]string
	members   map[string][]*elbclient.Member // pool ID → members, in creation order
	monitors  map[string]*elbclient.HealthMonitor
	tags      map[string][]elbclient.Tag // listener ID → tags
	writes    int64
	byOp      map[string]int
	faults    []*fault
	// OnWrite, when set, runs before every write call (outside the lock), with the op name. Tests
	// use it to let another actor change the ELB between a caller's read and its write.
	OnWrite func(op string)
}

type fault struct {
	op      string
	left    int
	err     error
	applied bool // the write takes effect before err is returned (ambiguous outcome)
}

var _ elbclient.Client = (*ELB)(nil)

// New returns an empty fake ELB service.
func New() *ELB {
	return &ELB{
		lbs:       map[string]*elbclient.LoadBalancer{},
		listeners: map[string]*elbclient.Listener{},
		pools:     map[string]*elbclient.Pool{},
		poolLB:    map[string]string{},
		members:   map[string][]*elbclient.Member{},
		monitors:  map[string]*elbclient.HealthMonitor{},
		tags:      map[string][]elbclient.Tag{},
		byOp:      map[string]int{},
	}
}

// AddLoadBalancer creates an ELB, as an operator would; ID and VIP are filled in when empty.
func (f *ELB) AddLoadBalancer(lb elbclient.LoadBalancer) *elbclient.LoadBalancer {
	f.mu.Lock()
	defer f.mu.Unlock()
	if lb.ID == "" {
		lb.ID = f.id("lb")
	}
	if lb.VIP == "" {
		lb.VIP = fmt.Sprintf("127.10.0.%d", len(f.lbs)+1)
	}
	if lb.SubnetID == "" {
		lb.SubnetID = "subnet-" + lb.ID
	}
	f.lbs[lb.ID] = &lb
	c := lb
	return &c
}

// Fail makes the next n calls of op (e.g. "AddMembers") fail with err. With applied, the write
// takes effect first, as when a response is lost.
func (f *ELB) Fail(op string, n int, err error, applied bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, &fault{op: op, left: n, err: err, applied: applied})
}

// StatusError builds the error an SDK call returns for an HTTP status, e.g. 409 or 503.
func StatusError(op string, status int) error {
	kind := map[int]error{404: elbclient.ErrNotFound, 409: elbclient.ErrConflict, 500: elbclient.ErrServer, 503: elbclient.ErrServer, 429: elbclient.ErrThrottled}[status]
	if kind == nil {
		kind = elbclient.ErrBadRequest
	}
	return &elbclient.APIError{Op: op, StatusCode: status, Message: http.StatusText(status) + " (injected)", Kind: kind}
}

// Writes counts every write call.
func (f *ELB) Writes() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes
}

// WritesByOp counts write calls per op name.
func (f *ELB) WritesByOp() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.byOp)
}

// Check always succeeds.
func (f *ELB) Check(context.Context) error { return nil }

// GetLoadBalancer finds an ELB of either family.
func (f *ELB) GetLoadBalancer(_ context.Context, id string) (*elbclient.LoadBalancer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return copyOf(find(f.lbs, "GetLoadBalancer", "loadbalancer", id))
}

// API returns the calls on ELBs of class c.
func (f *ELB) API(c elbrules.Class) elbclient.API { return &api{f: f, class: c} }

// Listeners returns the listeners of an ELB, sorted by port (test helper).
func (f *ELB) Listeners(lbID string) []elbclient.Listener {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []elbclient.Listener
	for _, l := range f.listeners {
		if l.LoadBalancerID == lbID {
			out = append(out, *l)
		}
	}
	slices.SortFunc(out, func(a, b elbclient.Listener) int { return int(a.Port - b.Port) })
	return out
}

// Pool returns a pool, or nil (test helper).
func (f *ELB) Pool(id string) *elbclient.Pool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p, ok := f.pools[id]; ok {
		c := *p
		return &c
	}
	return nil
}

// Members returns a pool's members (test helper).
func (f *ELB) Members(poolID string) []elbclient.Member {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []elbclient.Member
	for _, m := range f.members[poolID] {
		out = append(out, *m)
	}
	return out
}

// Counts returns how many listeners, pools, members and monitors exist (test helper).
func (f *ELB) Counts() (listeners, pools, members, monitors int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ms := range f.members {
		members += len(ms)
	}
	return len(f.listeners), len(f.pools), members, len(f.monitors)
}

func (f *ELB) id(prefix string) string {
	f.seq++
	return fmt.Sprintf("%s-%04d", prefix, f.seq)
}

func notFound(op, what, id string) error {
	return &elbclient.APIError{Op: op, StatusCode: 404, Message: fmt.Sprintf("%s %s not found", what, id), Kind: elbclient.ErrNotFound}
}

func conflict(op, format string, args ...any) error {
	return &elbclient.APIError{Op: op, StatusCode: 409, Message: fmt.Sprintf(format, args...), Kind: elbclient.ErrConflict}
}

// find is the object of m with this id; notFound (a what) when there is none.
func find[T any](m map[string]*T, op, what, id string) (*T, error) {
	if x, ok := m[id]; ok {
		return x, nil
	}
	return nil, notFound(op, what, id)
}

// copyOf is a copy of x, so that the caller cannot change the fake's state.
func copyOf[T any](x *T, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	c := *x
	return &c, nil
}

// get is a copy of object id, found by find, read under the lock.
func get[T any](f *ELB, op, id string, find func(op, id string) (*T, error)) (*T, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return copyOf(find(op, id))
}

// create runs make as one write call and returns a copy of what it made (and stored).
func create[T any](ctx context.Context, f *ELB, op string, make func() (*T, error)) (*T, error) {
	var out *T
	err := f.write(ctx, op, func() (err error) {
		out, err = copyOf(make())
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// change runs one write call that sets something on object id, found by get.
func change[T any](ctx context.Context, f *ELB, op, id string, get func(op, id string) (*T, error), set func(*T)) error {
	return f.write(ctx, op, func() error {
		x, err := get(op, id)
		if err != nil {
			return err
		}
		set(x)
		return nil
	})
}

// write runs one write call: hook, count, faults, then fn under the lock.
func (f *ELB) write(ctx context.Context, op string, fn func() error) error {
	if f.OnWrite != nil {
		f.OnWrite(op)
	}
	elbclient.CountWrite(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	f.byOp[op]++
	for i, ft := range f.faults {
		if ft.op != op {
			continue
		}
		ft.left--
		if ft.left <= 0 {
			f.faults = slices.Delete(f.faults, i, i+1)
		}
		if ft.applied {
			if err := fn(); err != nil {
				return err
			}
		}
		return ft.err
	}
	return fn()
}

type api struct {
	f     *ELB
	class elbrules.Class
}

func (a *api) lb(op, id string) (*elbclient.LoadBalancer, error) {
	lb, ok := a.f.lbs[id]
	if !ok || lb.Class != a.class {
		return nil, notFound(op, "loadbalancer", id)
	}
	return lb, nil
}

func (a *api) listener(op, id string) (*elbclient.Listener, error) {
	return find(a.f.listeners, op, "listener", id)
}

func (a *api) monitor(op, id string) (*elbclient.HealthMonitor, error) {
	return find(a.f.monitors, op, "healthmonitor", id)
}

func (a *api) pool(op, id string) (*elbclient.Pool, error) {
	p, ok := a.f.pools[id]
	if !ok || a.f.lbs[a.f.poolLB[id]].Class != a.class {
		return nil, notFound(op, "pool", id)
	}
	return p, nil
}

func (a *api) ListListeners(_ context.Context, lbID string) ([]elbclient.Listener, error) {
	a.f.mu.Lock()
	if _, err := a.lb("ListListeners", lbID); err != nil {
		a.f.mu.Unlock()
		return nil, err
	}
	a.f.mu.Unlock()
	return a.f.Listeners(lbID), nil
}

func (a *api) CreateListener(ctx context.Context, spec elbclient.ListenerSpec) (*elbclient.Listener, error) {
	return create(ctx, a.f, "CreateListener", func() (*elbclient.Listener, error) {
		if _, err := a.lb("CreateListener", spec.LoadBalancerID); err != nil {
			return nil, err
		}
		for _, l := range a.f.listeners {
			if l.LoadBalancerID == spec.LoadBalancerID && l.Port == spec.Port && strings.EqualFold(l.Protocol, spec.Protocol) {
				return nil, conflict("CreateListener", "%s port %d is already used by listener %s", spec.Protocol, spec.Port, l.ID)
			}
		}
		l := &elbclient.Listener{ID: a.f.id("listener"), LoadBalancerID: spec.LoadBalancerID, Name: spec.Name,
			Description: spec.Description, Protocol: spec.Protocol, Port: spec.Port}
		a.f.listeners[l.ID] = l
		return l, nil
	})
}

func (a *api) DeleteListener(ctx context.Context, id string) error {
	return a.f.write(ctx, "DeleteListener", func() error {
		l, err := a.listener("DeleteListener", id)
		if err != nil {
			return err
		}
		if l.DefaultPoolID != "" {
			return conflict("DeleteListener", "listener %s still has default pool %s", id, l.DefaultPoolID)
		}
		delete(a.f.listeners, id)
		return nil
	})
}

func (a *api) GetPool(_ context.Context, id string) (*elbclient.Pool, error) {
	return get(a.f, "GetPool", id, a.pool)
}

func (a *api) CreatePool(ctx context.Context, spec elbclient.PoolSpec) (*elbclient.Pool, error) {
	return create(ctx, a.f, "CreatePool", func() (*elbclient.Pool, error) {
		l, err := a.listener("CreatePool", spec.ListenerID)
		if err != nil {
			return nil, err
		}
		if l.DefaultPoolID != "" {
			return nil, conflict("CreatePool", "listener %s already has default pool %s", l.ID, l.DefaultPoolID)
		}
		p := &elbclient.Pool{ID: a.f.id("pool"), Name: spec.Name, Description: spec.Description, Protocol: spec.Protocol, Algorithm: spec.Algorithm}
		a.f.pools[p.ID] = p
		a.f.poolLB[p.ID] = l.LoadBalancerID
		l.DefaultPoolID = p.ID
		return p, nil
	})
}

// SetPoolType sets a pool's v3 type ("instance", "ip", ""), as an operator could (test helper).
func (f *ELB) SetPoolType(poolID, typ string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pools[poolID].Type = typ
}

func (a *api) DeletePool(ctx context.Context, id string) error {
	return a.f.write(ctx, "DeletePool", func() error {
		p, err := a.pool("DeletePool", id)
		if err != nil {
			return err
		}
		if len(a.f.members[id]) > 0 || p.HealthMonitorID != "" {
			return conflict("DeletePool", "pool %s still has members or a health monitor", id)
		}
		for _, l := range a.f.listeners {
			if l.DefaultPoolID == id {
				l.DefaultPoolID = ""
			}
		}
		delete(a.f.pools, id)
		delete(a.f.poolLB, id)
		delete(a.f.members, id)
		return nil
	})
}

func (a *api) ListMembers(_ context.Context, poolID string) ([]elbclient.Member, error) {
	a.f.mu.Lock()
	if _, err := a.pool("ListMembers", poolID); err != nil {
		a.f.mu.Unlock()
		return nil, err
	}
	a.f.mu.Unlock()
	return a.f.Members(poolID), nil
}

// AddMembers is one batch call on performance ELBs and one call per member on union ELBs, like
// the real client. A member whose address:port is already in the pool is reported Existed.
func (a *api) AddMembers(ctx context.Context, poolID string, specs []elbclient.MemberSpec) ([]elbclient.AddedMember, error) {
	var out []elbclient.AddedMember
	add := func(spec elbclient.MemberSpec) error {
		p, err := a.pool("AddMembers", poolID)
		if err != nil {
			return err
		}
		if !elbrules.ValidWeight(spec.Weight) {
			return &elbclient.APIError{Op: "AddMembers", StatusCode: 400, Message: "weight out of range", Kind: elbclient.ErrBadRequest}
		}
		if spec.SubnetID == "" && a.class == elbrules.ClassUnion {
			spec.SubnetID = a.f.lbs[a.f.poolLB[poolID]].SubnetID
		}
		if spec.SubnetID == "" && (p.Type == "instance" || !a.f.lbs[a.f.poolLB[poolID]].IPTargetEnable) {
			return &elbclient.APIError{Op: "AddMembers", StatusCode: 400, Message: "IP-type members need ip_target_enable and a pool that is not instance-type", Kind: elbclient.ErrBadRequest}
		}
		for _, m := range a.f.members[poolID] {
			if m.Address == spec.Address && m.Port == spec.Port {
				out = append(out, elbclient.AddedMember{Member: *m, Existed: true})
				return nil
			}
		}
		m := &elbclient.Member{ID: a.f.id("member"), Name: spec.Name, Address: spec.Address, Port: spec.Port, Weight: spec.Weight, SubnetID: spec.SubnetID}
		a.f.members[poolID] = append(a.f.members[poolID], m)
		out = append(out, elbclient.AddedMember{Member: *m})
		return nil
	}
	if a.class == elbrules.ClassUnion {
		for _, s := range specs {
			if err := a.f.write(ctx, "AddMembers", func() error { return add(s) }); err != nil {
				return out, err
			}
		}
		return out, nil
	}
	err := a.f.write(ctx, "AddMembers", func() error {
		for _, s := range specs {
			if err := add(s); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

func (a *api) UpdateMemberWeights(ctx context.Context, poolID string, updates []elbclient.WeightUpdate) error {
	return a.f.write(ctx, "UpdateMemberWeights", func() error {
		if _, err := a.pool("UpdateMemberWeights", poolID); err != nil {
			return err
		}
		byID := map[string]*elbclient.Member{}
		for _, m := range a.f.members[poolID] {
			byID[m.ID] = m
		}
		for _, u := range updates {
			if byID[u.MemberID] == nil {
				return notFound("UpdateMemberWeights", "member", u.MemberID)
			}
		}
		for _, u := range updates {
			byID[u.MemberID].Weight = u.Weight
		}
		return nil
	})
}

func (a *api) DeleteMembers(ctx context.Context, poolID string, ids []string) error {
	return a.f.write(ctx, "DeleteMembers", func() error {
		if _, err := a.pool("DeleteMembers", poolID); err != nil {
			return err
		}
		ms := a.f.members[poolID]
		for _, id := range ids {
			if !slices.ContainsFunc(ms, func(m *elbclient.Member) bool { return m.ID == id }) {
				return notFound("DeleteMembers", "member", id)
			}
		}
		a.f.members[poolID] = slices.DeleteFunc(ms, func(m *elbclient.Member) bool { return slices.Contains(ids, m.ID) })
		return nil
	})
}

func (a *api) GetHealthMonitor(_ context.Context, id string) (*elbclient.HealthMonitor, error) {
	return get(a.f, "GetHealthMonitor", id, a.monitor)
}

func (a *api) CreateHealthMonitor(ctx context.Context, spec elbclient.HealthMonitorSpec) (*elbclient.HealthMonitor, error) {
	return create(ctx, a.f, "CreateHealthMonitor", func() (*elbclient.HealthMonitor, error) {
		p, err := a.pool("CreateHealthMonitor", spec.PoolID)
		if err != nil {
			return nil, err
		}
		if p.HealthMonitorID != "" {
			return nil, conflict("CreateHealthMonitor", "pool %s already has health monitor %s", p.ID, p.HealthMonitorID)
		}
		hm := &elbclient.HealthMonitor{ID: a.f.id("hm"), PoolID: p.ID, Type: spec.Type, Delay: spec.Delay, Timeout: spec.Timeout, MaxRetries: spec.MaxRetries, URLPath: spec.URLPath}
		a.f.monitors[hm.ID] = hm
		p.HealthMonitorID = hm.ID
		return hm, nil
	})
}

func (a *api) DeleteHealthMonitor(ctx context.Context, id string) error {
	return a.f.write(ctx, "DeleteHealthMonitor", func() error {
		hm, err := a.monitor("DeleteHealthMonitor", id)
		if err != nil {
			return err
		}
		if p, ok := a.f.pools[hm.PoolID]; ok {
			p.HealthMonitorID = ""
		}
		delete(a.f.monitors, id)
		return nil
	})
}

func (a *api) ListListenersOnPort(ctx context.Context, lbID string, port int32) ([]elbclient.Listener, error) {
	all, err := a.ListListeners(ctx, lbID)
	if err != nil {
		return nil, err
	}
	var out []elbclient.Listener
	for _, l := range all {
		if l.Port == port {
			out = append(out, l)
		}
	}
	return out, nil
}

func (a *api) UpdatePoolAlgorithm(ctx context.Context, id, algorithm string) error {
	return change(ctx, a.f, "UpdatePoolAlgorithm", id, a.pool, func(p *elbclient.Pool) { p.Algorithm = algorithm })
}

func (a *api) UpdateHealthMonitor(ctx context.Context, id string, spec elbclient.HealthMonitorSpec) error {
	return change(ctx, a.f, "UpdateHealthMonitor", id, a.monitor, func(hm *elbclient.HealthMonitor) {
		hm.Type, hm.Delay, hm.Timeout, hm.MaxRetries, hm.URLPath = spec.Type, spec.Delay, spec.Timeout, spec.MaxRetries, spec.URLPath
	})
}

// ListLoadBalancers lists every ELB, by ID.
func (f *ELB) ListLoadBalancers(context.Context) ([]elbclient.LoadBalancer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []elbclient.LoadBalancer
	for _, lb := range f.lbs {
		out = append(out, *lb)
	}
	slices.SortFunc(out, func(a, b elbclient.LoadBalancer) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (a *api) UpdateListenerDescription(ctx context.Context, id, description string) error {
	return change(ctx, a.f, "UpdateListenerDescription", id, a.listener, func(l *elbclient.Listener) { l.Description = description })
}

func (a *api) UpdatePoolDescription(ctx context.Context, id, description string) error {
	return change(ctx, a.f, "UpdatePoolDescription", id, a.pool, func(p *elbclient.Pool) { p.Description = description })
}

func (a *api) RenameMembers(ctx context.Context, poolID string, renames []elbclient.MemberRename) error {
	return change(ctx, a.f, "RenameMembers", poolID, a.pool, func(*elbclient.Pool) {
		for _, r := range renames {
			for _, m := range a.f.members[poolID] {
				if m.ID == r.MemberID {
					m.Name = r.Name
				}
			}
		}
	})
}

func (a *api) ListenerTags(_ context.Context, id string) ([]elbclient.Tag, error) {
	a.f.mu.Lock()
	defer a.f.mu.Unlock()
	if _, err := a.listener("ListenerTags", id); err != nil {
		return nil, err
	}
	return slices.Clone(a.f.tags[id]), nil
}

// TagListener keeps the real API's limit of 20 tags per listener (fleetrecord.MaxTagsPerObject).
func (a *api) TagListener(ctx context.Context, id string, tags []elbclient.Tag) error {
	return a.f.write(ctx, "TagListener", func() error {
		if _, err := a.listener("TagListener", id); err != nil {
			return err
		}
		out := slices.Clone(a.f.tags[id])
		for _, t := range tags {
			if i := slices.IndexFunc(out, func(c elbclient.Tag) bool { return c.Key == t.Key }); i >= 0 {
				out[i].Value = t.Value
			} else {
				out = append(out, t)
			}
		}
		if len(out) > fleetrecord.MaxTagsPerObject {
			return &elbclient.APIError{Op: "TagListener", StatusCode: 400, Message: "too many tags", Kind: elbclient.ErrBadRequest}
		}
		a.f.tags[id] = out
		return nil
	})
}

func (a *api) UntagListener(ctx context.Context, id string, keys []string) error {
	return change(ctx, a.f, "UntagListener", id, a.listener, func(*elbclient.Listener) {
		a.f.tags[id] = slices.DeleteFunc(a.f.tags[id], func(t elbclient.Tag) bool { return slices.Contains(keys, t.Key) })
	})
}
