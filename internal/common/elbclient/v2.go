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
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ls, err := paginate(func(marker *string) ([]v2model.ListenerResp, *string, error) {
		r, err := a.c.v2.ListListeners(&v2model.ListListenersRequest{LoadbalancerId: &lbID, Limit: ptr(int32(pageSize)), Marker: marker})
		if err != nil {
			return nil, nil, classify("v2 ListListeners", err)
		}
		return deref(r.Listeners), nil, nil
	}, func(l v2model.ListenerResp) string { return l.Id })
	if err != nil {
		return nil, err
	}
	out := make([]Listener, 0, len(ls))
	for _, l := range ls {
		out = append(out, listenerFromV2(l, lbID))
	}
	return out, nil
}

func listenerFromV2(l v2model.ListenerResp, lbID string) Listener {
	if len(l.Loadbalancers) > 0 {
		lbID = l.Loadbalancers[0].Id
	}
	return Listener{ID: l.Id, LoadBalancerID: lbID, Name: l.Name, Description: l.Description, Protocol: l.Protocol.Value(), Port: l.ProtocolPort, DefaultPoolID: l.DefaultPoolId}
}

func (a *v2API) CreateListener(ctx context.Context, spec ListenerSpec) (*Listener, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	proto, err := enum[v2model.CreateListenerReqProtocol](spec.Protocol)
	if err != nil {
		return nil, fmt.Errorf("listener protocol %q: %w", spec.Protocol, err)
	}
	a.c.wrote(ctx)
	r, err := a.c.v2.CreateListener(&v2model.CreateListenerRequest{Body: &v2model.CreateListenerRequestBody{Listener: &v2model.CreateListenerReq{
		LoadbalancerId: spec.LoadBalancerID, Protocol: proto, ProtocolPort: spec.Port, Name: ptr(spec.Name), Description: ptr(spec.Description),
	}}})
	if err != nil {
		return nil, classify("v2 CreateListener", err)
	}
	if r.Listener == nil {
		return nil, &APIError{Op: "v2 CreateListener", Kind: ErrServer, Message: "response without a listener"}
	}
	l := listenerFromV2(*r.Listener, spec.LoadBalancerID)
	return &l, nil
}

func (a *v2API) DeleteListener(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	a.c.wrote(ctx)
	_, err := a.c.v2.DeleteListener(&v2model.DeleteListenerRequest{ListenerId: id})
	return classify("v2 DeleteListener", err)
}

func poolFromV2(p v2model.PoolResp) *Pool {
	return &Pool{ID: p.Id, Name: p.Name, Description: p.Description, Protocol: p.Protocol.Value(), Algorithm: p.LbAlgorithm.Value(), HealthMonitorID: p.HealthmonitorId}
}

func (a *v2API) GetPool(ctx context.Context, id string) (*Pool, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, err := a.c.v2.ShowPool(&v2model.ShowPoolRequest{PoolId: id})
	if err != nil {
		return nil, classify("v2 ShowPool", err)
	}
	if r.Pool == nil {
		return nil, &APIError{Op: "v2 ShowPool", Kind: ErrNotFound, Message: "response without a pool"}
	}
	return poolFromV2(*r.Pool), nil
}

func (a *v2API) CreatePool(ctx context.Context, spec PoolSpec) (*Pool, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	proto, err := enum[v2model.CreatePoolReqProtocol](spec.Protocol)
	if err != nil {
		return nil, fmt.Errorf("pool protocol %q: %w", spec.Protocol, err)
	}
	a.c.wrote(ctx)
	r, err := a.c.v2.CreatePool(&v2model.CreatePoolRequest{Body: &v2model.CreatePoolRequestBody{Pool: &v2model.CreatePoolReq{
		Protocol: proto, LbAlgorithm: spec.Algorithm, ListenerId: ptr(spec.ListenerID), Name: ptr(spec.Name), Description: ptr(spec.Description),
	}}})
	if err != nil {
		return nil, classify("v2 CreatePool", err)
	}
	if r.Pool == nil {
		return nil, &APIError{Op: "v2 CreatePool", Kind: ErrServer, Message: "response without a pool"}
	}
	return poolFromV2(*r.Pool), nil
}

func (a *v2API) DeletePool(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	a.c.wrote(ctx)
	_, err := a.c.v2.DeletePool(&v2model.DeletePoolRequest{PoolId: id})
	if err == nil {
		a.c.poolSubnets.Delete(id)
	}
	return classify("v2 DeletePool", err)
}

func (a *v2API) ListMembers(ctx context.Context, poolID string) ([]Member, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ms, err := paginate(func(marker *string) ([]v2model.MemberResp, *string, error) {
		r, err := a.c.v2.ListMembers(&v2model.ListMembersRequest{PoolId: poolID, Limit: ptr(int32(pageSize)), Marker: marker})
		if err != nil {
			return nil, nil, classify("v2 ListMembers", err)
		}
		return deref(r.Members), nil, nil
	}, func(m v2model.MemberResp) string { return m.Id })
	if err != nil {
		return nil, err
	}
	out := make([]Member, 0, len(ms))
	for _, m := range ms {
		out = append(out, memberFromV2(m))
	}
	return out, nil
}

func memberFromV2(m v2model.MemberResp) Member {
	return Member{ID: m.Id, Name: m.Name, Address: m.Address, Port: m.ProtocolPort, Weight: int(m.Weight), SubnetID: m.SubnetId}
}

// subnetOf is the VIP subnet of the ELB that pool belongs to.
func (a *v2API) subnetOf(poolID string) (string, error) {
	if s, ok := a.c.poolSubnets.Load(poolID); ok {
		return s.(string), nil
	}
	r, err := a.c.v2.ShowPool(&v2model.ShowPoolRequest{PoolId: poolID})
	if err != nil {
		return "", classify("v2 ShowPool", err)
	}
	var lbID string
	if r.Pool != nil && len(r.Pool.Loadbalancers) > 0 {
		lbID = r.Pool.Loadbalancers[0].Id
	} else if r.Pool != nil && len(r.Pool.Listeners) > 0 {
		l, err := a.c.v2.ShowListener(&v2model.ShowListenerRequest{ListenerId: r.Pool.Listeners[0].Id})
		if err != nil {
			return "", classify("v2 ShowListener", err)
		}
		if l.Listener != nil && len(l.Listener.Loadbalancers) > 0 {
			lbID = l.Listener.Loadbalancers[0].Id
		}
	}
	if lbID == "" {
		return "", fmt.Errorf("pool %s: cannot find its load balancer to choose the members' subnet", poolID)
	}
	lb, err := a.c.v2.ShowLoadbalancer(&v2model.ShowLoadbalancerRequest{LoadbalancerId: lbID})
	if err != nil {
		return "", classify("v2 ShowLoadbalancer", err)
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
			if subnet, err = a.subnetOf(poolID); err != nil {
				return out, err
			}
		}
		a.c.wrote(ctx)
		r, err := a.c.v2.CreateMember(&v2model.CreateMemberRequest{PoolId: poolID, Body: &v2model.CreateMemberRequestBody{Member: &v2model.CreateMemberReq{
			Name: ptr(s.Name), Address: s.Address, ProtocolPort: s.Port, SubnetId: subnet, Weight: ptr(int32(s.Weight)),
		}}})
		if err != nil {
			err = classify("v2 CreateMember", err)
			if errors.Is(err, ErrConflict) {
				if m, found := a.findMember(ctx, poolID, s.Address, s.Port); found {
					out = append(out, AddedMember{Member: m, Existed: true})
					continue
				}
			}
			return out, err
		}
		if r.Member == nil {
			return out, &APIError{Op: "v2 CreateMember", Kind: ErrServer, Message: "response without a member"}
		}
		out = append(out, AddedMember{Member: memberFromV2(*r.Member)})
	}
	return out, nil
}

func (a *v2API) findMember(ctx context.Context, poolID, addr string, port int32) (Member, bool) {
	ms, err := a.ListMembers(ctx, poolID)
	if err != nil {
		return Member{}, false
	}
	for _, m := range ms {
		if m.Address == addr && m.Port == port {
			return m, true
		}
	}
	return Member{}, false
}

func (a *v2API) UpdateMemberWeights(ctx context.Context, poolID string, updates []WeightUpdate) error {
	for _, u := range updates {
		if err := ctx.Err(); err != nil {
			return err
		}
		a.c.wrote(ctx)
		_, err := a.c.v2.UpdateMember(&v2model.UpdateMemberRequest{PoolId: poolID, MemberId: u.MemberID, Body: &v2model.UpdateMemberRequestBody{Member: &v2model.UpdateMemberReq{Weight: ptr(int32(u.Weight))}}})
		if err != nil {
			return classify("v2 UpdateMember", err)
		}
	}
	return nil
}

// DeleteMembers makes one DeleteMember call per member; a member already gone is skipped.
func (a *v2API) DeleteMembers(ctx context.Context, poolID string, ids []string) error {
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		a.c.wrote(ctx)
		_, err := a.c.v2.DeleteMember(&v2model.DeleteMemberRequest{PoolId: poolID, MemberId: id})
		if err := classify("v2 DeleteMember", err); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

func (a *v2API) GetHealthMonitor(ctx context.Context, id string) (*HealthMonitor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, err := a.c.v2.ShowHealthmonitors(&v2model.ShowHealthmonitorsRequest{HealthmonitorId: id})
	if err != nil {
		return nil, classify("v2 ShowHealthmonitors", err)
	}
	if r.Healthmonitor == nil {
		return nil, &APIError{Op: "v2 ShowHealthmonitors", Kind: ErrNotFound, Message: "response without a health monitor"}
	}
	return monitorFromV2(*r.Healthmonitor), nil
}

func monitorFromV2(h v2model.HealthmonitorResp) *HealthMonitor {
	hm := &HealthMonitor{ID: h.Id, Type: h.Type.Value(), Delay: h.Delay, Timeout: h.Timeout, MaxRetries: h.MaxRetries, URLPath: h.UrlPath}
	if len(h.Pools) > 0 {
		hm.PoolID = h.Pools[0].Id
	}
	return hm
}

func (a *v2API) CreateHealthMonitor(ctx context.Context, spec HealthMonitorSpec) (*HealthMonitor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	typ, err := enum[v2model.CreateHealthmonitorReqType](spec.Type)
	if err != nil {
		return nil, fmt.Errorf("health monitor type %q: %w", spec.Type, err)
	}
	req := &v2model.CreateHealthmonitorReq{PoolId: spec.PoolID, Name: ptr(spec.Name), Type: typ, Delay: spec.Delay, Timeout: spec.Timeout, MaxRetries: spec.MaxRetries}
	if spec.URLPath != "" {
		req.UrlPath = ptr(spec.URLPath)
	}
	a.c.wrote(ctx)
	r, err := a.c.v2.CreateHealthmonitor(&v2model.CreateHealthmonitorRequest{Body: &v2model.CreateHealthmonitorRequestBody{Healthmonitor: req}})
	if err != nil {
		return nil, classify("v2 CreateHealthmonitor", err)
	}
	if r.Healthmonitor == nil {
		return nil, &APIError{Op: "v2 CreateHealthmonitor", Kind: ErrServer, Message: "response without a health monitor"}
	}
	hm := monitorFromV2(*r.Healthmonitor)
	hm.PoolID = spec.PoolID
	return hm, nil
}

func (a *v2API) DeleteHealthMonitor(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	a.c.wrote(ctx)
	_, err := a.c.v2.DeleteHealthmonitor(&v2model.DeleteHealthmonitorRequest{HealthmonitorId: id})
	return classify("v2 DeleteHealthmonitor", err)
}
