package elbclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	v2model "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"
)

// v2API programs shared (union) ELBs through services/elb/v2. v2 has no batch member calls:
// members are added, updated and deleted one call each; and every member needs a subnet, which
// is the ELB's VIP subnet when the caller gives none.
type v2API struct{ c *SDK }

// enum builds one of the SDK's v2 enum types (unexported value) from its string.
func enum[T any, PT interface {
	*T
	UnmarshalJSON([]byte) error
}](s string) (T, error) {
	var v T
	b, _ := json.Marshal(s)
	err := PT(&v).UnmarshalJSON(b)
	return v, err
}

func (a *v2API) ListListeners(ctx context.Context, lbID string) ([]Listener, error) {
	return a.listListeners(ctx, lbID, nil)
}

// listListeners lists the listeners of ELB lbID, only those on *port unless port is nil.
func (a *v2API) listListeners(ctx context.Context, lbID string, port *int32) ([]Listener, error) {
	ls, err := list(ctx, a.c, true, "v2 ListListeners", a.c.v2.ListListeners, func(marker *string) *v2model.ListListenersRequest {
		return &v2model.ListListenersRequest{LoadbalancerId: &lbID, ProtocolPort: port, Limit: ptr(int32(pageSize)), Marker: marker}
	}, func(r *v2model.ListListenersResponse) ([]v2model.ListenerResp, *string) {
		return deref(r.Listeners), nil
	},
		func(l v2model.ListenerResp) string { return l.Id }, listenerFromV2(lbID))
	return onPort(ls, port), err
}

// listenerFromV2 converts a listener of ELB lbID (unless it names its own).
func listenerFromV2(lbID string) func(v2model.ListenerResp) Listener {
	return func(l v2model.ListenerResp) Listener {
		lb := lbID
		if len(l.Loadbalancers) > 0 {
			lb = l.Loadbalancers[0].Id
		}
		return Listener{ID: l.Id, LoadBalancerID: lb, Name: l.Name, Description: l.Description, Protocol: l.Protocol.Value(), Port: l.ProtocolPort, DefaultPoolID: l.DefaultPoolId}
	}
}

func (a *v2API) CreateListener(ctx context.Context, spec ListenerSpec) (*Listener, error) {
	proto, err := enum[v2model.CreateListenerReqProtocol](spec.Protocol)
	if err != nil {
		return nil, fmt.Errorf("listener protocol %q: %w", spec.Protocol, err)
	}
	return create(ctx, a.c, true, "v2 CreateListener", spec.LoadBalancerID, a.c.v2.CreateListener,
		&v2model.CreateListenerRequest{Body: &v2model.CreateListenerRequestBody{Listener: &v2model.CreateListenerReq{
			LoadbalancerId: spec.LoadBalancerID, Protocol: proto, ProtocolPort: spec.Port, Name: ptr(spec.Name), Description: ptr(spec.Description),
		}}}, func(r *v2model.CreateListenerResponse) *Listener {
			return mapPtr(r.Listener, listenerFromV2(spec.LoadBalancerID))
		},
		listenerMade(ctx, a, spec))
}

func (a *v2API) DeleteListener(ctx context.Context, id string) error {
	return write(ctx, a.c, true, "v2 DeleteListener", kindDelete, a.c.v2.DeleteListener, &v2model.DeleteListenerRequest{ListenerId: id})
}

func poolFromV2(p v2model.PoolResp) Pool {
	return Pool{ID: p.Id, Name: p.Name, Description: p.Description, Protocol: p.Protocol.Value(), Algorithm: p.LbAlgorithm.Value(), HealthMonitorID: p.HealthmonitorId}
}

func (a *v2API) GetPool(ctx context.Context, id string) (*Pool, error) {
	return show(ctx, a.c, true, "v2 ShowPool", a.c.v2.ShowPool, &v2model.ShowPoolRequest{PoolId: id},
		func(r *v2model.ShowPoolResponse) *Pool { return mapPtr(r.Pool, poolFromV2) })
}

func (a *v2API) CreatePool(ctx context.Context, spec PoolSpec) (*Pool, error) {
	proto, err := enum[v2model.CreatePoolReqProtocol](spec.Protocol)
	if err != nil {
		return nil, fmt.Errorf("pool protocol %q: %w", spec.Protocol, err)
	}
	return create(ctx, a.c, true, "v2 CreatePool", "", a.c.v2.CreatePool, &v2model.CreatePoolRequest{Body: &v2model.CreatePoolRequestBody{Pool: &v2model.CreatePoolReq{
		Protocol: proto, LbAlgorithm: spec.Algorithm, ListenerId: ptr(spec.ListenerID), Name: ptr(spec.Name), Description: ptr(spec.Description),
	}}}, func(r *v2model.CreatePoolResponse) *Pool { return mapPtr(r.Pool, poolFromV2) }, func() (*Pool, error) {
		// The listener's default pool (v2 lists pools by load balancer only).
		l, err := read(ctx, a.c, true, "v2 ShowListener", a.c.v2.ShowListener, &v2model.ShowListenerRequest{ListenerId: spec.ListenerID})
		if err != nil || l.Listener == nil || l.Listener.DefaultPoolId == "" {
			return nil, err
		}
		p, err := a.GetPool(ctx, l.Listener.DefaultPoolId)
		return poolMade(p, spec), err
	})
}

func (a *v2API) updatePool(ctx context.Context, id string, change v2model.UpdatePoolReq) error {
	return write(ctx, a.c, true, "v2 UpdatePool", kindUpdate, a.c.v2.UpdatePool, &v2model.UpdatePoolRequest{PoolId: id,
		Body: &v2model.UpdatePoolRequestBody{Pool: &change}})
}

func (a *v2API) DeletePool(ctx context.Context, id string) error {
	err := write(ctx, a.c, true, "v2 DeletePool", kindDelete, a.c.v2.DeletePool, &v2model.DeletePoolRequest{PoolId: id})
	if err == nil {
		a.c.poolSubnets.Delete(id)
	}
	return err
}

func (a *v2API) ListMembers(ctx context.Context, poolID string) ([]Member, error) {
	return list(ctx, a.c, true, "v2 ListMembers", a.c.v2.ListMembers, func(marker *string) *v2model.ListMembersRequest {
		return &v2model.ListMembersRequest{PoolId: poolID, Limit: ptr(int32(pageSize)), Marker: marker}
	}, func(r *v2model.ListMembersResponse) ([]v2model.MemberResp, *string) { return deref(r.Members), nil },
		func(m v2model.MemberResp) string { return m.Id }, memberFromV2)
}

func memberFromV2(m v2model.MemberResp) Member {
	return Member{ID: m.Id, Name: m.Name, Address: m.Address, Port: m.ProtocolPort, Weight: int(m.Weight), SubnetID: m.SubnetId, OperatingStatus: m.OperatingStatus}
}

// subnetOf is the VIP subnet of the ELB that pool belongs to.
func (a *v2API) subnetOf(ctx context.Context, poolID string) (string, error) {
	if s, ok := a.c.poolSubnets.Load(poolID); ok {
		return s.(string), nil
	}
	r, err := read(ctx, a.c, true, "v2 ShowPool", a.c.v2.ShowPool, &v2model.ShowPoolRequest{PoolId: poolID})
	if err != nil {
		return "", err
	}
	var lbID string
	if r.Pool != nil && len(r.Pool.Loadbalancers) > 0 {
		lbID = r.Pool.Loadbalancers[0].Id
	} else if r.Pool != nil && len(r.Pool.Listeners) > 0 {
		l, err := read(ctx, a.c, true, "v2 ShowListener", a.c.v2.ShowListener, &v2model.ShowListenerRequest{ListenerId: r.Pool.Listeners[0].Id})
		if err != nil {
			return "", err
		}
		if l.Listener != nil && len(l.Listener.Loadbalancers) > 0 {
			lbID = l.Listener.Loadbalancers[0].Id
		}
	}
	if lbID == "" {
		return "", fmt.Errorf("pool %s: cannot find its load balancer to choose the members' subnet", poolID)
	}
	lb, err := read(ctx, a.c, true, "v2 ShowLoadbalancer", a.c.v2.ShowLoadbalancer, &v2model.ShowLoadbalancerRequest{LoadbalancerId: lbID})
	if err != nil {
		return "", err
	}
	if lb.Loadbalancer == nil || lb.Loadbalancer.VipSubnetId == "" {
		return "", fmt.Errorf("load balancer %s has no VIP subnet to put members in", lbID)
	}
	a.c.poolSubnets.Store(poolID, lb.Loadbalancer.VipSubnetId)
	return lb.Loadbalancer.VipSubnetId, nil
}

// AddMembers makes one CreateMember call per member. A 409 for a member that is then found in
// the pool with the same address and port is reported as Existed, like the v3 batch call.
func (a *v2API) AddMembers(ctx context.Context, poolID string, specs []MemberSpec) ([]AddedMember, error) {
	var out []AddedMember
	for _, s := range specs {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		subnet := s.SubnetID
		if subnet == "" {
			var err error
			if subnet, err = a.subnetOf(ctx, poolID); err != nil {
				return out, err
			}
		}
		// A member already there (a 409, or a reply lost after the ELB added it) is found by
		// address and port.
		there := func() (*AddedMember, error) {
			have, err := a.ListMembers(ctx, poolID)
			if got := existingMembers([]MemberSpec{s}, have); len(got) == 1 {
				return &got[0], nil
			}
			return nil, err
		}
		added, err := create(ctx, a.c, true, "v2 CreateMember", "", a.c.v2.CreateMember, &v2model.CreateMemberRequest{PoolId: poolID, Body: &v2model.CreateMemberRequestBody{Member: &v2model.CreateMemberReq{
			Name: ptr(s.Name), Address: s.Address, ProtocolPort: s.Port, SubnetId: subnet, Weight: ptr(int32(s.Weight)),
		}}}, func(r *v2model.CreateMemberResponse) *AddedMember {
			return mapPtr(r.Member, func(m v2model.MemberResp) AddedMember { return AddedMember{Member: memberFromV2(m)} })
		}, there)
		if err != nil && errors.Is(err, ErrConflict) {
			if m, _ := there(); m != nil {
				added, err = m, nil
			}
		}
		if err != nil {
			return out, err
		}
		out = append(out, *added)
	}
	return out, nil
}

func (a *v2API) UpdateMemberWeights(ctx context.Context, poolID string, updates []WeightUpdate) error {
	return eachMember(ctx, updates, func(u WeightUpdate) error {
		return a.updateMember(ctx, poolID, u.MemberID, v2model.UpdateMemberReq{Weight: ptr(int32(u.Weight))})
	})
}

func (a *v2API) updateMember(ctx context.Context, poolID, id string, change v2model.UpdateMemberReq) error {
	return write(ctx, a.c, true, "v2 UpdateMember", kindUpdate, a.c.v2.UpdateMember, &v2model.UpdateMemberRequest{PoolId: poolID, MemberId: id,
		Body: &v2model.UpdateMemberRequestBody{Member: &change}})
}

// DeleteMembers makes one DeleteMember call per member; a member already gone is skipped.
func (a *v2API) DeleteMembers(ctx context.Context, poolID string, ids []string) error {
	return eachMember(ctx, ids, func(id string) error {
		err := write(ctx, a.c, true, "v2 DeleteMember", kindDelete, a.c.v2.DeleteMember, &v2model.DeleteMemberRequest{PoolId: poolID, MemberId: id})
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	})
}

// eachMember makes one call per member, as v2 has no batch calls, until one fails or ctx ends.
func eachMember[T any](ctx context.Context, items []T, do func(T) error) error {
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := do(it); err != nil {
			return err
		}
	}
	return nil
}

func (a *v2API) GetHealthMonitor(ctx context.Context, id string) (*HealthMonitor, error) {
	return show(ctx, a.c, true, "v2 ShowHealthmonitors", a.c.v2.ShowHealthmonitors, &v2model.ShowHealthmonitorsRequest{HealthmonitorId: id},
		func(r *v2model.ShowHealthmonitorsResponse) *HealthMonitor {
			return mapPtr(r.Healthmonitor, monitorFromV2)
		})
}

func monitorFromV2(h v2model.HealthmonitorResp) HealthMonitor {
	hm := HealthMonitor{ID: h.Id, Type: h.Type.Value(), Delay: h.Delay, Timeout: h.Timeout, MaxRetries: h.MaxRetries, URLPath: h.UrlPath}
	if len(h.Pools) > 0 {
		hm.PoolID = h.Pools[0].Id
	}
	return hm
}

func (a *v2API) CreateHealthMonitor(ctx context.Context, spec HealthMonitorSpec) (*HealthMonitor, error) {
	typ, err := enum[v2model.CreateHealthmonitorReqType](spec.Type)
	if err != nil {
		return nil, fmt.Errorf("health monitor type %q: %w", spec.Type, err)
	}
	req := &v2model.CreateHealthmonitorReq{PoolId: spec.PoolID, Name: ptr(spec.Name), Type: typ, Delay: spec.Delay, Timeout: spec.Timeout, MaxRetries: spec.MaxRetries,
		UrlPath: nonEmpty(spec.URLPath)}
	return create(ctx, a.c, true, "v2 CreateHealthmonitor", "", a.c.v2.CreateHealthmonitor,
		&v2model.CreateHealthmonitorRequest{Body: &v2model.CreateHealthmonitorRequestBody{Healthmonitor: req}},
		func(r *v2model.CreateHealthmonitorResponse) *HealthMonitor {
			return onPool(mapPtr(r.Healthmonitor, monitorFromV2), spec.PoolID)
		}, monitorMade(ctx, a, spec.PoolID))
}

func (a *v2API) DeleteHealthMonitor(ctx context.Context, id string) error {
	return write(ctx, a.c, true, "v2 DeleteHealthmonitor", kindDelete, a.c.v2.DeleteHealthmonitor, &v2model.DeleteHealthmonitorRequest{HealthmonitorId: id})
}
