package apiv2_test

import (
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"
	m3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
)

// TestFamiliesAndProjectsAreIsolated: a shared (v2) load balancer and a dedicated (v3) one live
// side by side; each family sees only its own, and each project only its own.
func TestFamiliesAndProjectsAreIsolated(t *testing.T) {
	e, v2, s := newShared(t)

	dedicated, err := e.v3().CreateLoadBalancer(&m3.CreateLoadBalancerRequest{Body: &m3.CreateLoadBalancerRequestBody{
		Loadbalancer: &m3.CreateLoadBalancerOption{Name: ptr("dedicated"), VipSubnetCidrId: ptr("subnet-a1"), AvailabilityZoneList: []string{}}}})
	if err != nil {
		t.Fatal(err)
	}
	if !dedicated.Loadbalancer.Guaranteed {
		t.Fatal("a v3 load balancer is dedicated (guaranteed)")
	}
	if dedicated.Loadbalancer.VipAddress == s.lb.VipAddress {
		t.Fatal("both families draw VIPs from one address plan; they must not collide")
	}

	// v2 cannot see or use the dedicated load balancer.
	_, err = v2.ShowLoadbalancer(&model.ShowLoadbalancerRequest{LoadbalancerId: dedicated.Loadbalancer.Id})
	wantAPIError(t, "v2 show of a v3 LB", err, 404, "ELB.8904", dedicated.Loadbalancer.Id)
	_, err = v2.DeleteLoadbalancer(&model.DeleteLoadbalancerRequest{LoadbalancerId: dedicated.Loadbalancer.Id})
	wantAPIError(t, "v2 delete of a v3 LB", err, 404, "ELB.8904", dedicated.Loadbalancer.Id)
	_, err = v2.CreateListener(&model.CreateListenerRequest{Body: &model.CreateListenerRequestBody{Listener: &model.CreateListenerReq{
		LoadbalancerId: dedicated.Loadbalancer.Id, Protocol: model.GetCreateListenerReqProtocolEnum().TCP, ProtocolPort: 80}}})
	wantAPIError(t, "v2 listener on a v3 LB", err, 404, "ELB.8904", dedicated.Loadbalancer.Id)
	lbs, err := v2.ListLoadbalancers(&model.ListLoadbalancersRequest{})
	if err != nil || len(*lbs.Loadbalancers) != 1 || (*lbs.Loadbalancers)[0].Id != s.lb.Id {
		t.Fatalf("v2 list: %+v, %v", lbs, err)
	}

	// v3 shows the shared one as guaranteed=false (E8), but not its children.
	v3 := e.v3()
	if got, err := v3.ShowLoadBalancer(&m3.ShowLoadBalancerRequest{LoadbalancerId: s.lb.Id}); err != nil || got.Loadbalancer.Guaranteed {
		t.Fatalf("v3 show of the shared load balancer: %+v, %v; want it with guaranteed=false", got, err)
	}
	if _, err := v3.ShowPool(&m3.ShowPoolRequest{PoolId: s.pool.Id}); err == nil {
		t.Fatal("v3 sees a v2 pool")
	}
	if _, err := v3.ShowMember(&m3.ShowMemberRequest{PoolId: s.pool.Id, MemberId: s.members[0].Id}); err == nil {
		t.Fatal("v3 sees a v2 member")
	}
	l3, err := v3.ListLoadBalancers(&m3.ListLoadBalancersRequest{})
	if err != nil || len(*l3.Loadbalancers) != 2 {
		t.Fatalf("v3 list: %+v, %v; want the dedicated and the shared load balancer", l3, err)
	}
	for _, lb := range *l3.Loadbalancers {
		if lb.Guaranteed != (lb.Id == dedicated.Loadbalancer.Id) {
			t.Errorf("v3 list: %s guaranteed=%v", lb.Id, lb.Guaranteed)
		}
	}

	// Another project sees nothing of p1, and a key cannot act in another project.
	other := e.v2As("AK2", "SK2-secret", "p2")
	lbs, err = other.ListLoadbalancers(&model.ListLoadbalancersRequest{})
	if err != nil || len(*lbs.Loadbalancers) != 0 {
		t.Fatalf("p2 list: %+v, %v", lbs, err)
	}
	_, err = other.ShowPool(&model.ShowPoolRequest{PoolId: s.pool.Id})
	wantAPIError(t, "p2 show of p1's pool", err, 404, "ELB.8904", s.pool.Id)
	_, err = e.v2As("AK2", "SK2-secret", "p1").ListLoadbalancers(&model.ListLoadbalancersRequest{})
	wantAPIError(t, "AK2 in project p1", err, 403, "APIGW.0302", "may act only in project p2")
	_, err = e.v2As("AK1", "wrong", "p1").ListLoadbalancers(&model.ListLoadbalancersRequest{})
	wantAPIError(t, "wrong secret key", err, 401, "APIGW.0301", "signature")
}
