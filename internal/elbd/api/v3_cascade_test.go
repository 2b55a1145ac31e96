package api_test

import (
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
)

// tree builds LB → listener → pool (with monitor and 2 members) and returns their IDs.
func (e *env) tree(lbID string, port int32) (listener, pool, monitor string, members []string) {
	e.t.Helper()
	c := e.c1()
	l := e.listener(c, lbID, "TCP", port)
	p := e.pool(c, model.CreatePoolOption{Protocol: "TCP", ListenerId: &l.Id})
	hm, err := c.CreateHealthMonitor(&model.CreateHealthMonitorRequest{Body: &model.CreateHealthMonitorRequestBody{
		Healthmonitor: &model.CreateHealthMonitorOption{PoolId: p.Id, Type: "TCP", Delay: 5, Timeout: 3, MaxRetries: 2}}})
	if err != nil {
		e.t.Fatal(err)
	}
	for i := int32(0); i < 2; i++ {
		m, err := e.member(c, p.Id, model.CreateMemberOption{Address: "127.10.1.10", ProtocolPort: ptr(port + 1000 + i), SubnetCidrId: ptr("subnet-a1")})
		if err != nil {
			e.t.Fatal(err)
		}
		members = append(members, m.Id)
	}
	return l.Id, p.Id, hm.Healthmonitor.Id, members
}

func TestCascadingDeletes(t *testing.T) {
	e, c, lb := newEnvLB(t, false)
	gone := func(err error) {
		t.Helper()
		wantErr(t, err, 404, "ELB.8904")
	}

	// Pool delete-cascade: members and monitor go, the listener stays without a default pool.
	l1, p1, hm1, _ := e.tree(lb.Id, 81)
	if d := must[*model.DeletePoolCascadeResponse](t)(c.DeletePoolCascade(&model.DeletePoolCascadeRequest{PoolId: p1})); d.HttpStatusCode != 204 {
		t.Errorf("delete-cascade status %d", d.HttpStatusCode)
	}
	_, err := c.ShowPool(&model.ShowPoolRequest{PoolId: p1})
	gone(err)
	_, err = c.ShowHealthMonitor(&model.ShowHealthMonitorRequest{HealthmonitorId: hm1})
	gone(err)
	if l := must[*model.ShowListenerResponse](t)(c.ShowListener(&model.ShowListenerRequest{ListenerId: l1})); l.Listener.DefaultPoolId != "" {
		t.Errorf("listener still bound to %s", l.Listener.DefaultPoolId)
	}

	// Listener force (E6b): the listener goes and its pool is unbound; the pool, its members and
	// monitor stay ("解绑后端服务器组", elb_client.go DeleteListenerForce); other listeners stay.
	l2, p2, hm2, m2 := e.tree(lb.Id, 82)
	if d := must[*model.DeleteListenerForceResponse](t)(c.DeleteListenerForce(&model.DeleteListenerForceRequest{ListenerId: l2})); d.HttpStatusCode != 204 {
		t.Errorf("force status %d", d.HttpStatusCode)
	}
	_, err = c.ShowListener(&model.ShowListenerRequest{ListenerId: l2})
	gone(err)
	if p := must[*model.ShowPoolResponse](t)(c.ShowPool(&model.ShowPoolRequest{PoolId: p2})); len(p.Pool.Listeners) != 0 || p.Pool.HealthmonitorId != hm2 {
		t.Errorf("pool after listener force: listeners %v, monitor %q; want unbound, monitor %s", p.Pool.Listeners, p.Pool.HealthmonitorId, hm2)
	}
	must[*model.ShowHealthMonitorResponse](t)(c.ShowHealthMonitor(&model.ShowHealthMonitorRequest{HealthmonitorId: hm2}))
	all := must[*model.ListAllMembersResponse](t)(c.ListAllMembers(&model.ListAllMembersRequest{Id: &[]string{m2[0], m2[1]}}))
	if len(*all.Members) != 2 {
		t.Errorf("members of the unbound pool: %+v, want both kept", *all.Members)
	}
	must[*model.ShowListenerResponse](t)(c.ShowListener(&model.ShowListenerRequest{ListenerId: l1}))

	// Load balancer force-elb: everything under it goes; another LB is untouched.
	other := e.lb(c, false)
	_, po, _, _ := e.tree(other.Id, 83)
	e.tree(lb.Id, 84)
	if d := must[*model.DeleteLoadBalancerForceResponse](t)(c.DeleteLoadBalancerForce(&model.DeleteLoadBalancerForceRequest{LoadbalancerId: lb.Id})); d.HttpStatusCode != 204 {
		t.Errorf("force-elb status %d", d.HttpStatusCode)
	}
	_, err = c.ShowLoadBalancer(&model.ShowLoadBalancerRequest{LoadbalancerId: lb.Id})
	gone(err)
	ls := must[*model.ListListenersResponse](t)(c.ListListeners(&model.ListListenersRequest{}))
	ps := must[*model.ListPoolsResponse](t)(c.ListPools(&model.ListPoolsRequest{}))
	ms := must[*model.ListAllMembersResponse](t)(c.ListAllMembers(&model.ListAllMembersRequest{}))
	if len(*ls.Listeners) != 1 || len(*ps.Pools) != 1 || (*ps.Pools)[0].Id != po || len(*ms.Members) != 2 {
		t.Errorf("after force-elb: %d listeners, %d pools, %d members; want only the other LB's 1/1/2", len(*ls.Listeners), len(*ps.Pools), len(*ms.Members))
	}
	_, err = c.DeleteLoadBalancerForce(&model.DeleteLoadBalancerForceRequest{LoadbalancerId: lb.Id})
	gone(err)
}
