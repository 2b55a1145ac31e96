package apiv2_test

import (
	"encoding/json"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"
)

// F3: a key of project p2 can read or change nothing of project p1's shared (v2) load balancers
// — not by listing (with ID filters), not by ID, not by creating under them. (v2 has no batch
// member calls; v3's are in internal/elbd/api's TestProjectKeyReachesNothingOfAnotherProject.)
func TestV2ProjectKeyReachesNothingOfAnotherProject(t *testing.T) {
	e, a, s := newShared(t)
	mem := s.members[0]
	hm, err := a.CreateHealthmonitor(&model.CreateHealthmonitorRequest{Body: &model.CreateHealthmonitorRequestBody{Healthmonitor: &model.CreateHealthmonitorReq{
		PoolId: s.pool.Id, Type: model.GetCreateHealthmonitorReqTypeEnum().TCP, Delay: 5, Timeout: 3, MaxRetries: 3}}})
	if err != nil {
		t.Fatal(err)
	}
	hmID := hm.Healthmonitor.Id
	snapshot := func() string {
		t.Helper()
		var all []any
		for _, call := range []func() (any, error){
			func() (any, error) {
				return a.ShowLoadbalancer(&model.ShowLoadbalancerRequest{LoadbalancerId: s.lb.Id})
			},
			func() (any, error) { return a.ShowListener(&model.ShowListenerRequest{ListenerId: s.listener.Id}) },
			func() (any, error) { return a.ShowPool(&model.ShowPoolRequest{PoolId: s.pool.Id}) },
			func() (any, error) { return a.ListMembers(&model.ListMembersRequest{PoolId: s.pool.Id}) },
			func() (any, error) {
				return a.ShowHealthmonitors(&model.ShowHealthmonitorsRequest{HealthmonitorId: hmID})
			},
		} {
			v, err := call()
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, v)
		}
		out, err := json.Marshal(all)
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	before := snapshot()

	b := e.v2As("AK2", "SK2-secret", "p2")
	if l, err := b.ListLoadbalancers(&model.ListLoadbalancersRequest{Id: &s.lb.Id}); err != nil || len(*l.Loadbalancers) != 0 {
		t.Errorf("p2 lists p1's load balancer by ID: %+v, %v", l, err)
	}
	if l, err := b.ListListeners(&model.ListListenersRequest{LoadbalancerId: &s.lb.Id}); err != nil || len(*l.Listeners) != 0 {
		t.Errorf("p2 lists p1's listeners: %+v, %v", l, err)
	}
	if l, err := b.ListPools(&model.ListPoolsRequest{Id: &s.pool.Id}); err != nil || len(*l.Pools) != 0 {
		t.Errorf("p2 lists p1's pool: %+v, %v", l, err)
	}
	if l, err := b.ListHealthmonitors(&model.ListHealthmonitorsRequest{Id: &hmID}); err != nil || len(*l.Healthmonitors) != 0 {
		t.Errorf("p2 lists p1's health monitor: %+v, %v", l, err)
	}

	for _, c := range []struct {
		what, id string
		err      error
	}{
		{"show load balancer", s.lb.Id, errOf(b.ShowLoadbalancer(&model.ShowLoadbalancerRequest{LoadbalancerId: s.lb.Id}))},
		{"status tree", s.lb.Id, errOf(b.ShowLoadbalancersStatus(&model.ShowLoadbalancersStatusRequest{LoadbalancerId: s.lb.Id}))},
		{"update load balancer", s.lb.Id, errOf(b.UpdateLoadbalancer(&model.UpdateLoadbalancerRequest{LoadbalancerId: s.lb.Id, Body: &model.UpdateLoadbalancerRequestBody{Loadbalancer: &model.UpdateLoadbalancerReq{Name: ptr("x")}}}))},
		{"delete load balancer", s.lb.Id, errOf(b.DeleteLoadbalancer(&model.DeleteLoadbalancerRequest{LoadbalancerId: s.lb.Id}))},
		{"show listener", s.listener.Id, errOf(b.ShowListener(&model.ShowListenerRequest{ListenerId: s.listener.Id}))},
		{"update listener", s.listener.Id, errOf(b.UpdateListener(&model.UpdateListenerRequest{ListenerId: s.listener.Id, Body: &model.UpdateListenerRequestBody{Listener: &model.UpdateListenerReq{Name: ptr("x")}}}))},
		{"delete listener", s.listener.Id, errOf(b.DeleteListener(&model.DeleteListenerRequest{ListenerId: s.listener.Id}))},
		{"show pool", s.pool.Id, errOf(b.ShowPool(&model.ShowPoolRequest{PoolId: s.pool.Id}))},
		{"update pool", s.pool.Id, errOf(b.UpdatePool(&model.UpdatePoolRequest{PoolId: s.pool.Id, Body: &model.UpdatePoolRequestBody{Pool: &model.UpdatePoolReq{Name: ptr("x")}}}))},
		{"delete pool", s.pool.Id, errOf(b.DeletePool(&model.DeletePoolRequest{PoolId: s.pool.Id}))},
		{"list members", s.pool.Id, errOf(b.ListMembers(&model.ListMembersRequest{PoolId: s.pool.Id}))},
		{"show member", s.pool.Id, errOf(b.ShowMember(&model.ShowMemberRequest{PoolId: s.pool.Id, MemberId: mem.Id}))},
		{"update member", s.pool.Id, errOf(b.UpdateMember(&model.UpdateMemberRequest{PoolId: s.pool.Id, MemberId: mem.Id, Body: &model.UpdateMemberRequestBody{Member: &model.UpdateMemberReq{Weight: ptr(int32(0))}}}))},
		{"delete member", s.pool.Id, errOf(b.DeleteMember(&model.DeleteMemberRequest{PoolId: s.pool.Id, MemberId: mem.Id}))},
		{"create member", s.pool.Id, errOf(b.CreateMember(&model.CreateMemberRequest{PoolId: s.pool.Id, Body: &model.CreateMemberRequestBody{Member: &model.CreateMemberReq{Address: "127.10.1.40", ProtocolPort: 80, SubnetId: "subnet-a1"}}}))},
		{"create listener", s.lb.Id, errOf(b.CreateListener(&model.CreateListenerRequest{Body: &model.CreateListenerRequestBody{Listener: &model.CreateListenerReq{
			LoadbalancerId: s.lb.Id, Protocol: model.GetCreateListenerReqProtocolEnum().TCP, ProtocolPort: 81}}}))},
		{"create pool", s.lb.Id, errOf(b.CreatePool(&model.CreatePoolRequest{Body: &model.CreatePoolRequestBody{Pool: &model.CreatePoolReq{
			Protocol: model.GetCreatePoolReqProtocolEnum().TCP, LbAlgorithm: "ROUND_ROBIN", LoadbalancerId: &s.lb.Id}}}))},
		{"show health monitor", hmID, errOf(b.ShowHealthmonitors(&model.ShowHealthmonitorsRequest{HealthmonitorId: hmID}))},
		{"update health monitor", hmID, errOf(b.UpdateHealthmonitor(&model.UpdateHealthmonitorRequest{HealthmonitorId: hmID, Body: &model.UpdateHealthmonitorRequestBody{Healthmonitor: &model.UpdateHealthmonitorReq{Delay: ptr(int32(9))}}}))},
		{"delete health monitor", hmID, errOf(b.DeleteHealthmonitor(&model.DeleteHealthmonitorRequest{HealthmonitorId: hmID}))},
	} {
		wantAPIError(t, "p2: "+c.what, c.err, 404, "ELB.8904", c.id)
	}
	if after := snapshot(); after != before {
		t.Errorf("p1's resources changed under p2's calls:\nbefore %s\nafter  %s", before, after)
	}
}
