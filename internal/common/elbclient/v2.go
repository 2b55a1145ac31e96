package elbclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

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
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ls, err := paginate(func(marker *string) ([]v2model.ListenerResp, *string, error) {
		r, err := read(ctx, a.c, true, "v2 ListListeners", lbID, func() (*v2model.ListListenersResponse, error) {
			return a.c.v2.ListListeners(&v2model.ListListenersRequest{LoadbalancerId: &lbID, ProtocolPort: port, Limit: ptr(int32(pageSize)), Marker: marker})
		})
		if err != nil {
			return nil, nil, err
		}
		return deref(r.Listeners), nil, nil
	}, func(l v2model.ListenerResp) string { return l.Id })
	if err != nil {
		return nil, err
	}
	out := make([]Listener, 0, len(ls))
	for _, l := range ls {
		// A server that ignores the port filter must not make another port's listener look like ours.
		if port == nil || l.ProtocolPort == *port {
			out = append(out, listenerFromV2(l, lbID))
		}
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
	var made *v2model.ListenerResp
	err = a.c.call(ctx, true, "v2 CreateListener", kindCreate, spec.LoadBalancerID, func() error {
		r, err := a.c.v2.CreateListener(&v2model.CreateListenerRequest{Body: &v2model.CreateListenerRequestBody{Listener: &v2model.CreateListenerReq{
			LoadbalancerId: spec.LoadBalancerID, Protocol: proto, ProtocolPort: spec.Port, Name: ptr(spec.Name), Description: ptr(spec.Description),
		}}})
		if err == nil && r.Listener == nil {
			return &APIError{Op: "v2 CreateListener", Kind: ErrServer, Message: "response without a listener"}
		}
		if err == nil {
			made = r.Listener
		}
		return err
	}, func() (bool, error) {
		// A reply lost after the ELB made the listener: it is there, with our name and mark.
		r, err := a.c.v2.ListListeners(&v2model.ListListenersRequest{LoadbalancerId: &spec.LoadBalancerID, ProtocolPort: ptr(spec.Port)})
		if err != nil {
			return false, classify("v2 ListListeners", err)
		}
		for _, l := range deref(r.Listeners) {
			if l.ProtocolPort == spec.Port && strings.EqualFold(l.Protocol.Value(), spec.Protocol) && l.Name == spec.Name && l.Description == spec.Description {
				made = &l
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	l := listenerFromV2(*made, spec.LoadBalancerID)
	return &l, nil
}

func (a *v2API) DeleteListener(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return a.c.call(ctx, true, "v2 DeleteListener", kindDelete, "", func() error {
		_, err := a.c.v2.DeleteListener(&v2model.DeleteListenerRequest{ListenerId: id})
		return err
	}, nil)
}

func poolFromV2(p v2model.PoolResp) *Pool {
	return &Pool{ID: p.Id, Name: p.Name, Description: p.Description, Protocol: p.Protocol.Value(), Algorithm: p.LbAlgorithm.Value(), HealthMonitorID: p.HealthmonitorId}
}

func (a *v2API) GetPool(ctx context.Context, id string) (*Pool, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, err := read(ctx, a.c, true, "v2 ShowPool", "", func() (*v2model.ShowPoolResponse, error) {
		return a.c.v2.ShowPool(&v2model.ShowPoolRequest{PoolId: id})
	})
	if err != nil {
		return nil, err
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
	var made *v2model.PoolResp
	err = a.c.call(ctx, true, "v2 CreatePool", kindCreate, "", func() error {
		r, err := a.c.v2.CreatePool(&v2model.CreatePoolRequest{Body: &v2model.CreatePoolRequestBody{Pool: &v2model.CreatePoolReq{
			Protocol: proto, LbAlgorithm: spec.Algorithm, ListenerId: ptr(spec.ListenerID), Name: ptr(spec.Name), Description: ptr(spec.Description),
		}}})
		if err == nil && r.Pool == nil {
			return &APIError{Op: "v2 CreatePool", Kind: ErrServer, Message: "response without a pool"}
		}
		if err == nil {
			made = r.Pool
		}
		return err
	}, func() (bool, error) {
		// A reply lost after the ELB made the pool: the listener's default pool, with our name and mark.
		l, err := a.c.v2.ShowListener(&v2model.ShowListenerRequest{ListenerId: spec.ListenerID})
		if err != nil {
			return false, classify("v2 ShowListener", err)
		}
		if l.Listener == nil || l.Listener.DefaultPoolId == "" {
			return false, nil
		}
		p, err := a.c.v2.ShowPool(&v2model.ShowPoolRequest{PoolId: l.Listener.DefaultPoolId})
		if err != nil {
			return false, classify("v2 ShowPool", err)
		}
		if p.Pool != nil && p.Pool.Name == spec.Name && p.Pool.Description == spec.Description {
			made = p.Pool
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	return poolFromV2(*made), nil
}

func (a *v2API) DeletePool(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := a.c.call(ctx, true, "v2 DeletePool", kindDelete, "", func() error {
		_, err := a.c.v2.DeletePool(&v2model.DeletePoolRequest{PoolId: id})
		return err
	}, nil)
	if err == nil {
		a.c.poolSubnets.Delete(id)
	}
	return err
}

func (a *v2API) ListMembers(ctx context.Context, poolID string) ([]Member, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ms, err := paginate(func(marker *string) ([]v2model.MemberResp, *string, error) {
		r, err := read(ctx, a.c, true, "v2 ListMembers", "", func() (*v2model.ListMembersResponse, error) {
			return a.c.v2.ListMembers(&v2model.ListMembersRequest{PoolId: poolID, Limit: ptr(int32(pageSize)), Marker: marker})
		})
		if err != nil {
			return nil, nil, err
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
	return Member{ID: m.Id, Name: m.Name, Address: m.Address, Port: m.ProtocolPort, Weight: int(m.Weight), SubnetID: m.SubnetId, OperatingStatus: m.OperatingStatus}
}

// subnetOf is the VIP subnet of the ELB that pool belongs to.
func (a *v2API) subnetOf(ctx context.Context, poolID string) (string, error) {
	if s, ok := a.c.poolSubnets.Load(poolID); ok {
		return s.(string), nil
	}
	r, err := read(ctx, a.c, true, "v2 ShowPool", "", func() (*v2model.ShowPoolResponse, error) {
		return a.c.v2.ShowPool(&v2model.ShowPoolRequest{PoolId: poolID})
	})
	if err != nil {
		return "", err
	}
	var lbID string
	if r.Pool != nil && len(r.Pool.Loadbalancers) > 0 {
		lbID = r.Pool.Loadbalancers[0].Id
	} else if r.Pool != nil && len(r.Pool.Listeners) > 0 {
		l, err := read(ctx, a.c, true, "v2 ShowListener", "", func() (*v2model.ShowListenerResponse, error) {
			return a.c.v2.ShowListener(&v2model.ShowListenerRequest{ListenerId: r.Pool.Listeners[0].Id})
		})
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
	lb, err := read(ctx, a.c, true, "v2 ShowLoadbalancer", "", func() (*v2model.ShowLoadbalancerResponse, error) {
		return a.c.v2.ShowLoadbalancer(&v2model.ShowLoadbalancerRequest{LoadbalancerId: lbID})
	})
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
		var added *AddedMember
		err := a.c.call(ctx, true, "v2 CreateMember", kindCreate, "", func() error {
			r, err := a.c.v2.CreateMember(&v2model.CreateMemberRequest{PoolId: poolID, Body: &v2model.CreateMemberRequestBody{Member: &v2model.CreateMemberReq{
				Name: ptr(s.Name), Address: s.Address, ProtocolPort: s.Port, SubnetId: subnet, Weight: ptr(int32(s.Weight)),
			}}})
			if err == nil && r.Member == nil {
				return &APIError{Op: "v2 CreateMember", Kind: ErrServer, Message: "response without a member"}
			}
			if err == nil {
				added = &AddedMember{Member: memberFromV2(*r.Member)}
			}
			return err
		}, func() (bool, error) {
			// A reply lost after the ELB added the member: it is there by address and port.
			m, ok := a.findMember(ctx, poolID, s.Address, s.Port)
			if ok {
				added = &AddedMember{Member: m, Existed: true}
			}
			return ok, nil
		})
		if err != nil && errors.Is(err, ErrConflict) {
			if m, found := a.findMember(ctx, poolID, s.Address, s.Port); found {
				out = append(out, AddedMember{Member: m, Existed: true})
				continue
			}
		}
		if err != nil {
			return out, err
		}
		out = append(out, *added)
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
		if err := a.c.call(ctx, true, "v2 UpdateMember", kindUpdate, "", func() error {
			_, err := a.c.v2.UpdateMember(&v2model.UpdateMemberRequest{PoolId: poolID, MemberId: u.MemberID, Body: &v2model.UpdateMemberRequestBody{Member: &v2model.UpdateMemberReq{Weight: ptr(int32(u.Weight))}}})
			return err
		}, nil); err != nil {
			return err
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
		err := a.c.call(ctx, true, "v2 DeleteMember", kindDelete, "", func() error {
			_, err := a.c.v2.DeleteMember(&v2model.DeleteMemberRequest{PoolId: poolID, MemberId: id})
			return err
		}, nil)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

func (a *v2API) GetHealthMonitor(ctx context.Context, id string) (*HealthMonitor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, err := read(ctx, a.c, true, "v2 ShowHealthmonitors", "", func() (*v2model.ShowHealthmonitorsResponse, error) {
		return a.c.v2.ShowHealthmonitors(&v2model.ShowHealthmonitorsRequest{HealthmonitorId: id})
	})
	if err != nil {
		return nil, err
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
	var made *v2model.HealthmonitorResp
	err = a.c.call(ctx, true, "v2 CreateHealthmonitor", kindCreate, "", func() error {
		r, err := a.c.v2.CreateHealthmonitor(&v2model.CreateHealthmonitorRequest{Body: &v2model.CreateHealthmonitorRequestBody{Healthmonitor: req}})
		if err == nil && r.Healthmonitor == nil {
			return &APIError{Op: "v2 CreateHealthmonitor", Kind: ErrServer, Message: "response without a health monitor"}
		}
		if err == nil {
			made = r.Healthmonitor
		}
		return err
	}, func() (bool, error) {
		// A reply lost after the ELB made the monitor: the pool has one now.
		p, err := a.c.v2.ShowPool(&v2model.ShowPoolRequest{PoolId: spec.PoolID})
		if err != nil {
			return false, classify("v2 ShowPool", err)
		}
		if p.Pool == nil || p.Pool.HealthmonitorId == "" {
			return false, nil
		}
		r, err := a.c.v2.ShowHealthmonitors(&v2model.ShowHealthmonitorsRequest{HealthmonitorId: p.Pool.HealthmonitorId})
		if err != nil || r.Healthmonitor == nil {
			return false, classify("v2 ShowHealthmonitors", err)
		}
		made = r.Healthmonitor
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	hm := monitorFromV2(*made)
	hm.PoolID = spec.PoolID
	return hm, nil
}

func (a *v2API) DeleteHealthMonitor(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return a.c.call(ctx, true, "v2 DeleteHealthmonitor", kindDelete, "", func() error {
		_, err := a.c.v2.DeleteHealthmonitor(&v2model.DeleteHealthmonitorRequest{HealthmonitorId: id})
		return err
	}, nil)
}
