package elbclient

import (
	"context"
	"fmt"
	"strconv"

	v3model "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
)

// v3API programs dedicated (performance) ELBs through services/elb/v3.
type v3API struct{ c *SDK }

func (a *v3API) ListListeners(ctx context.Context, lbID string) ([]Listener, error) {
	return a.listListeners(ctx, lbID, nil)
}

// listListeners lists the listeners of ELB lbID, only those on *port unless port is nil.
func (a *v3API) listListeners(ctx context.Context, lbID string, port *int32) ([]Listener, error) {
	var onThePort *[]string
	if port != nil {
		onThePort = &[]string{strconv.Itoa(int(*port))}
	}
	ls, err := list(ctx, a.c, false, "v3 ListListeners", a.c.v3.ListListeners, func(marker *string) *v3model.ListListenersRequest {
		return &v3model.ListListenersRequest{LoadbalancerId: &[]string{lbID}, ProtocolPort: onThePort, Limit: ptr(int32(pageSize)), Marker: marker}
	}, func(r *v3model.ListListenersResponse) ([]v3model.Listener, *string) {
		return deref(r.Listeners), nextMarker(r.PageInfo)
	},
		func(l v3model.Listener) string { return l.Id }, listenerFromV3(lbID))
	return onPort(ls, port), err
}

// listenerFromV3 converts a listener of ELB lbID (unless it names its own).
func listenerFromV3(lbID string) func(v3model.Listener) Listener {
	return func(l v3model.Listener) Listener {
		lb := lbID
		if len(l.Loadbalancers) > 0 && deref(l.Loadbalancers[0].Id) != "" {
			lb = *l.Loadbalancers[0].Id
		}
		return Listener{ID: l.Id, LoadBalancerID: lb, Name: l.Name, Description: l.Description, Protocol: l.Protocol, Port: l.ProtocolPort, DefaultPoolID: l.DefaultPoolId}
	}
}

func (a *v3API) CreateListener(ctx context.Context, spec ListenerSpec) (*Listener, error) {
	return create(ctx, a.c, false, "v3 CreateListener", spec.LoadBalancerID, a.c.v3.CreateListener,
		&v3model.CreateListenerRequest{Body: &v3model.CreateListenerRequestBody{Listener: &v3model.CreateListenerOption{
			LoadbalancerId: spec.LoadBalancerID, Name: ptr(spec.Name), Description: ptr(spec.Description),
			Protocol: spec.Protocol, ProtocolPort: ptr(spec.Port),
		}}}, func(r *v3model.CreateListenerResponse) *Listener {
			return mapPtr(r.Listener, listenerFromV3(spec.LoadBalancerID))
		},
		listenerMade(ctx, a, spec))
}

func (a *v3API) DeleteListener(ctx context.Context, id string) error {
	return write(ctx, a.c, false, "v3 DeleteListener", kindDelete, a.c.v3.DeleteListener, &v3model.DeleteListenerRequest{ListenerId: id})
}

func poolFromV3(p v3model.Pool) Pool {
	pool := Pool{ID: p.Id, Name: p.Name, Description: p.Description, Protocol: p.Protocol, Algorithm: p.LbAlgorithm, HealthMonitorID: p.HealthmonitorId, Type: p.Type}
	if cd := p.ConnectionDrain; cd != nil && cd.Enable != nil && *cd.Enable && cd.Timeout != nil {
		pool.ConnectionDrain = *cd.Timeout
	}
	return pool
}

func (a *v3API) GetPool(ctx context.Context, id string) (*Pool, error) {
	return show(ctx, a.c, false, "v3 ShowPool", a.c.v3.ShowPool, &v3model.ShowPoolRequest{PoolId: id},
		func(r *v3model.ShowPoolResponse) *Pool { return mapPtr(r.Pool, poolFromV3) })
}

func (a *v3API) CreatePool(ctx context.Context, spec PoolSpec) (*Pool, error) {
	opt := &v3model.CreatePoolOption{
		ListenerId: ptr(spec.ListenerID), Name: ptr(spec.Name), Description: ptr(spec.Description),
		Protocol: spec.Protocol, LbAlgorithm: spec.Algorithm,
	}
	if spec.ConnectionDrain > 0 {
		opt.ConnectionDrain = &v3model.ConnectionDrain{Enable: ptr(true), Timeout: ptr(spec.ConnectionDrain)}
	}
	return create(ctx, a.c, false, "v3 CreatePool", "", a.c.v3.CreatePool, &v3model.CreatePoolRequest{Body: &v3model.CreatePoolRequestBody{Pool: opt}},
		func(r *v3model.CreatePoolResponse) *Pool { return mapPtr(r.Pool, poolFromV3) }, func() (*Pool, error) {
			// The listener's pools, one page: a listener has one pool.
			r, err := read(ctx, a.c, false, "v3 ListPools", a.c.v3.ListPools, &v3model.ListPoolsRequest{ListenerId: &[]string{spec.ListenerID}})
			if err != nil {
				return nil, err
			}
			for _, p := range deref(r.Pools) {
				if made := poolMade(ptr(poolFromV3(p)), spec); made != nil {
					return made, nil
				}
			}
			return nil, nil
		})
}

func (a *v3API) updatePool(ctx context.Context, id string, change v3model.UpdatePoolOption) error {
	return write(ctx, a.c, false, "v3 UpdatePool", kindUpdate, a.c.v3.UpdatePool, &v3model.UpdatePoolRequest{PoolId: id,
		Body: &v3model.UpdatePoolRequestBody{Pool: &change}})
}

func (a *v3API) DeletePool(ctx context.Context, id string) error {
	return write(ctx, a.c, false, "v3 DeletePool", kindDelete, a.c.v3.DeletePool, &v3model.DeletePoolRequest{PoolId: id})
}

func (a *v3API) ListMembers(ctx context.Context, poolID string) ([]Member, error) {
	return list(ctx, a.c, false, "v3 ListMembers", a.c.v3.ListMembers, func(marker *string) *v3model.ListMembersRequest {
		return &v3model.ListMembersRequest{PoolId: poolID, Limit: ptr(int32(pageSize)), Marker: marker}
	}, func(r *v3model.ListMembersResponse) ([]v3model.Member, *string) {
		return deref(r.Members), nextMarker(r.PageInfo)
	},
		func(m v3model.Member) string { return m.Id }, func(m v3model.Member) Member {
			return Member{ID: m.Id, Name: m.Name, Address: m.Address, Port: m.ProtocolPort, Weight: int(m.Weight), SubnetID: deref(m.SubnetCidrId),
				OperatingStatus: m.OperatingStatus}
		})
}

// AddMembers is one BatchCreateMembers call. A member already in the pool comes back with
// ret_status "existed" instead of failing the batch.
func (a *v3API) AddMembers(ctx context.Context, poolID string, specs []MemberSpec) ([]AddedMember, error) {
	opts := make([]v3model.BatchCreateMembersOption, 0, len(specs))
	for _, s := range specs {
		o := v3model.BatchCreateMembersOption{Name: ptr(s.Name), Address: s.Address, ProtocolPort: s.Port, Weight: ptr(int32(s.Weight))}
		if s.SubnetID != "" {
			o.SubnetCidrId = ptr(s.SubnetID)
		}
		opts = append(opts, o)
	}
	added, err := create(ctx, a.c, false, "v3 BatchCreateMembers", "", a.c.v3.BatchCreateMembers,
		&v3model.BatchCreateMembersRequest{PoolId: poolID, Body: &v3model.BatchCreateMembersRequestBody{Members: opts}},
		func(r *v3model.BatchCreateMembersResponse) *[]AddedMember {
			return ptr(convert(deref(r.Members), func(m v3model.BatchMember) AddedMember {
				return AddedMember{
					Member:  Member{ID: m.Id, Name: m.Name, Address: m.Address, Port: m.ProtocolPort, Weight: int(m.Weight), SubnetID: deref(m.SubnetCidrId)},
					Existed: m.RetStatus == "existed", // model_batch_member.go ret_status: successful | existed
				}
			}))
		}, func() (*[]AddedMember, error) {
			// Every member is there by address and port. Otherwise the batch is sent again, and
			// those there come back "existed".
			have, err := a.ListMembers(ctx, poolID)
			if out := existingMembers(specs, have); err == nil && len(out) == len(specs) {
				return &out, nil
			}
			return nil, err
		})
	return deref(added), err
}

func (a *v3API) UpdateMemberWeights(ctx context.Context, poolID string, updates []WeightUpdate) error {
	return a.updateMembers(ctx, poolID, convert(updates, func(u WeightUpdate) v3model.BatchUpdateMembersOption {
		return v3model.BatchUpdateMembersOption{Id: u.MemberID, Weight: ptr(int32(u.Weight))}
	}))
}

func (a *v3API) updateMembers(ctx context.Context, poolID string, opts []v3model.BatchUpdateMembersOption) error {
	return write(ctx, a.c, false, "v3 BatchUpdateMembers", kindUpdate, a.c.v3.BatchUpdateMembers,
		&v3model.BatchUpdateMembersRequest{PoolId: poolID, Body: &v3model.BatchUpdateMembersRequestBody{Members: opts}})
}

// DeleteMembers is one BatchDeleteMembers call. A member the ELB reports as not deleted (other
// than already gone) makes the call fail, so the caller re-reads.
func (a *v3API) DeleteMembers(ctx context.Context, poolID string, ids []string) error {
	opts := convert(ids, func(id string) v3model.BatchDeleteMembersOption { return v3model.BatchDeleteMembersOption{Id: ptr(id)} })
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
	return show(ctx, a.c, false, "v3 ShowHealthMonitor", a.c.v3.ShowHealthMonitor, &v3model.ShowHealthMonitorRequest{HealthmonitorId: id},
		func(r *v3model.ShowHealthMonitorResponse) *HealthMonitor {
			return mapPtr(r.Healthmonitor, monitorFromV3)
		})
}

func monitorFromV3(h v3model.HealthMonitor) HealthMonitor {
	hm := HealthMonitor{ID: h.Id, Type: h.Type, Delay: h.Delay, Timeout: h.Timeout, MaxRetries: h.MaxRetries, URLPath: h.UrlPath}
	if len(h.Pools) > 0 {
		hm.PoolID = h.Pools[0].Id
	}
	return hm
}

func (a *v3API) CreateHealthMonitor(ctx context.Context, spec HealthMonitorSpec) (*HealthMonitor, error) {
	o := &v3model.CreateHealthMonitorOption{PoolId: spec.PoolID, Name: ptr(spec.Name), Type: spec.Type, Delay: spec.Delay, Timeout: spec.Timeout, MaxRetries: spec.MaxRetries,
		UrlPath: nonEmpty(spec.URLPath)}
	return create(ctx, a.c, false, "v3 CreateHealthMonitor", "", a.c.v3.CreateHealthMonitor,
		&v3model.CreateHealthMonitorRequest{Body: &v3model.CreateHealthMonitorRequestBody{Healthmonitor: o}},
		func(r *v3model.CreateHealthMonitorResponse) *HealthMonitor {
			return onPool(mapPtr(r.Healthmonitor, monitorFromV3), spec.PoolID)
		}, monitorMade(ctx, a, spec.PoolID))
}

func (a *v3API) DeleteHealthMonitor(ctx context.Context, id string) error {
	return write(ctx, a.c, false, "v3 DeleteHealthMonitor", kindDelete, a.c.v3.DeleteHealthMonitor, &v3model.DeleteHealthMonitorRequest{HealthmonitorId: id})
}
