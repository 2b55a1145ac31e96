package api_test

import (
	"encoding/json"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
)

// F3: a key of project p2 can read or change nothing of project p1 through the v3 API — not by
// listing (with or without ID filters), not by showing, updating or deleting by ID, not by
// creating under p1's resources, not by batch calls on p1's pool or that mix p1's IDs into p2's.
func TestProjectKeyReachesNothingOfAnotherProject(t *testing.T) {
	e, a, lb, ln, pool := newEnvStack(t, true)
	mem := must[*model.Member](t)(e.member(a, pool.Id, model.CreateMemberOption{Address: "127.10.1.10", ProtocolPort: ptr(int32(80)), SubnetCidrId: ptr("subnet-a1")}))
	hm := must[*model.CreateHealthMonitorResponse](t)(a.CreateHealthMonitor(&model.CreateHealthMonitorRequest{Body: &model.CreateHealthMonitorRequestBody{
		Healthmonitor: &model.CreateHealthMonitorOption{PoolId: pool.Id, Type: "TCP", Delay: 5, Timeout: 3, MaxRetries: 3}}})).Healthmonitor
	must[*model.ChangeLoadbalancerTagsResponse](t)(a.ChangeLoadbalancerTags(&model.ChangeLoadbalancerTagsRequest{LoadbalancerId: lb.Id,
		Body: &model.ChangeLoadbalancerTagsRequestBody{Action: model.GetChangeLoadbalancerTagsRequestBodyActionEnum().CREATE, Tags: []model.ChangeResourceTagOption{{Key: "owner", Value: "a"}}}}))

	// What p1 sees of its own resources, before and after p2's attempts.
	snapshot := func() string {
		t.Helper()
		var all []any
		all = append(all, must[*model.ShowLoadBalancerResponse](t)(a.ShowLoadBalancer(&model.ShowLoadBalancerRequest{LoadbalancerId: lb.Id})).Loadbalancer)
		all = append(all, must[*model.ShowListenerResponse](t)(a.ShowListener(&model.ShowListenerRequest{ListenerId: ln.Id})).Listener)
		all = append(all, must[*model.ShowPoolResponse](t)(a.ShowPool(&model.ShowPoolRequest{PoolId: pool.Id})).Pool)
		all = append(all, must[*model.ListMembersResponse](t)(a.ListMembers(&model.ListMembersRequest{PoolId: pool.Id})).Members)
		all = append(all, must[*model.ShowHealthMonitorResponse](t)(a.ShowHealthMonitor(&model.ShowHealthMonitorRequest{HealthmonitorId: hm.Id})).Healthmonitor)
		all = append(all, must[*model.ShowLoadbalancerTagsResponse](t)(a.ShowLoadbalancerTags(&model.ShowLoadbalancerTagsRequest{LoadbalancerId: lb.Id})).Tags)
		out, err := json.Marshal(all)
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	before := snapshot()

	b := e.c2()
	// p2's own pool, to mix p1's IDs into p2's batch calls.
	lbB := e.lb(b, true)
	poolB := e.pool(b, model.CreatePoolOption{Protocol: "TCP", LoadbalancerId: &lbB.Id})
	memB := must[*model.Member](t)(e.member(b, poolB.Id, model.CreateMemberOption{Address: "127.10.1.20", ProtocolPort: ptr(int32(80)), SubnetCidrId: ptr("subnet-a1")}))

	// Lists: p1's resources appear in none, even when asked for by ID.
	ids := &[]string{lb.Id}
	if l := must[*model.ListLoadBalancersResponse](t)(b.ListLoadBalancers(&model.ListLoadBalancersRequest{Id: ids})); len(*l.Loadbalancers) != 0 {
		t.Errorf("p2 lists p1's load balancer by ID: %+v", *l.Loadbalancers)
	}
	if l := must[*model.ListLoadBalancersResponse](t)(b.ListLoadBalancers(&model.ListLoadBalancersRequest{})); len(*l.Loadbalancers) != 1 {
		t.Errorf("p2 lists %d load balancers, want only its own", len(*l.Loadbalancers))
	}
	if l := must[*model.ListListenersResponse](t)(b.ListListeners(&model.ListListenersRequest{Id: &[]string{ln.Id}})); len(*l.Listeners) != 0 {
		t.Errorf("p2 lists p1's listener: %+v", *l.Listeners)
	}
	if l := must[*model.ListListenersResponse](t)(b.ListListeners(&model.ListListenersRequest{LoadbalancerId: ids})); len(*l.Listeners) != 0 {
		t.Errorf("p2 lists p1's listeners by load balancer: %+v", *l.Listeners)
	}
	if l := must[*model.ListPoolsResponse](t)(b.ListPools(&model.ListPoolsRequest{Id: &[]string{pool.Id}})); len(*l.Pools) != 0 {
		t.Errorf("p2 lists p1's pool: %+v", *l.Pools)
	}
	if l := must[*model.ListAllMembersResponse](t)(b.ListAllMembers(&model.ListAllMembersRequest{Id: &[]string{mem.Id, memB.Id}})); len(*l.Members) != 1 || (*l.Members)[0].Id != memB.Id {
		t.Errorf("p2 lists members %+v for IDs [p1's, p2's]; want only its own", *l.Members)
	}
	if l := must[*model.ListAllMembersResponse](t)(b.ListAllMembers(&model.ListAllMembersRequest{LoadbalancerId: ids})); len(*l.Members) != 0 {
		t.Errorf("p2 lists p1's members by load balancer: %+v", *l.Members)
	}
	if l := must[*model.ListHealthMonitorsResponse](t)(b.ListHealthMonitors(&model.ListHealthMonitorsRequest{Id: &[]string{hm.Id}})); len(*l.Healthmonitors) != 0 {
		t.Errorf("p2 lists p1's health monitor: %+v", *l.Healthmonitors)
	}

	// By ID: every read and write of p1's resources is a 404 naming the ID, as for an ID that
	// does not exist (the answer does not even confirm that it does).
	for _, c := range []struct {
		what, id string
		err      error
	}{
		{"show load balancer", lb.Id, errOf(b.ShowLoadBalancer(&model.ShowLoadBalancerRequest{LoadbalancerId: lb.Id}))},
		{"show load balancer status", lb.Id, errOf(b.ShowLoadBalancerStatus(&model.ShowLoadBalancerStatusRequest{LoadbalancerId: lb.Id}))},
		{"update load balancer", lb.Id, errOf(b.UpdateLoadBalancer(&model.UpdateLoadBalancerRequest{LoadbalancerId: lb.Id, Body: &model.UpdateLoadBalancerRequestBody{Loadbalancer: &model.UpdateLoadBalancerOption{Name: ptr("x")}}}))},
		{"delete load balancer", lb.Id, errOf(b.DeleteLoadBalancer(&model.DeleteLoadBalancerRequest{LoadbalancerId: lb.Id}))},
		{"show tags", lb.Id, errOf(b.ShowLoadbalancerTags(&model.ShowLoadbalancerTagsRequest{LoadbalancerId: lb.Id}))},
		{"change tags", lb.Id, errOf(b.ChangeLoadbalancerTags(&model.ChangeLoadbalancerTagsRequest{LoadbalancerId: lb.Id, Body: &model.ChangeLoadbalancerTagsRequestBody{
			Action: model.GetChangeLoadbalancerTagsRequestBodyActionEnum().DELETE, Tags: []model.ChangeResourceTagOption{{Key: "owner"}}}}))},
		{"show listener", ln.Id, errOf(b.ShowListener(&model.ShowListenerRequest{ListenerId: ln.Id}))},
		{"update listener", ln.Id, errOf(b.UpdateListener(&model.UpdateListenerRequest{ListenerId: ln.Id, Body: &model.UpdateListenerRequestBody{Listener: &model.UpdateListenerOption{Name: ptr("x")}}}))},
		{"delete listener", ln.Id, errOf(b.DeleteListener(&model.DeleteListenerRequest{ListenerId: ln.Id}))},
		{"force-delete listener", ln.Id, errOf(b.DeleteListenerForce(&model.DeleteListenerForceRequest{ListenerId: ln.Id}))},
		{"show pool", pool.Id, errOf(b.ShowPool(&model.ShowPoolRequest{PoolId: pool.Id}))},
		{"update pool", pool.Id, errOf(b.UpdatePool(&model.UpdatePoolRequest{PoolId: pool.Id, Body: &model.UpdatePoolRequestBody{Pool: &model.UpdatePoolOption{LbAlgorithm: ptr("SOURCE_IP")}}}))},
		{"delete pool", pool.Id, errOf(b.DeletePool(&model.DeletePoolRequest{PoolId: pool.Id}))},
		{"list members of the pool", pool.Id, errOf(b.ListMembers(&model.ListMembersRequest{PoolId: pool.Id}))},
		{"show member", pool.Id, errOf(b.ShowMember(&model.ShowMemberRequest{PoolId: pool.Id, MemberId: mem.Id}))},
		{"update member", pool.Id, errOf(b.UpdateMember(&model.UpdateMemberRequest{PoolId: pool.Id, MemberId: mem.Id, Body: &model.UpdateMemberRequestBody{Member: &model.UpdateMemberOption{Weight: ptr(int32(0))}}}))},
		{"delete member", pool.Id, errOf(b.DeleteMember(&model.DeleteMemberRequest{PoolId: pool.Id, MemberId: mem.Id}))},
		{"show health monitor", hm.Id, errOf(b.ShowHealthMonitor(&model.ShowHealthMonitorRequest{HealthmonitorId: hm.Id}))},
		{"update health monitor", hm.Id, errOf(b.UpdateHealthMonitor(&model.UpdateHealthMonitorRequest{HealthmonitorId: hm.Id, Body: &model.UpdateHealthMonitorRequestBody{Healthmonitor: &model.UpdateHealthMonitorOption{Delay: ptr(int32(9))}}}))},
		{"delete health monitor", hm.Id, errOf(b.DeleteHealthMonitor(&model.DeleteHealthMonitorRequest{HealthmonitorId: hm.Id}))},

		// Creating under p1's resources.
		{"create listener on the load balancer", lb.Id, errOf(b.CreateListener(&model.CreateListenerRequest{Body: &model.CreateListenerRequestBody{Listener: &model.CreateListenerOption{LoadbalancerId: lb.Id, Protocol: "TCP", ProtocolPort: ptr(int32(81))}}}))},
		{"create pool on the load balancer", lb.Id, errOf(b.CreatePool(&model.CreatePoolRequest{Body: &model.CreatePoolRequestBody{Pool: &model.CreatePoolOption{LbAlgorithm: "ROUND_ROBIN", Protocol: "TCP", LoadbalancerId: &lb.Id}}}))},
		{"create member in the pool", pool.Id, errOf(b.CreateMember(&model.CreateMemberRequest{PoolId: pool.Id, Body: &model.CreateMemberRequestBody{Member: &model.CreateMemberOption{Address: "127.10.1.30", ProtocolPort: ptr(int32(80)), SubnetCidrId: ptr("subnet-a1")}}}))},
		{"create health monitor on the pool", pool.Id, errOf(b.CreateHealthMonitor(&model.CreateHealthMonitorRequest{Body: &model.CreateHealthMonitorRequestBody{Healthmonitor: &model.CreateHealthMonitorOption{PoolId: pool.Id, Type: "TCP", Delay: 5, Timeout: 3, MaxRetries: 3}}}))},

		// Batch calls on p1's pool.
		{"batch-create in the pool", pool.Id, errOf(b.BatchCreateMembers(&model.BatchCreateMembersRequest{PoolId: pool.Id, Body: &model.BatchCreateMembersRequestBody{Members: []model.BatchCreateMembersOption{{Address: "127.10.1.31", ProtocolPort: 80, SubnetCidrId: ptr("subnet-a1")}}}}))},
		{"batch-delete in the pool", pool.Id, errOf(b.BatchDeleteMembers(&model.BatchDeleteMembersRequest{PoolId: pool.Id, Body: &model.BatchDeleteMembersRequestBody{Members: []model.BatchDeleteMembersOption{{Id: &mem.Id}}}}))},
		{"batch-update in the pool", pool.Id, errOf(b.BatchUpdateMembers(&model.BatchUpdateMembersRequest{PoolId: pool.Id, Body: &model.BatchUpdateMembersRequestBody{Members: []model.BatchUpdateMembersOption{{Id: mem.Id, Weight: ptr(int32(0))}}}}))},
	} {
		t.Run(c.what, func(t *testing.T) { wantErr(t, c.err, 404, "ELB.8904", c.id) })
	}

	// Batch calls on p2's own pool that mix in p1's member: p1's member is never touched. A
	// member the pool does not hold is "not found" in a batch delete (E5); a batch update
	// naming one is refused whole, so p2's own member keeps its weight too.
	del := must[*model.BatchDeleteMembersResponse](t)(b.BatchDeleteMembers(&model.BatchDeleteMembersRequest{PoolId: poolB.Id,
		Body: &model.BatchDeleteMembersRequestBody{Members: []model.BatchDeleteMembersOption{{Id: &mem.Id}}}}))
	if len(*del.Members) != 1 || (*del.Members)[0].RetStatus != "not found" {
		t.Errorf("p2's batch delete of p1's member ID in its own pool answered %+v, want it \"not found\"", *del.Members)
	}
	_, err := b.BatchUpdateMembers(&model.BatchUpdateMembersRequest{PoolId: poolB.Id, Body: &model.BatchUpdateMembersRequestBody{Members: []model.BatchUpdateMembersOption{
		{Id: memB.Id, Weight: ptr(int32(9))}, {Id: mem.Id, Weight: ptr(int32(0))}}}})
	t.Run("batch-update mixing p1's member into p2's pool", func(t *testing.T) { wantErr(t, err, 404, "ELB.8904", mem.Id) })
	if got := must[*model.ShowMemberResponse](t)(b.ShowMember(&model.ShowMemberRequest{PoolId: poolB.Id, MemberId: memB.Id})).Member; got.Weight != memB.Weight {
		t.Errorf("the refused mixed batch update changed p2's own member: weight %d, want %d", got.Weight, memB.Weight)
	}

	if after := snapshot(); after != before {
		t.Errorf("p1's resources changed under p2's calls:\nbefore %s\nafter  %s", before, after)
	}
}
