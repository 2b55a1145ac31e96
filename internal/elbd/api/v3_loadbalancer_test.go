package api_test

import (
	"net/http"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"

	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

func TestLoadBalancerLifecycle(t *testing.T) {
	e := newEnv(t)
	c := e.c1()

	created, err := createLB(c, model.CreateLoadBalancerOption{Name: ptr("web"), Description: ptr("front"), VipSubnetCidrId: ptr("subnet-a1")})
	if err != nil {
		t.Fatal(err)
	}
	if created.HttpStatusCode != http.StatusCreated {
		t.Errorf("create status %d, want 201", created.HttpStatusCode)
	}
	lb := created.Loadbalancer
	if lb.Id == "" || *created.LoadbalancerId != lb.Id || created.RequestId == nil || len(*created.RequestId) != 32 {
		t.Fatalf("create response ids: lb %q loadbalancer_id %v request_id %v", lb.Id, created.LoadbalancerId, created.RequestId)
	}
	// First usable address: .0 is the network, .1 the gateway.
	if lb.VipAddress != "127.10.1.2" || lb.VipSubnetCidrId != "subnet-a1" || lb.VpcId != "vpc-a" || !lb.Guaranteed ||
		lb.IpTargetEnable || lb.Name != "web" || lb.Description != "front" || lb.ProvisioningStatus != "ACTIVE" || lb.ProjectId != "p1" {
		t.Errorf("created load balancer: %+v", lb)
	}
	second := e.lb(c, true)
	if second.VipAddress != "127.10.1.3" || !second.IpTargetEnable {
		t.Errorf("second LB vip %s ip_target %v, want 127.10.1.3 true", second.VipAddress, second.IpTargetEnable)
	}

	shown := must[*model.ShowLoadBalancerResponse](t)(c.ShowLoadBalancer(&model.ShowLoadBalancerRequest{LoadbalancerId: lb.Id}))
	if shown.Loadbalancer.Id != lb.Id || shown.Loadbalancer.VipAddress != "127.10.1.2" {
		t.Errorf("show: %+v", shown.Loadbalancer)
	}

	up := must[*model.UpdateLoadBalancerResponse](t)(c.UpdateLoadBalancer(&model.UpdateLoadBalancerRequest{LoadbalancerId: lb.Id,
		Body: &model.UpdateLoadBalancerRequestBody{Loadbalancer: &model.UpdateLoadBalancerOption{Name: ptr("web2"), IpTargetEnable: ptr(true)}}}))
	if up.Loadbalancer.Name != "web2" || !up.Loadbalancer.IpTargetEnable || up.Loadbalancer.Description != "front" {
		t.Errorf("update: %+v", up.Loadbalancer)
	}

	list := must[*model.ListLoadBalancersResponse](t)(c.ListLoadBalancers(&model.ListLoadBalancersRequest{}))
	if len(*list.Loadbalancers) != 2 || (*list.Loadbalancers)[0].Id != lb.Id || list.PageInfo.CurrentCount != 2 {
		t.Fatalf("list: %+v", list)
	}

	del := must[*model.DeleteLoadBalancerResponse](t)(c.DeleteLoadBalancer(&model.DeleteLoadBalancerRequest{LoadbalancerId: lb.Id}))
	if del.HttpStatusCode != http.StatusNoContent {
		t.Errorf("delete status %d, want 204", del.HttpStatusCode)
	}
	_, err = c.ShowLoadBalancer(&model.ShowLoadBalancerRequest{LoadbalancerId: lb.Id})
	wantErr(t, err, 404, "ELB.8904", lb.Id)
	_, err = c.DeleteLoadBalancer(&model.DeleteLoadBalancerRequest{LoadbalancerId: lb.Id})
	wantErr(t, err, 404, "ELB.8904")
	// 4 writes succeeded (2 creates, update, delete); the refused second delete does not sync.
	if n := e.syncs.Load(); n != 4 {
		t.Errorf("data plane synced %d times, want once per successful write (4)", n)
	}
}

func TestLoadBalancerValidation(t *testing.T) {
	e := newEnv(t)
	c := e.c1()
	create := func(o model.CreateLoadBalancerOption) error {
		_, err := createLB(c, o)
		return err
	}
	wantErr(t, create(model.CreateLoadBalancerOption{Name: ptr("x")}), 400, "ELB.8902", "vip_subnet_cidr_id is required")
	wantErr(t, create(model.CreateLoadBalancerOption{VipSubnetCidrId: ptr("nope")}), 404, "ELB.8904", "subnet nope")
	wantErr(t, create(model.CreateLoadBalancerOption{VipSubnetCidrId: ptr("subnet-a1"), VipAddress: ptr("127.10.2.5")}), 400, "ELB.8902", "not a usable address of subnet subnet-a1")
	wantErr(t, create(model.CreateLoadBalancerOption{VipSubnetCidrId: ptr("subnet-a1"), VipAddress: ptr("127.10.1.1")}), 400, "ELB.8902", "gateway")
	wantErr(t, create(model.CreateLoadBalancerOption{VipSubnetCidrId: ptr("subnet-a1"), VipAddress: ptr("banana")}), 400, "ELB.8902", "not an IPv4 address")
	wantErr(t, create(model.CreateLoadBalancerOption{VipSubnetCidrId: ptr("subnet-a1"), Guaranteed: ptr(false)}), 400, "ELB.8902", "/v2/")
	if err := create(model.CreateLoadBalancerOption{VipSubnetCidrId: ptr("subnet-a1"), VipAddress: ptr("127.10.1.50")}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, create(model.CreateLoadBalancerOption{VipSubnetCidrId: ptr("subnet-a1"), VipAddress: ptr("127.10.1.50")}), 409, "ELB.8907", "already used")
	// A /30 has exactly one address after the gateway.
	if err := create(model.CreateLoadBalancerOption{VipSubnetCidrId: ptr("subnet-tiny")}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, create(model.CreateLoadBalancerOption{VipSubnetCidrId: ptr("subnet-tiny")}), 409, "ELB.8907", "no free address")
	long := make([]byte, 256)
	for i := range long {
		long[i] = 'n'
	}
	wantErr(t, create(model.CreateLoadBalancerOption{VipSubnetCidrId: ptr("subnet-a1"), Name: ptr(string(long))}), 400, "ELB.8902", "name is 256 characters")

	lb := e.lb(c, false)
	_, err := c.UpdateLoadBalancer(&model.UpdateLoadBalancerRequest{LoadbalancerId: lb.Id,
		Body: &model.UpdateLoadBalancerRequestBody{Loadbalancer: &model.UpdateLoadBalancerOption{VipAddress: ptr("127.10.1.99")}}})
	wantErr(t, err, 400, "ELB.8902", "vip_address cannot be changed")
}

func TestLoadBalancerDeleteRefusedWhileInUse(t *testing.T) {
	e, c, lb := newEnvLB(t, false)
	l := e.listener(c, lb.Id, "TCP", 80)
	_, err := c.DeleteLoadBalancer(&model.DeleteLoadBalancerRequest{LoadbalancerId: lb.Id})
	wantErr(t, err, 409, "ELB.8907", "listener", l.Id)
	must[*model.DeleteListenerResponse](t)(c.DeleteListener(&model.DeleteListenerRequest{ListenerId: l.Id}))
	p := e.pool(c, model.CreatePoolOption{Protocol: "TCP", LoadbalancerId: &lb.Id})
	_, err = c.DeleteLoadBalancer(&model.DeleteLoadBalancerRequest{LoadbalancerId: lb.Id})
	wantErr(t, err, 409, "ELB.8907", "pool", p.Id)
	must[*model.DeletePoolResponse](t)(c.DeletePool(&model.DeletePoolRequest{PoolId: p.Id}))
	must[*model.DeleteLoadBalancerResponse](t)(c.DeleteLoadBalancer(&model.DeleteLoadBalancerRequest{LoadbalancerId: lb.Id}))
}

// E6d: ip_target_enable cannot be turned off once on, with or without IP-type members ("开启后不能关闭",
// services/elb/v3/model/model_create_load_balancer_option.go); turning it on later is allowed.
func TestIPTargetCannotBeTurnedOff(t *testing.T) {
	e, c, lb := newEnvLB(t, true)
	p := e.pool(c, model.CreatePoolOption{Protocol: "TCP", LoadbalancerId: &lb.Id})
	m := must[*model.Member](t)(e.member(c, p.Id, model.CreateMemberOption{Address: "10.9.8.7", ProtocolPort: ptr(int32(80))}))
	off := &model.UpdateLoadBalancerRequest{LoadbalancerId: lb.Id,
		Body: &model.UpdateLoadBalancerRequestBody{Loadbalancer: &model.UpdateLoadBalancerOption{IpTargetEnable: ptr(false)}}}
	_, err := c.UpdateLoadBalancer(off)
	wantErr(t, err, 400, "ELB.8902", "ip_target_enable cannot be turned off once it is on", lb.Id)
	must[*model.DeleteMemberResponse](t)(c.DeleteMember(&model.DeleteMemberRequest{PoolId: p.Id, MemberId: m.Id}))
	_, err = c.UpdateLoadBalancer(off)
	wantErr(t, err, 400, "ELB.8902", "ip_target_enable cannot be turned off once it is on")
	if lb := must[*model.ShowLoadBalancerResponse](t)(c.ShowLoadBalancer(&model.ShowLoadBalancerRequest{LoadbalancerId: lb.Id})); !lb.Loadbalancer.IpTargetEnable {
		t.Error("a refused update turned ip_target_enable off")
	}
	plain := e.lb(c, false)
	on := &model.UpdateLoadBalancerRequest{LoadbalancerId: plain.Id,
		Body: &model.UpdateLoadBalancerRequestBody{Loadbalancer: &model.UpdateLoadBalancerOption{IpTargetEnable: ptr(true)}}}
	if up := must[*model.UpdateLoadBalancerResponse](t)(c.UpdateLoadBalancer(on)); !up.Loadbalancer.IpTargetEnable {
		t.Error("ip_target_enable could not be turned on")
	}
}

// Each project sees only its own load balancers and what is under them; the v3 API shows the
// project's shared load balancers too (E8) but changes neither them nor anything under them.
func TestIsolationBetweenProjectsAndFamilies(t *testing.T) {
	e := newEnv(t)
	lb := e.lb(e.c1(), false)
	shared, err := e.st.CreateLoadBalancer(store.Scope{Family: store.FamilyV2, ProjectID: "p1"}, store.LoadBalancer{Name: "shared", VIPSubnetID: "subnet-a2"})
	if err != nil {
		t.Fatal(err)
	}
	c2 := e.c2()
	_, err = c2.ShowLoadBalancer(&model.ShowLoadBalancerRequest{LoadbalancerId: lb.Id})
	wantErr(t, err, 404, "ELB.8904")
	if l := must[*model.ListLoadBalancersResponse](t)(c2.ListLoadBalancers(&model.ListLoadBalancersRequest{})); len(*l.Loadbalancers) != 0 {
		t.Errorf("p2 lists %d load balancers of p1", len(*l.Loadbalancers))
	}
	_, err = c2.CreateListener(&model.CreateListenerRequest{Body: &model.CreateListenerRequestBody{
		Listener: &model.CreateListenerOption{LoadbalancerId: lb.Id, Protocol: "TCP", ProtocolPort: ptr(int32(80))}}})
	wantErr(t, err, 404, "ELB.8904", lb.Id)

	c1 := e.c1()
	// E8: the v3 list and show include the shared load balancer with guaranteed=false, as the
	// real API does (model_load_balancer.go guaranteed); the dedicated one has guaranteed=true.
	l := must[*model.ListLoadBalancersResponse](t)(c1.ListLoadBalancers(&model.ListLoadBalancersRequest{}))
	if len(*l.Loadbalancers) != 2 || (*l.Loadbalancers)[0].Id != lb.Id || !(*l.Loadbalancers)[0].Guaranteed ||
		(*l.Loadbalancers)[1].Id != shared.ID || (*l.Loadbalancers)[1].Guaranteed {
		t.Errorf("v3 list shows %+v, want the dedicated LB (guaranteed) then the shared one (not guaranteed)", *l.Loadbalancers)
	}
	ded := must[*model.ListLoadBalancersResponse](t)(c1.ListLoadBalancers(&model.ListLoadBalancersRequest{Guaranteed: ptr(true)}))
	if len(*ded.Loadbalancers) != 1 || (*ded.Loadbalancers)[0].Id != lb.Id {
		t.Errorf("guaranteed=true lists %+v, want only the dedicated LB", *ded.Loadbalancers)
	}
	s := must[*model.ShowLoadBalancerResponse](t)(c1.ShowLoadBalancer(&model.ShowLoadBalancerRequest{LoadbalancerId: shared.ID}))
	if s.Loadbalancer.Guaranteed || s.Loadbalancer.Name != "shared" {
		t.Errorf("v3 show of the shared LB: %+v, want guaranteed=false", s.Loadbalancer)
	}
	// v3 writes to it, or under it, are refused with the reason; nothing changes.
	_, err = c1.DeleteLoadBalancer(&model.DeleteLoadBalancerRequest{LoadbalancerId: shared.ID})
	wantErr(t, err, 400, "ELB.8902", "shared load balancer", "v2 API")
	_, err = c1.UpdateLoadBalancer(&model.UpdateLoadBalancerRequest{LoadbalancerId: shared.ID,
		Body: &model.UpdateLoadBalancerRequestBody{Loadbalancer: &model.UpdateLoadBalancerOption{Name: ptr("x")}}})
	wantErr(t, err, 400, "ELB.8902", "shared load balancer")
	_, err = c1.CreateListener(&model.CreateListenerRequest{Body: &model.CreateListenerRequestBody{
		Listener: &model.CreateListenerOption{LoadbalancerId: shared.ID, Protocol: "TCP", ProtocolPort: ptr(int32(80))}}})
	wantErr(t, err, 400, "ELB.8902", "shared load balancer")
	_, err = c1.CreatePool(&model.CreatePoolRequest{Body: &model.CreatePoolRequestBody{Pool: &model.CreatePoolOption{
		LbAlgorithm: "ROUND_ROBIN", Protocol: "TCP", LoadbalancerId: &shared.ID}}})
	wantErr(t, err, 400, "ELB.8902", "shared load balancer")
	if got, _ := e.st.GetLoadBalancer(store.Scope{Family: store.FamilyV2, ProjectID: "p1"}, shared.ID); got.Name != "shared" {
		t.Errorf("the shared LB changed: %+v", got)
	}
	// Another project sees neither.
	_, err = c2.ShowLoadBalancer(&model.ShowLoadBalancerRequest{LoadbalancerId: shared.ID})
	wantErr(t, err, 404, "ELB.8904")
}

// The availability zones a dedicated load balancer is created in (which the real API requires)
// are kept: shown, listed, filtered on, and kept across an update.
func TestLoadBalancerKeepsAvailabilityZones(t *testing.T) {
	e := newEnv(t)
	c := e.c1()
	created := must[*model.CreateLoadBalancerResponse](t)(createLB(c, model.CreateLoadBalancerOption{VipSubnetCidrId: ptr("subnet-a1"), AvailabilityZoneList: []string{"az-1", "az-2"}})).Loadbalancer
	other := e.lb(c, false)
	if got := created.AvailabilityZoneList; len(got) != 2 || got[0] != "az-1" || got[1] != "az-2" {
		t.Errorf("create answers availability_zone_list %v, want [az-1 az-2]", got)
	}
	must[*model.UpdateLoadBalancerResponse](t)(c.UpdateLoadBalancer(&model.UpdateLoadBalancerRequest{LoadbalancerId: created.Id,
		Body: &model.UpdateLoadBalancerRequestBody{Loadbalancer: &model.UpdateLoadBalancerOption{Name: ptr("renamed")}}}))
	shown := must[*model.ShowLoadBalancerResponse](t)(c.ShowLoadBalancer(&model.ShowLoadBalancerRequest{LoadbalancerId: created.Id})).Loadbalancer
	if got := shown.AvailabilityZoneList; len(got) != 2 || got[0] != "az-1" || got[1] != "az-2" {
		t.Errorf("show after an update answers availability_zone_list %v, want [az-1 az-2]", got)
	}
	if got := other.AvailabilityZoneList; got == nil || len(got) != 0 {
		t.Errorf("a load balancer created without zones shows availability_zone_list %#v, want []", got)
	}
	list := *must[*model.ListLoadBalancersResponse](t)(c.ListLoadBalancers(&model.ListLoadBalancersRequest{AvailabilityZoneList: &[]string{"az-2", "az-9"}})).Loadbalancers
	if len(list) != 1 || list[0].Id != created.Id {
		t.Errorf("availability_zone_list=az-2&availability_zone_list=az-9 lists %d load balancers, want only %s", len(list), created.Id)
	}
	_, err := createLB(c, model.CreateLoadBalancerOption{VipSubnetCidrId: ptr("subnet-a1"), AvailabilityZoneList: []string{"az-1", ""}})
	wantErr(t, err, 400, "ELB.8902", "availability_zone_list[1]")
}
