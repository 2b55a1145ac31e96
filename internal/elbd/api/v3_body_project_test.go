package api_test

import (
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
)

// Every create refuses a body project_id other than the URL's, and accepts the URL's own.
func TestCreateBodyProjectMustMatchURL(t *testing.T) {
	e := newEnv(t)
	c := e.c1()
	_, err := createLB(c, model.CreateLoadBalancerOption{VipSubnetCidrId: ptr("subnet-a1"), ProjectId: ptr("p2")})
	wantErr(t, err, 400, "ELB.8902", `project_id "p2" in the body differs from the project "p1" of the URL`)

	resp, err := createLB(c, model.CreateLoadBalancerOption{VipSubnetCidrId: ptr("subnet-a1"), ProjectId: ptr("p1")})
	if err != nil {
		t.Fatalf("create with the URL's own project_id: %v", err)
	}
	lb := *resp.Loadbalancer
	l := e.listener(c, lb.Id, "TCP", 80)
	p := e.pool(c, model.CreatePoolOption{Protocol: "TCP", LoadbalancerId: &lb.Id})

	_, err = c.CreateListener(&model.CreateListenerRequest{Body: &model.CreateListenerRequestBody{
		Listener: &model.CreateListenerOption{LoadbalancerId: lb.Id, Protocol: "TCP", ProtocolPort: ptr(int32(81)), ProjectId: ptr("p2")}}})
	wantErr(t, err, 400, "ELB.8902", "project_id")
	_, err = c.CreatePool(&model.CreatePoolRequest{Body: &model.CreatePoolRequestBody{
		Pool: &model.CreatePoolOption{Protocol: "TCP", LbAlgorithm: "ROUND_ROBIN", ListenerId: &l.Id, ProjectId: ptr("p2")}}})
	wantErr(t, err, 400, "ELB.8902", "project_id")
	_, err = e.member(c, p.Id, model.CreateMemberOption{Address: "127.10.1.9", ProtocolPort: ptr(int32(80)), SubnetCidrId: ptr("subnet-a1"), ProjectId: ptr("p2")})
	wantErr(t, err, 400, "ELB.8902", "project_id")
	_, err = c.CreateHealthMonitor(&model.CreateHealthMonitorRequest{Body: &model.CreateHealthMonitorRequestBody{
		Healthmonitor: &model.CreateHealthMonitorOption{PoolId: p.Id, Type: "TCP", Delay: 5, Timeout: 3, MaxRetries: 3, ProjectId: ptr("p2")}}})
	wantErr(t, err, 400, "ELB.8902", "project_id")
}
