package elbclient

import (
	"context"

	v2model "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"
	v3model "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"

	"github.com/fleetlb/fleetlb/internal/common/elbrules"
)

// Calls that find and rename what a cluster owns on every ELB of the project: the controller's
// sweep of members no Service wants (issue 14, C3) and the move to a new cluster ID (C4).

// MemberRename gives one member a new name.
type MemberRename struct {
	MemberID string
	Name     string
}

// ListLoadBalancers lists the project's ELBs of both families: v3 (dedicated; guaranteed=false
// marks a shared one the v3 API also shows) and v2 (shared), each once.
func (c *SDK) ListLoadBalancers(ctx context.Context) ([]LoadBalancer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l3, err := paginate(func(marker *string) ([]v3model.LoadBalancer, *string, error) {
		r, err := read(ctx, c, false, "v3 ListLoadBalancers", "-", func() (*v3model.ListLoadBalancersResponse, error) {
			return c.v3.ListLoadBalancers(&v3model.ListLoadBalancersRequest{Limit: ptr(int32(pageSize)), Marker: marker})
		})
		if err != nil {
			return nil, nil, err
		}
		return deref(r.Loadbalancers), nextMarker(r.PageInfo), nil
	}, func(lb v3model.LoadBalancer) string { return lb.Id })
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []LoadBalancer
	for _, lb := range l3 {
		class := elbrules.ClassPerformance
		if !lb.Guaranteed {
			class = elbrules.ClassUnion
		}
		seen[lb.Id] = true
		out = append(out, LoadBalancer{ID: lb.Id, Name: lb.Name, VIP: lb.VipAddress, Class: class, IPTargetEnable: lb.IpTargetEnable, VPCID: lb.VpcId, SubnetID: lb.VipSubnetCidrId})
	}
	l2, err := paginate(func(marker *string) ([]v2model.LoadbalancerResp, *string, error) {
		r, err := read(ctx, c, true, "v2 ListLoadbalancers", "-", func() (*v2model.ListLoadbalancersResponse, error) {
			return c.v2.ListLoadbalancers(&v2model.ListLoadbalancersRequest{Limit: ptr(int32(pageSize)), Marker: marker})
		})
		if err != nil {
			return nil, nil, err
		}
		return deref(r.Loadbalancers), nil, nil
	}, func(lb v2model.LoadbalancerResp) string { return lb.Id })
	if err != nil {
		return nil, err
	}
	for _, lb := range l2 {
		if !seen[lb.Id] {
			out = append(out, LoadBalancer{ID: lb.Id, Name: lb.Name, VIP: lb.VipAddress, Class: elbrules.ClassUnion, SubnetID: lb.VipSubnetId})
		}
	}
	return out, nil
}

func (a *v3API) UpdateListenerDescription(ctx context.Context, id, description string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return a.c.call(ctx, false, "v3 UpdateListener", kindUpdate, "", func() error {
		_, err := a.c.v3.UpdateListener(&v3model.UpdateListenerRequest{ListenerId: id, Body: &v3model.UpdateListenerRequestBody{Listener: &v3model.UpdateListenerOption{Description: ptr(description)}}})
		return err
	}, nil)
}

func (a *v2API) UpdateListenerDescription(ctx context.Context, id, description string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return a.c.call(ctx, true, "v2 UpdateListener", kindUpdate, "", func() error {
		_, err := a.c.v2.UpdateListener(&v2model.UpdateListenerRequest{ListenerId: id, Body: &v2model.UpdateListenerRequestBody{Listener: &v2model.UpdateListenerReq{Description: ptr(description)}}})
		return err
	}, nil)
}

func (a *v3API) UpdatePoolDescription(ctx context.Context, id, description string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return a.c.call(ctx, false, "v3 UpdatePool", kindUpdate, "", func() error {
		_, err := a.c.v3.UpdatePool(&v3model.UpdatePoolRequest{PoolId: id, Body: &v3model.UpdatePoolRequestBody{Pool: &v3model.UpdatePoolOption{Description: ptr(description)}}})
		return err
	}, nil)
}

func (a *v2API) UpdatePoolDescription(ctx context.Context, id, description string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return a.c.call(ctx, true, "v2 UpdatePool", kindUpdate, "", func() error {
		_, err := a.c.v2.UpdatePool(&v2model.UpdatePoolRequest{PoolId: id, Body: &v2model.UpdatePoolRequestBody{Pool: &v2model.UpdatePoolReq{Description: ptr(description)}}})
		return err
	}, nil)
}

// RenameMembers is one BatchUpdateMembers call (name is an updatable field,
// services/elb/v3/model/model_batch_update_members_option.go): the members keep their address,
// weight and health, so no traffic is lost.
func (a *v3API) RenameMembers(ctx context.Context, poolID string, renames []MemberRename) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	opts := make([]v3model.BatchUpdateMembersOption, 0, len(renames))
	for _, r := range renames {
		opts = append(opts, v3model.BatchUpdateMembersOption{Id: r.MemberID, Name: ptr(r.Name)})
	}
	return a.c.call(ctx, false, "v3 BatchUpdateMembers", kindUpdate, "", func() error {
		_, err := a.c.v3.BatchUpdateMembers(&v3model.BatchUpdateMembersRequest{PoolId: poolID, Body: &v3model.BatchUpdateMembersRequestBody{Members: opts}})
		return err
	}, nil)
}

// RenameMembers makes one UpdateMember call per member (v2 has no batch calls).
func (a *v2API) RenameMembers(ctx context.Context, poolID string, renames []MemberRename) error {
	for _, r := range renames {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := a.c.call(ctx, true, "v2 UpdateMember", kindUpdate, "", func() error {
			_, err := a.c.v2.UpdateMember(&v2model.UpdateMemberRequest{PoolId: poolID, MemberId: r.MemberID, Body: &v2model.UpdateMemberRequestBody{Member: &v2model.UpdateMemberReq{Name: ptr(r.Name)}}})
			return err
		}, nil); err != nil {
			return err
		}
	}
	return nil
}

// MembersOfLoadBalancer lists every member of ELB lbID by pool ID: one paged ListAllMembers call
// with the loadbalancer_id filter (services/elb/v3/model/model_list_all_members_request.go;
// model_member_info.go carries pool_id), instead of one call per pool. v3 only.
func (a *v3API) MembersOfLoadBalancer(ctx context.Context, lbID string) (map[string][]Member, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ms, err := paginate(func(marker *string) ([]v3model.MemberInfo, *string, error) {
		r, err := read(ctx, a.c, false, "v3 ListAllMembers", lbID, func() (*v3model.ListAllMembersResponse, error) {
			return a.c.v3.ListAllMembers(&v3model.ListAllMembersRequest{LoadbalancerId: &[]string{lbID}, Limit: ptr(int32(pageSize)), Marker: marker})
		})
		if err != nil {
			return nil, nil, err
		}
		return deref(r.Members), nextMarker(r.PageInfo), nil
	}, func(m v3model.MemberInfo) string { return m.Id })
	if err != nil {
		return nil, err
	}
	out := map[string][]Member{}
	for _, m := range ms {
		pool := deref(m.PoolId)
		out[pool] = append(out[pool], Member{ID: m.Id, Name: m.Name, Address: m.Address, Port: m.ProtocolPort, Weight: int(m.Weight), SubnetID: deref(m.SubnetCidrId)})
	}
	return out, nil
}
