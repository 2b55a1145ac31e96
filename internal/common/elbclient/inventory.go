package elbclient

import (
	"context"

	v2model "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"
	v3model "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
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
	l3, err := list(ctx, c, false, "v3 ListLoadBalancers", c.v3.ListLoadBalancers, func(marker *string) *v3model.ListLoadBalancersRequest {
		return &v3model.ListLoadBalancersRequest{Limit: ptr(int32(pageSize)), Marker: marker}
	}, func(r *v3model.ListLoadBalancersResponse) ([]v3model.LoadBalancer, *string) {
		return deref(r.Loadbalancers), nextMarker(r.PageInfo)
	}, func(lb v3model.LoadBalancer) string { return lb.Id }, loadBalancerFromV3)
	if err != nil {
		return nil, err
	}
	l2, err := list(ctx, c, true, "v2 ListLoadbalancers", c.v2.ListLoadbalancers, func(marker *string) *v2model.ListLoadbalancersRequest {
		return &v2model.ListLoadbalancersRequest{Limit: ptr(int32(pageSize)), Marker: marker}
	}, func(r *v2model.ListLoadbalancersResponse) ([]v2model.LoadbalancerResp, *string) {
		return deref(r.Loadbalancers), nil
	},
		func(lb v2model.LoadbalancerResp) string { return lb.Id }, loadBalancerFromV2)
	if err != nil {
		return nil, err
	}
	out := l3
	seen := map[string]bool{}
	for _, lb := range l3 {
		seen[lb.ID] = true
	}
	for _, lb := range l2 {
		if !seen[lb.ID] {
			out = append(out, lb)
		}
	}
	return out, nil
}

func (a *v3API) UpdateListenerDescription(ctx context.Context, id, description string) error {
	return write(ctx, a.c, false, "v3 UpdateListener", kindUpdate, a.c.v3.UpdateListener, &v3model.UpdateListenerRequest{ListenerId: id,
		Body: &v3model.UpdateListenerRequestBody{Listener: &v3model.UpdateListenerOption{Description: ptr(description)}}})
}

func (a *v2API) UpdateListenerDescription(ctx context.Context, id, description string) error {
	return write(ctx, a.c, true, "v2 UpdateListener", kindUpdate, a.c.v2.UpdateListener, &v2model.UpdateListenerRequest{ListenerId: id,
		Body: &v2model.UpdateListenerRequestBody{Listener: &v2model.UpdateListenerReq{Description: ptr(description)}}})
}

func (a *v3API) UpdatePoolDescription(ctx context.Context, id, description string) error {
	return a.updatePool(ctx, id, v3model.UpdatePoolOption{Description: ptr(description)})
}

func (a *v2API) UpdatePoolDescription(ctx context.Context, id, description string) error {
	return a.updatePool(ctx, id, v2model.UpdatePoolReq{Description: ptr(description)})
}

// RenameMembers is one BatchUpdateMembers call (name is an updatable field,
// services/elb/v3/model/model_batch_update_members_option.go): the members keep their address,
// weight and health, so no traffic is lost.
func (a *v3API) RenameMembers(ctx context.Context, poolID string, renames []MemberRename) error {
	return a.updateMembers(ctx, poolID, convert(renames, func(r MemberRename) v3model.BatchUpdateMembersOption {
		return v3model.BatchUpdateMembersOption{Id: r.MemberID, Name: ptr(r.Name)}
	}))
}

// RenameMembers makes one UpdateMember call per member (v2 has no batch calls).
func (a *v2API) RenameMembers(ctx context.Context, poolID string, renames []MemberRename) error {
	return eachMember(ctx, renames, func(r MemberRename) error {
		return a.updateMember(ctx, poolID, r.MemberID, v2model.UpdateMemberReq{Name: ptr(r.Name)})
	})
}

// MembersOfLoadBalancer lists every member of ELB lbID by pool ID: one paged ListAllMembers call
// with the loadbalancer_id filter (services/elb/v3/model/model_list_all_members_request.go;
// model_member_info.go carries pool_id), instead of one call per pool. v3 only.
func (a *v3API) MembersOfLoadBalancer(ctx context.Context, lbID string) (map[string][]Member, error) {
	type pooled struct {
		pool string
		Member
	}
	ms, err := list(ctx, a.c, false, "v3 ListAllMembers", a.c.v3.ListAllMembers, func(marker *string) *v3model.ListAllMembersRequest {
		return &v3model.ListAllMembersRequest{LoadbalancerId: &[]string{lbID}, Limit: ptr(int32(pageSize)), Marker: marker}
	}, func(r *v3model.ListAllMembersResponse) ([]v3model.MemberInfo, *string) {
		return deref(r.Members), nextMarker(r.PageInfo)
	},
		func(m v3model.MemberInfo) string { return m.Id }, func(m v3model.MemberInfo) pooled {
			return pooled{deref(m.PoolId), Member{ID: m.Id, Name: m.Name, Address: m.Address, Port: m.ProtocolPort, Weight: int(m.Weight), SubnetID: deref(m.SubnetCidrId)}}
		})
	if err != nil {
		return nil, err
	}
	out := map[string][]Member{}
	for _, m := range ms {
		out[m.pool] = append(out[m.pool], m.Member)
	}
	return out, nil
}
