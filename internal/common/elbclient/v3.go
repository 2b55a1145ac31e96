package elbclient

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	v3model "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
)

// v3API programs dedicated (performance) ELBs through services/elb/v3.
type v3API struct{ c *SDK }

func (a *v3API) ListListeners(ctx context.Context, lbID string) ([]Listener, error) {
	return a.listListeners(ctx, lbID, nil)
}

// listListeners lists the listeners of ELB lbID, only those on *port unless port is nil.
func (a *v3API) listListeners(ctx context.Context, lbID string, port *int32) ([]Listener, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	req := v3model.ListListenersRequest{LoadbalancerId: &[]string{lbID}, Limit: ptr(int32(pageSize))}
	if port != nil {
		req.ProtocolPort = &[]string{strconv.Itoa(int(*port))}
	}
	ls, err := paginate(func(marker *string) ([]v3model.Listener, *string, error) {
		page := req
		page.Marker = marker
		r, err := read(ctx, a.c, false, "v3 ListListeners", lbID, func() (*v3model.ListListenersResponse, error) {
			return a.c.v3.ListListeners(&page)
		})
		if err != nil {
			return nil, nil, err
		}
		return deref(r.Listeners), nextMarker(r.PageInfo), nil
	}, func(l v3model.Listener) string { return l.Id })
	if err != nil {
		return nil, err
	}
	out := make([]Listener, 0, len(ls))
	for _, l := range ls {
		// A server that ignores the port filter must not make another port's listener look like ours.
		if port == nil || l.ProtocolPort == *port {
			out = append(out, listenerFromV3(l, lbID))
		}
	}
	return out, nil
}

func listenerFromV3(l v3model.Listener, lbID string) Listener {
	if len(l.Loadbalancers) > 0 && deref(l.Loadbalancers[0].Id) != "" {
		lbID = *l.Loadbalancers[0].Id
	}
	return Listener{ID: l.Id, LoadBalancerID: lbID, Name: l.Name, Description: l.Description, Protocol: l.Protocol, Port: l.ProtocolPort, DefaultPoolID: l.DefaultPoolId}
}

func (a *v3API) CreateListener(ctx context.Context, spec ListenerSpec) (*Listener, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var made *v3model.Listener
	err := a.c.call(ctx, false, "v3 CreateListener", kindCreate, spec.LoadBalancerID, func() error {
		r, err := a.c.v3.CreateListener(&v3model.CreateListenerRequest{Body: &v3model.CreateListenerRequestBody{Listener: &v3model.CreateListenerOption{
			LoadbalancerId: spec.LoadBalancerID, Name: ptr(spec.Name), Description: ptr(spec.Description),
			Protocol: spec.Protocol, ProtocolPort: ptr(spec.Port),
		}}})
		if err == nil && r.Listener == nil {
			return &APIError{Op: "v3 CreateListener", Kind: ErrServer, Message: "response without a listener"}
		}
		if err == nil {
			made = r.Listener
		}
		return err
	}, func() (bool, error) {
		// A reply lost after the ELB made the listener: it is there, with our name and mark.
		r, err := a.c.v3.ListListeners(&v3model.ListListenersRequest{LoadbalancerId: &[]string{spec.LoadBalancerID}, ProtocolPort: &[]string{strconv.Itoa(int(spec.Port))}})
		if err != nil {
			return false, classify("v3 ListListeners", err)
		}
		for _, l := range deref(r.Listeners) {
			if l.ProtocolPort == spec.Port && strings.EqualFold(l.Protocol, spec.Protocol) && l.Name == spec.Name && l.Description == spec.Description {
				made = &l
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	l := listenerFromV3(*made, spec.LoadBalancerID)
	return &l, nil
}

func (a *v3API) DeleteListener(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return a.c.call(ctx, false, "v3 DeleteListener", kindDelete, "", func() error {
		_, err := a.c.v3.DeleteListener(&v3model.DeleteListenerRequest{ListenerId: id})
		return err
	}, nil)
}

func poolFromV3(p v3model.Pool) *Pool {
	pool := &Pool{ID: p.Id, Name: p.Name, Description: p.Description, Protocol: p.Protocol, Algorithm: p.LbAlgorithm, HealthMonitorID: p.HealthmonitorId, Type: p.Type}
	if cd := p.ConnectionDrain; cd != nil && cd.Enable != nil && *cd.Enable && cd.Timeout != nil {
		pool.ConnectionDrain = *cd.Timeout
	}
	return pool
}

func (a *v3API) GetPool(ctx context.Context, id string) (*Pool, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, err := read(ctx, a.c, false, "v3 ShowPool", "", func() (*v3model.ShowPoolResponse, error) {
		return a.c.v3.ShowPool(&v3model.ShowPoolRequest{PoolId: id})
	})
	if err != nil {
		return nil, err
	}
	if r.Pool == nil {
		return nil, &APIError{Op: "v3 ShowPool", Kind: ErrNotFound, Message: "response without a pool"}
	}
	return poolFromV3(*r.Pool), nil
}

func (a *v3API) CreatePool(ctx context.Context, spec PoolSpec) (*Pool, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var made *v3model.Pool
	err := a.c.call(ctx, false, "v3 CreatePool", kindCreate, "", func() error {
		opt := &v3model.CreatePoolOption{
			ListenerId: ptr(spec.ListenerID), Name: ptr(spec.Name), Description: ptr(spec.Description),
			Protocol: spec.Protocol, LbAlgorithm: spec.Algorithm,
		}
		if spec.ConnectionDrain > 0 {
			opt.ConnectionDrain = &v3model.ConnectionDrain{Enable: ptr(true), Timeout: ptr(spec.ConnectionDrain)}
		}
		r, err := a.c.v3.CreatePool(&v3model.CreatePoolRequest{Body: &v3model.CreatePoolRequestBody{Pool: opt}})
		if err == nil && r.Pool == nil {
			return &APIError{Op: "v3 CreatePool", Kind: ErrServer, Message: "response without a pool"}
		}
		if err == nil {
			made = r.Pool
		}
		return err
	}, func() (bool, error) {
		// A reply lost after the ELB made the pool: the listener's pool, with our name and mark.
		r, err := a.c.v3.ListPools(&v3model.ListPoolsRequest{ListenerId: &[]string{spec.ListenerID}})
		if err != nil {
			return false, classify("v3 ListPools", err)
		}
		for _, p := range deref(r.Pools) {
			if p.Name == spec.Name && p.Description == spec.Description {
				made = &p
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	return poolFromV3(*made), nil
}

func (a *v3API) DeletePool(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return a.c.call(ctx, false, "v3 DeletePool", kindDelete, "", func() error {
		_, err := a.c.v3.DeletePool(&v3model.DeletePoolRequest{PoolId: id})
		return err
	}, nil)
}

func (a *v3API) ListMembers(ctx context.Context, poolID string) ([]Member, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ms, err := paginate(func(marker *string) ([]v3model.Member, *string, error) {
		r, err := read(ctx, a.c, false, "v3 ListMembers", "", func() (*v3model.ListMembersResponse, error) {
			return a.c.v3.ListMembers(&v3model.ListMembersRequest{PoolId: poolID, Limit: ptr(int32(pageSize)), Marker: marker})
		})
		if err != nil {
			return nil, nil, err
		}
		return deref(r.Members), nextMarker(r.PageInfo), nil
	}, func(m v3model.Member) string { return m.Id })
	if err != nil {
		return nil, err
	}
	out := make([]Member, 0, len(ms))
	for _, m := range ms {
		out = append(out, Member{ID: m.Id, Name: m.Name, Address: m.Address, Port: m.ProtocolPort, Weight: int(m.Weight), SubnetID: deref(m.SubnetCidrId),
			OperatingStatus: m.OperatingStatus})
	}
	return out, nil
}

// AddMembers is one BatchCreateMembers call. A member already in the pool comes back with
// ret_status "existed" instead of failing the batch.
func (a *v3API) AddMembers(ctx context.Context, poolID string, specs []MemberSpec) ([]AddedMember, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	opts := make([]v3model.BatchCreateMembersOption, 0, len(specs))
	for _, s := range specs {
		o := v3model.BatchCreateMembersOption{Name: ptr(s.Name), Address: s.Address, ProtocolPort: s.Port, Weight: ptr(int32(s.Weight))}
		if s.SubnetID != "" {
			o.SubnetCidrId = ptr(s.SubnetID)
		}
		opts = append(opts, o)
	}
	var out []AddedMember
	err := a.c.call(ctx, false, "v3 BatchCreateMembers", kindCreate, "", func() error {
		r, err := a.c.v3.BatchCreateMembers(&v3model.BatchCreateMembersRequest{PoolId: poolID, Body: &v3model.BatchCreateMembersRequestBody{Members: opts}})
		if err != nil {
			return err
		}
		out = out[:0]
		for _, m := range deref(r.Members) {
			out = append(out, AddedMember{
				Member:  Member{ID: m.Id, Name: m.Name, Address: m.Address, Port: m.ProtocolPort, Weight: int(m.Weight), SubnetID: deref(m.SubnetCidrId)},
				Existed: m.RetStatus == "existed", // model_batch_member.go ret_status: successful | existed
			})
		}
		return nil
	}, func() (bool, error) {
		// A reply lost after the ELB added the batch: every member is there by address and port.
		// Otherwise the batch is sent again, and those there come back "existed".
		have, err := a.ListMembers(ctx, poolID)
		if err != nil {
			return false, err
		}
		out = existingMembers(specs, have)
		return len(out) == len(specs), nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (a *v3API) UpdateMemberWeights(ctx context.Context, poolID string, updates []WeightUpdate) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	opts := make([]v3model.BatchUpdateMembersOption, 0, len(updates))
	for _, u := range updates {
		opts = append(opts, v3model.BatchUpdateMembersOption{Id: u.MemberID, Weight: ptr(int32(u.Weight))})
	}
	return a.c.call(ctx, false, "v3 BatchUpdateMembers", kindUpdate, "", func() error {
		_, err := a.c.v3.BatchUpdateMembers(&v3model.BatchUpdateMembersRequest{PoolId: poolID, Body: &v3model.BatchUpdateMembersRequestBody{Members: opts}})
		return err
	}, nil)
}

// DeleteMembers is one BatchDeleteMembers call. A member the ELB reports as not deleted (other
// than already gone) makes the call fail, so the caller re-reads.
func (a *v3API) DeleteMembers(ctx context.Context, poolID string, ids []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	opts := make([]v3model.BatchDeleteMembersOption, 0, len(ids))
	for _, id := range ids {
		opts = append(opts, v3model.BatchDeleteMembersOption{Id: ptr(id)})
	}
	var r *v3model.BatchDeleteMembersResponse
	if err := a.c.call(ctx, false, "v3 BatchDeleteMembers", kindDelete, "", func() (err error) {
		r, err = a.c.v3.BatchDeleteMembers(&v3model.BatchDeleteMembersRequest{PoolId: poolID, Body: &v3model.BatchDeleteMembersRequestBody{Members: opts}})
		return err
	}, nil); err != nil || r == nil {
		return err
	}
	for _, st := range deref(r.Members) {
		switch st.RetStatus {
		case "", "successful", "success", "deleted", "not found", "not_found", "notfound":
		default:
			return &APIError{Op: "v3 BatchDeleteMembers", Kind: ErrConflict, Message: fmt.Sprintf("member %s: %s", st.Id, st.RetStatus)}
		}
	}
	return nil
}

func (a *v3API) GetHealthMonitor(ctx context.Context, id string) (*HealthMonitor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, err := read(ctx, a.c, false, "v3 ShowHealthMonitor", "", func() (*v3model.ShowHealthMonitorResponse, error) {
		return a.c.v3.ShowHealthMonitor(&v3model.ShowHealthMonitorRequest{HealthmonitorId: id})
	})
	if err != nil {
		return nil, err
	}
	if r.Healthmonitor == nil {
		return nil, &APIError{Op: "v3 ShowHealthMonitor", Kind: ErrNotFound, Message: "response without a health monitor"}
	}
	return monitorFromV3(*r.Healthmonitor), nil
}

func monitorFromV3(h v3model.HealthMonitor) *HealthMonitor {
	hm := &HealthMonitor{ID: h.Id, Type: h.Type, Delay: h.Delay, Timeout: h.Timeout, MaxRetries: h.MaxRetries, URLPath: h.UrlPath}
	if len(h.Pools) > 0 {
		hm.PoolID = h.Pools[0].Id
	}
	return hm
}

func (a *v3API) CreateHealthMonitor(ctx context.Context, spec HealthMonitorSpec) (*HealthMonitor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	o := &v3model.CreateHealthMonitorOption{PoolId: spec.PoolID, Name: ptr(spec.Name), Type: spec.Type, Delay: spec.Delay, Timeout: spec.Timeout, MaxRetries: spec.MaxRetries}
	if spec.URLPath != "" {
		o.UrlPath = ptr(spec.URLPath)
	}
	var made *v3model.HealthMonitor
	err := a.c.call(ctx, false, "v3 CreateHealthMonitor", kindCreate, "", func() error {
		r, err := a.c.v3.CreateHealthMonitor(&v3model.CreateHealthMonitorRequest{Body: &v3model.CreateHealthMonitorRequestBody{Healthmonitor: o}})
		if err == nil && r.Healthmonitor == nil {
			return &APIError{Op: "v3 CreateHealthMonitor", Kind: ErrServer, Message: "response without a health monitor"}
		}
		if err == nil {
			made = r.Healthmonitor
		}
		return err
	}, func() (bool, error) {
		// A reply lost after the ELB made the monitor: the pool has one now (a pool has at most one).
		p, err := a.c.v3.ShowPool(&v3model.ShowPoolRequest{PoolId: spec.PoolID})
		if err != nil {
			return false, classify("v3 ShowPool", err)
		}
		if p.Pool == nil || p.Pool.HealthmonitorId == "" {
			return false, nil
		}
		r, err := a.c.v3.ShowHealthMonitor(&v3model.ShowHealthMonitorRequest{HealthmonitorId: p.Pool.HealthmonitorId})
		if err != nil || r.Healthmonitor == nil {
			return false, classify("v3 ShowHealthMonitor", err)
		}
		made = r.Healthmonitor
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	hm := monitorFromV3(*made)
	hm.PoolID = spec.PoolID
	return hm, nil
}

func (a *v3API) DeleteHealthMonitor(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return a.c.call(ctx, false, "v3 DeleteHealthMonitor", kindDelete, "", func() error {
		_, err := a.c.v3.DeleteHealthMonitor(&v3model.DeleteHealthMonitorRequest{HealthmonitorId: id})
		return err
	}, nil)
}

// existingMembers are the members of have at the address and port of a spec, reported Existed.
func existingMembers(specs []MemberSpec, have []Member) []AddedMember {
	var out []AddedMember
	for _, s := range specs {
		for _, m := range have {
			if m.Address == s.Address && m.Port == s.Port {
				out = append(out, AddedMember{Member: m, Existed: true})
				break
			}
		}
	}
	return out
}
