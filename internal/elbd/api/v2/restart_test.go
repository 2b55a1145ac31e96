package apiv2_test

import (
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"
)

func TestStateSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	e := openEnv(t, dir)
	s := createShared(t, e)
	e.stop()

	e = openEnv(t, dir)
	c := e.v2()
	lb, err := c.ShowLoadbalancer(&model.ShowLoadbalancerRequest{LoadbalancerId: s.lb.Id})
	if err != nil || lb.Loadbalancer.VipAddress != s.lb.VipAddress || len(lb.Loadbalancer.Listeners) != 1 || len(lb.Loadbalancer.Pools) != 1 {
		t.Fatalf("load balancer after restart: %+v, %v", lb, err)
	}
	ms, err := c.ListMembers(&model.ListMembersRequest{PoolId: s.pool.Id})
	if err != nil || len(*ms.Members) != 2 || (*ms.Members)[1].Address != "127.10.1.22" || (*ms.Members)[1].Weight != 10 {
		t.Fatalf("members after restart: %+v, %v", ms, err)
	}
	l, err := c.ShowListener(&model.ShowListenerRequest{ListenerId: s.listener.Id})
	if err != nil || l.Listener.DefaultPoolId != s.pool.Id {
		t.Fatalf("listener after restart: %+v, %v", l, err)
	}
	// The VIP stays taken after the restart.
	_, err = c.CreateLoadbalancer(&model.CreateLoadbalancerRequest{Body: &model.CreateLoadbalancerRequestBody{
		Loadbalancer: &model.CreateLoadbalancerReq{VipSubnetId: "subnet-a1", VipAddress: &s.lb.VipAddress}}})
	wantAPIError(t, "VIP reuse after restart", err, 409, "ELB.8907", "already used")
}
