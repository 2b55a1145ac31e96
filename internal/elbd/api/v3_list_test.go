package api_test

import (
	"fmt"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
)

func TestListPaginationAndFilters(t *testing.T) {
	_, c, lb := newEnvLB(t, false)
	var ids []string
	for i := 0; i < 7; i++ {
		proto := "TCP"
		if i%2 == 1 {
			proto = "UDP"
		}
		l := must[*model.CreateListenerResponse](t)(c.CreateListener(&model.CreateListenerRequest{Body: &model.CreateListenerRequestBody{
			Listener: &model.CreateListenerOption{LoadbalancerId: lb.Id, Protocol: proto, ProtocolPort: ptr(int32(80 + i)), Name: ptr(fmt.Sprintf("l%d", i))}}}))
		ids = append(ids, l.Listener.Id)
	}
	names := func(ls []model.Listener) []string {
		var out []string
		for _, l := range ls {
			out = append(out, l.Name)
		}
		return out
	}

	// Forward pages of 3 by marker: l0-l2, l3-l5, l6.
	var seen []string
	var marker *string
	for page := 0; ; page++ {
		r := must[*model.ListListenersResponse](t)(c.ListListeners(&model.ListListenersRequest{Limit: ptr(int32(3)), Marker: marker}))
		ls := *r.Listeners
		seen = append(seen, names(ls)...)
		if int(r.PageInfo.CurrentCount) != len(ls) || (len(ls) > 0 && r.PageInfo.PreviousMarker != ls[0].Id) {
			t.Fatalf("page %d page_info %+v for %v", page, r.PageInfo, names(ls))
		}
		if r.PageInfo.NextMarker == nil {
			if page != 2 {
				t.Fatalf("paging ended after page %d", page)
			}
			break
		}
		if *r.PageInfo.NextMarker != ls[len(ls)-1].Id {
			t.Fatalf("next_marker %s, want the page's last ID", *r.PageInfo.NextMarker)
		}
		marker = r.PageInfo.NextMarker
	}
	if fmt.Sprint(seen) != "[l0 l1 l2 l3 l4 l5 l6]" {
		t.Fatalf("pages gave %v", seen)
	}
	// Reverse: the 2 before l5 are l3 l4, and more lie before them.
	r := must[*model.ListListenersResponse](t)(c.ListListeners(&model.ListListenersRequest{Limit: ptr(int32(2)), Marker: &ids[5], PageReverse: ptr(true)}))
	if got := fmt.Sprint(names(*r.Listeners)); got != "[l3 l4]" || r.PageInfo.NextMarker == nil {
		t.Errorf("reverse page %s page_info %+v", got, r.PageInfo)
	}
	r = must[*model.ListListenersResponse](t)(c.ListListeners(&model.ListListenersRequest{Limit: ptr(int32(5)), Marker: &ids[2], PageReverse: ptr(true)}))
	if got := fmt.Sprint(names(*r.Listeners)); got != "[l0 l1]" || r.PageInfo.NextMarker != nil {
		t.Errorf("first reverse page %s page_info %+v", got, r.PageInfo)
	}
	_, err := c.ListListeners(&model.ListListenersRequest{Marker: ptr("not-an-id")})
	wantErr(t, err, 400, "ELB.8902", "marker not-an-id")
	// limit takes 0-2000 (E6j); 0 answers like the default.
	if r := must[*model.ListListenersResponse](t)(c.ListListeners(&model.ListListenersRequest{Limit: ptr(int32(0))})); len(*r.Listeners) != len(ids) {
		t.Errorf("limit=0 listed %d listeners, want all %d", len(*r.Listeners), len(ids))
	}
	_, err = c.ListListeners(&model.ListListenersRequest{Limit: ptr(int32(2001))})
	wantErr(t, err, 400, "ELB.8902", "0-2000")
	_, err = c.ListListeners(&model.ListListenersRequest{Limit: ptr(int32(-1))})
	wantErr(t, err, 400, "ELB.8902", "0-2000")

	// Repeated keys: protocol_port=80&protocol_port=83 (an OR), combined with another filter (an AND).
	r = must[*model.ListListenersResponse](t)(c.ListListeners(&model.ListListenersRequest{ProtocolPort: &[]string{"80", "83", "85"}}))
	if got := fmt.Sprint(names(*r.Listeners)); got != "[l0 l3 l5]" {
		t.Errorf("protocol_port filter gave %s", got)
	}
	r = must[*model.ListListenersResponse](t)(c.ListListeners(&model.ListListenersRequest{ProtocolPort: &[]string{"80", "83", "85"}, Protocol: &[]string{"UDP"}}))
	if got := fmt.Sprint(names(*r.Listeners)); got != "[l3 l5]" {
		t.Errorf("protocol_port+protocol filter gave %s", got)
	}
	r = must[*model.ListListenersResponse](t)(c.ListListeners(&model.ListListenersRequest{Name: &[]string{"l6"}, LoadbalancerId: &[]string{lb.Id}}))
	if got := fmt.Sprint(names(*r.Listeners)); got != "[l6]" {
		t.Errorf("name filter gave %s", got)
	}
	_, err = c.ListListeners(&model.ListListenersRequest{ProtocolPort: &[]string{"eighty"}})
	wantErr(t, err, 400, "ELB.8902", "protocol_port=\"eighty\" is not an integer")
	// Filters apply before paging.
	r = must[*model.ListListenersResponse](t)(c.ListListeners(&model.ListListenersRequest{Protocol: &[]string{"TCP"}, Limit: ptr(int32(2))}))
	if got := fmt.Sprint(names(*r.Listeners)); got != "[l0 l2]" || r.PageInfo.NextMarker == nil {
		t.Errorf("filtered first page %s %+v", got, r.PageInfo)
	}
}

func TestListFiltersOfEveryResource(t *testing.T) {
	e, c, a := newEnvLB(t, true)
	b := must[*model.CreateLoadBalancerResponse](t)(createLB(c, model.CreateLoadBalancerOption{Name: ptr("other"), VipSubnetCidrId: ptr("subnet-b1")})).Loadbalancer
	la := e.listener(c, a.Id, "TCP", 80)
	pa := e.pool(c, model.CreatePoolOption{Protocol: "TCP", ListenerId: &la.Id})
	pb := e.pool(c, model.CreatePoolOption{Protocol: "UDP", LoadbalancerId: &b.Id, LbAlgorithm: "SOURCE_IP"})
	ma := must[*model.Member](t)(e.member(c, pa.Id, model.CreateMemberOption{Address: "127.10.1.10", ProtocolPort: ptr(int32(80)), SubnetCidrId: ptr("subnet-a1"), Weight: ptr(int32(5))}))
	ipm := must[*model.Member](t)(e.member(c, pa.Id, model.CreateMemberOption{Address: "10.2.2.2", ProtocolPort: ptr(int32(80))}))
	mb := must[*model.Member](t)(e.member(c, pb.Id, model.CreateMemberOption{Address: "127.20.1.10", ProtocolPort: ptr(int32(53)), SubnetCidrId: ptr("subnet-b1")}))

	lbs := *must[*model.ListLoadBalancersResponse](t)(c.ListLoadBalancers(&model.ListLoadBalancersRequest{VpcId: &[]string{"vpc-b"}})).Loadbalancers
	if len(lbs) != 1 || lbs[0].Id != b.Id || lbs[0].VipAddress != "127.20.1.2" {
		t.Errorf("vpc_id filter %+v", lbs)
	}
	lbs = *must[*model.ListLoadBalancersResponse](t)(c.ListLoadBalancers(&model.ListLoadBalancersRequest{MemberAddress: &[]string{"10.2.2.2"}})).Loadbalancers
	if len(lbs) != 1 || lbs[0].Id != a.Id || len(lbs[0].Listeners) != 1 || len(lbs[0].Pools) != 1 {
		t.Errorf("member_address filter %+v", lbs)
	}
	if n := len(*must[*model.ListLoadBalancersResponse](t)(c.ListLoadBalancers(&model.ListLoadBalancersRequest{Guaranteed: ptr(false)})).Loadbalancers); n != 0 {
		t.Errorf("guaranteed=false lists %d dedicated LBs", n)
	}
	pools := *must[*model.ListPoolsResponse](t)(c.ListPools(&model.ListPoolsRequest{LbAlgorithm: &[]string{"SOURCE_IP"}})).Pools
	if len(pools) != 1 || pools[0].Id != pb.Id {
		t.Errorf("lb_algorithm filter %+v", pools)
	}
	pools = *must[*model.ListPoolsResponse](t)(c.ListPools(&model.ListPoolsRequest{ListenerId: &[]string{la.Id}})).Pools
	if len(pools) != 1 || pools[0].Id != pa.Id || len(pools[0].Members) != 2 {
		t.Errorf("listener_id filter %+v", pools)
	}
	ms := *must[*model.ListMembersResponse](t)(c.ListMembers(&model.ListMembersRequest{PoolId: pa.Id, MemberType: &[]string{"ip"}})).Members
	if len(ms) != 1 || ms[0].Id != ipm.Id {
		t.Errorf("member_type filter %+v", ms)
	}
	ms = *must[*model.ListMembersResponse](t)(c.ListMembers(&model.ListMembersRequest{PoolId: pa.Id, Weight: &[]int32{5, 7}})).Members
	if len(ms) != 1 || ms[0].Id != ma.Id {
		t.Errorf("weight filter %+v", ms)
	}
	_, err := c.ListMembers(&model.ListMembersRequest{PoolId: "nope"})
	wantErr(t, err, 404, "ELB.8904", "nope")

	// The global member list, by load balancer and by pool.
	all := must[*model.ListAllMembersResponse](t)(c.ListAllMembers(&model.ListAllMembersRequest{}))
	if len(*all.Members) != 3 || all.PageInfo.CurrentCount != 3 {
		t.Fatalf("all members %+v", all)
	}
	gm := *must[*model.ListAllMembersResponse](t)(c.ListAllMembers(&model.ListAllMembersRequest{LoadbalancerId: &[]string{b.Id}})).Members
	if len(gm) != 1 || gm[0].Id != mb.Id || *gm[0].PoolId != pb.Id || *gm[0].LoadbalancerId != b.Id {
		t.Errorf("members of LB b %+v", gm)
	}
	gm = *must[*model.ListAllMembersResponse](t)(c.ListAllMembers(&model.ListAllMembersRequest{PoolId: &[]string{pa.Id}, ProtocolPort: &[]int32{80}})).Members
	if len(gm) != 2 || gm[0].Id != ma.Id || gm[1].Id != ipm.Id || len(gm[0].Status) != 1 || gm[0].Status[0].ListenerId != la.Id {
		t.Errorf("members of pool a %+v", gm)
	}
	// Another project's list is empty.
	if n := len(*must[*model.ListAllMembersResponse](t)(e.c2().ListAllMembers(&model.ListAllMembersRequest{})).Members); n != 0 {
		t.Errorf("p2 sees %d members of p1", n)
	}
}

// TestListFiltersOnEveryExposedKey: every query key of the SDK's List*Request types filters; a
// key on a field elbd never sets (device IDs, EIPs, flavors) matches nothing instead of being
// ignored, which would hand back the whole list.
func TestListFiltersOnEveryExposedKey(t *testing.T) {
	e, c, lb := newEnvLB(t, false)
	l80 := e.listener(c, lb.Id, "TCP", 80)
	l81 := e.listener(c, lb.Id, "TCP", 81)
	p80 := e.pool(c, model.CreatePoolOption{Protocol: "TCP", ListenerId: &l80.Id})
	p81 := e.pool(c, model.CreatePoolOption{Protocol: "TCP", ListenerId: &l81.Id})
	must[*model.Member](t)(e.member(c, p80.Id, model.CreateMemberOption{Address: "127.10.1.10", ProtocolPort: ptr(int32(80)), SubnetCidrId: ptr("subnet-a1")}))
	must[*model.Member](t)(e.member(c, p81.Id, model.CreateMemberOption{Address: "127.10.1.11", ProtocolPort: ptr(int32(80)), SubnetCidrId: ptr("subnet-a1")}))
	none := &[]string{"nope"}

	listeners := func(req model.ListListenersRequest) []model.Listener {
		t.Helper()
		return *must[*model.ListListenersResponse](t)(c.ListListeners(&req)).Listeners
	}
	if ls := listeners(model.ListListenersRequest{MemberAddress: &[]string{"127.10.1.10"}}); len(ls) != 1 || ls[0].Id != l80.Id {
		t.Errorf("listeners member_address=127.10.1.10: %d listeners, want only the one on port 80", len(ls))
	}
	for name, req := range map[string]model.ListListenersRequest{
		"member_device_id":          {MemberDeviceId: none},
		"member_instance_id":        {MemberInstanceId: none},
		"default_tls_container_ref": {DefaultTlsContainerRef: none},
		"proxy_protocol_enable":     {ProxyProtocolEnable: ptr(true)},
		"nat64_enable":              {Nat64Enable: ptr(true)},
		"protection_status":         {ProtectionStatus: &[]string{"consoleProtection"}},
	} {
		if ls := listeners(req); len(ls) != 0 {
			t.Errorf("listeners %s filter matched %d listeners; want none", name, len(ls))
		}
	}
	if ls := listeners(model.ListListenersRequest{ProxyProtocolEnable: ptr(false), EnableMemberRetry: ptr(true)}); len(ls) != 2 {
		t.Errorf("listeners proxy_protocol_enable=false&enable_member_retry=true: %d, want 2", len(ls))
	}

	for name, req := range map[string]model.ListPoolsRequest{
		"member_device_id":   {MemberDeviceId: none},
		"member_instance_id": {MemberInstanceId: none},
		"connection_drain":   {ConnectionDrain: ptr(true)},
		"any_port_enable":    {AnyPortEnable: ptr(true)},
	} {
		if ps := *must[*model.ListPoolsResponse](t)(c.ListPools(&req)).Pools; len(ps) != 0 {
			t.Errorf("pools %s filter matched %d pools; want none", name, len(ps))
		}
	}

	lbs := func(req model.ListLoadBalancersRequest) int {
		t.Helper()
		return len(*must[*model.ListLoadBalancersResponse](t)(c.ListLoadBalancers(&req)).Loadbalancers)
	}
	for name, req := range map[string]model.ListLoadBalancersRequest{
		"vip_port_id":                {VipPortId: none},
		"member_device_id":           {MemberDeviceId: none},
		"ip_version":                 {IpVersion: &[]int32{6}},
		"deletion_protection_enable": {DeletionProtectionEnable: ptr(true)},
		"availability_zone_list":     {AvailabilityZoneList: none},
		"l4_flavor_id":               {L4FlavorId: none},
		"eips":                       {Eips: none},
		"elb_virsubnet_type":         {ElbVirsubnetType: &[]string{"dualstack"}},
	} {
		if n := lbs(req); n != 0 {
			t.Errorf("load balancers %s filter matched %d; want none", name, n)
		}
	}
	if n := lbs(model.ListLoadBalancersRequest{IpVersion: &[]int32{4, 6}, DeletionProtectionEnable: ptr(false)}); n != 1 {
		t.Errorf("load balancers ip_version=4&ip_version=6&deletion_protection_enable=false: %d, want 1", n)
	}

	for name, req := range map[string]model.ListMembersRequest{
		"instance_id":       {PoolId: p80.Id, InstanceId: none},
		"availability_zone": {PoolId: p80.Id, AvailabilityZone: none},
	} {
		if ms := *must[*model.ListMembersResponse](t)(c.ListMembers(&req)).Members; len(ms) != 0 {
			t.Errorf("members %s filter matched %d; want none", name, len(ms))
		}
	}
}
