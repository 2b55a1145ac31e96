package apiv2_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"
)

// listed is what a list call answered, each item as show renders it, comma-separated; a
// failed call (err) fails the test.
func listed[T any](t *testing.T, items func() []T, err error, show func(T) string) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range items() {
		out = append(out, show(it))
	}
	return strings.Join(out, ",")
}

func TestListPaginationAndFilters(t *testing.T) {
	e := newEnv(t)
	c := e.v2()
	ids := map[string]string{}
	for i := 1; i <= 5; i++ {
		subnet := "subnet-a1"
		if i%2 == 0 {
			subnet = "subnet-a2"
		}
		resp, err := c.CreateLoadbalancer(&model.CreateLoadbalancerRequest{Body: &model.CreateLoadbalancerRequestBody{
			Loadbalancer: &model.CreateLoadbalancerReq{Name: ptr(fmt.Sprintf("lb%d", i)), VipSubnetId: subnet}}})
		if err != nil {
			t.Fatal(err)
		}
		ids[resp.Loadbalancer.Name] = resp.Loadbalancer.Id
	}
	list := func(req model.ListLoadbalancersRequest) string {
		resp, err := c.ListLoadbalancers(&req)
		return listed(t, func() []model.LoadbalancerResp { return *resp.Loadbalancers }, err,
			func(lb model.LoadbalancerResp) string { return lb.Name })
	}
	for _, c := range []struct {
		name string
		req  model.ListLoadbalancersRequest
		want string
	}{
		{"all, oldest first", model.ListLoadbalancersRequest{}, "lb1,lb2,lb3,lb4,lb5"},
		{"first page", model.ListLoadbalancersRequest{Limit: ptr(int32(2))}, "lb1,lb2"},
		{"next page", model.ListLoadbalancersRequest{Limit: ptr(int32(2)), Marker: ptr(ids["lb2"])}, "lb3,lb4"},
		{"last page", model.ListLoadbalancersRequest{Limit: ptr(int32(2)), Marker: ptr(ids["lb4"])}, "lb5"},
		{"after the last", model.ListLoadbalancersRequest{Marker: ptr(ids["lb5"])}, ""},
		{"page before marker", model.ListLoadbalancersRequest{Limit: ptr(int32(2)), Marker: ptr(ids["lb4"]), PageReverse: ptr(true)}, "lb2,lb3"},
		{"reverse without marker is the last page", model.ListLoadbalancersRequest{Limit: ptr(int32(2)), PageReverse: ptr(true)}, "lb4,lb5"},
		{"by name", model.ListLoadbalancersRequest{Name: ptr("lb3")}, "lb3"},
		{"by subnet", model.ListLoadbalancersRequest{VipSubnetId: ptr("subnet-a2")}, "lb2,lb4"},
		{"by subnet, paged", model.ListLoadbalancersRequest{VipSubnetId: ptr("subnet-a1"), Limit: ptr(int32(1)), Marker: ptr(ids["lb1"])}, "lb3"},
		{"by VIP", model.ListLoadbalancersRequest{VipAddress: ptr("127.10.2.2")}, "lb2"},
		{"by id", model.ListLoadbalancersRequest{Id: ptr(ids["lb5"])}, "lb5"},
		{"by vpc", model.ListLoadbalancersRequest{VpcId: ptr("vpc-a")}, "lb1,lb2,lb3,lb4,lb5"},
		{"by admin state", model.ListLoadbalancersRequest{AdminStateUp: ptr(false)}, ""},
		{"by provisioning status", model.ListLoadbalancersRequest{ProvisioningStatus: ptr("ACTIVE"), Limit: ptr(int32(1))}, "lb1"},
		{"by member address (none yet)", model.ListLoadbalancersRequest{MemberAddress: ptr("127.10.1.50")}, ""},
	} {
		if got := list(c.req); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}

	// Children: listeners on ports 80, 81, 82 of lb1, one on 80 of lb2; members on a pool of lb1.
	var lbOf = map[string]string{}
	for _, l := range []struct {
		lb   string
		port int32
	}{{"lb1", 80}, {"lb1", 81}, {"lb1", 82}, {"lb2", 80}} {
		resp, err := c.CreateListener(&model.CreateListenerRequest{Body: &model.CreateListenerRequestBody{Listener: &model.CreateListenerReq{
			LoadbalancerId: ids[l.lb], Protocol: model.GetCreateListenerReqProtocolEnum().TCP, ProtocolPort: l.port}}})
		if err != nil {
			t.Fatal(err)
		}
		lbOf[resp.Listener.Id] = l.lb
	}
	listeners := func(req model.ListListenersRequest) string {
		resp, err := c.ListListeners(&req)
		return listed(t, func() []model.ListenerResp { return *resp.Listeners }, err,
			func(l model.ListenerResp) string { return fmt.Sprintf("%s:%d", lbOf[l.Id], l.ProtocolPort) })
	}
	if got := listeners(model.ListListenersRequest{ProtocolPort: ptr(int32(80))}); got != "lb1:80,lb2:80" {
		t.Errorf("listeners on port 80: %q", got)
	}
	if got := listeners(model.ListListenersRequest{LoadbalancerId: ptr(ids["lb1"]), Limit: ptr(int32(2))}); got != "lb1:80,lb1:81" {
		t.Errorf("listeners of lb1, first page: %q", got)
	}
	if got := listeners(model.ListListenersRequest{Protocol: ptr("UDP")}); got != "" {
		t.Errorf("UDP listeners: %q", got)
	}
	// A repeated key matches any of its values.
	status, body := e.raw("GET", "/v2/p1/elb/listeners?protocol_port=81&protocol_port=82&loadbalancer_id="+ids["lb1"], "")
	if got, _ := body["listeners"].([]any); status != 200 || len(got) != 2 {
		t.Errorf("listeners on 81 or 82: %d %v", status, body)
	}

	pool, err := c.CreatePool(&model.CreatePoolRequest{Body: &model.CreatePoolRequestBody{Pool: &model.CreatePoolReq{
		Protocol: model.GetCreatePoolReqProtocolEnum().TCP, LbAlgorithm: "SOURCE_IP", LoadbalancerId: ptr(ids["lb1"])}}})
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range []int32{5, 10, 10} {
		_, err := c.CreateMember(&model.CreateMemberRequest{PoolId: pool.Pool.Id, Body: &model.CreateMemberRequestBody{Member: &model.CreateMemberReq{
			Address: fmt.Sprintf("127.10.1.%d", 50+i), ProtocolPort: 80, SubnetId: "subnet-a1", Weight: &w}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	members := func(req model.ListMembersRequest) string {
		req.PoolId = pool.Pool.Id
		resp, err := c.ListMembers(&req)
		return listed(t, func() []model.MemberResp { return *resp.Members }, err, func(m model.MemberResp) string { return m.Address })
	}
	if got := members(model.ListMembersRequest{Weight: ptr(int32(10))}); got != "127.10.1.51,127.10.1.52" {
		t.Errorf("members of weight 10: %q", got)
	}
	if got := members(model.ListMembersRequest{Address: ptr("127.10.1.50")}); got != "127.10.1.50" {
		t.Errorf("member by address: %q", got)
	}
	if got := members(model.ListMembersRequest{Limit: ptr(int32(1)), PageReverse: ptr(true)}); got != "127.10.1.52" {
		t.Errorf("last member: %q", got)
	}
	if got := list(model.ListLoadbalancersRequest{MemberAddress: ptr("127.10.1.50")}); got != "lb1" {
		t.Errorf("LB by member address: %q", got)
	}
	pools, err := c.ListPools(&model.ListPoolsRequest{LoadbalancerId: ptr(ids["lb1"]), LbAlgorithm: ptr("SOURCE_IP")})
	if err != nil || len(*pools.Pools) != 1 || len((*pools.Pools)[0].Members) != 3 {
		t.Fatalf("pools of lb1: %+v, %v", pools, err)
	}
	pools, err = c.ListPools(&model.ListPoolsRequest{LoadbalancerId: ptr(ids["lb2"])})
	if err != nil || len(*pools.Pools) != 0 {
		t.Fatalf("pools of lb2: %+v, %v", pools, err)
	}
	_, err = c.ListMembers(&model.ListMembersRequest{PoolId: "nope"})
	wantAPIError(t, "members of unknown pool", err, 404, "ELB.8904", "nope")

	// Bad paging parameters and the next-page link.
	_, err = c.ListLoadbalancers(&model.ListLoadbalancersRequest{Marker: ptr("not-an-id")})
	wantAPIError(t, "unknown marker", err, 400, "ELB.8902", "marker not-an-id")
	_, err = c.ListLoadbalancers(&model.ListLoadbalancersRequest{Limit: ptr(int32(-1))})
	wantAPIError(t, "negative limit", err, 400, "ELB.8902", "limit")
	status, body = e.raw("GET", "/v2/p1/elb/loadbalancers?limit=2", "")
	links, _ := body["loadbalancers_links"].([]any)
	if status != 200 || len(links) != 1 || !strings.Contains(links[0].(map[string]any)["href"].(string), "marker="+ids["lb2"]) {
		t.Fatalf("next link: %d %v", status, body)
	}
	if status, body = e.raw("GET", "/v2/p1/elb/loadbalancers?limit=5", ""); body["loadbalancers_links"] != nil {
		t.Fatalf("a complete page has no next link: %d %v", status, body)
	}
	if status, body = e.raw("GET", "/v2/p1/elb/loadbalancers?page_reverse=maybe", ""); status != 400 {
		t.Fatalf("page_reverse=maybe: %d %v", status, body)
	}
}
