package elbdtest

import (
	"testing"

	elbv3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
)

// Member is a member of subnet-a1 for Serving: Address:Port at Weight (0: the API's default).
type Member struct {
	Address string
	Port    int
	Weight  int32
}

// Serving makes through c what an operator makes to serve TCP traffic on vip (an address of
// subnet-a1): a dedicated load balancer there, TCP listener on a free port of the VIP with its
// pool (ListenerWithPool) and members.
func Serving(t testing.TB, c *elbv3.ElbClient, vip string, members ...Member) (*model.LoadBalancer, *model.Listener, *model.Pool, []model.Member) {
	t.Helper()
	lb, err := c.CreateLoadBalancer(&model.CreateLoadBalancerRequest{Body: &model.CreateLoadBalancerRequestBody{
		Loadbalancer: &model.CreateLoadBalancerOption{VipSubnetCidrId: ptr("subnet-a1"), VipAddress: ptr(vip)}}})
	if err != nil {
		t.Fatal(err)
	}
	l, p := ListenerWithPool(t, c, lb.Loadbalancer)
	var ms []model.Member
	for _, m := range members {
		o := &model.CreateMemberOption{Address: m.Address, ProtocolPort: ptr(int32(m.Port)), SubnetCidrId: ptr("subnet-a1")}
		if m.Weight != 0 {
			o.Weight = ptr(m.Weight)
		}
		made, err := c.CreateMember(&model.CreateMemberRequest{PoolId: p.Id, Body: &model.CreateMemberRequestBody{Member: o}})
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, *made.Member)
	}
	return lb.Loadbalancer, l, p, ms
}

// ListenerWithPool creates through c, on a free port of lb's VIP, a TCP listener with a
// ROUND_ROBIN TCP pool.
func ListenerWithPool(t testing.TB, c *elbv3.ElbClient, lb *model.LoadBalancer) (*model.Listener, *model.Pool) {
	t.Helper()
	l, err := c.CreateListener(&model.CreateListenerRequest{Body: &model.CreateListenerRequestBody{
		Listener: &model.CreateListenerOption{LoadbalancerId: lb.Id, Protocol: "TCP", ProtocolPort: ptr(int32(FreePort(t, lb.VipAddress)))}}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.CreatePool(&model.CreatePoolRequest{Body: &model.CreatePoolRequestBody{
		Pool: &model.CreatePoolOption{LbAlgorithm: "ROUND_ROBIN", Protocol: "TCP", ListenerId: &l.Listener.Id}}})
	if err != nil {
		t.Fatal(err)
	}
	return l.Listener, p.Pool
}

func ptr[T any](v T) *T { return &v }
