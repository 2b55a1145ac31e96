package apiv2_test

import (
	"net/http"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"
)

// shared builds LB → TCP listener on 80 → pool → two members, through the SDK's v2 client.
type shared struct {
	lb       *model.LoadbalancerResp
	listener *model.ListenerResp
	pool     *model.PoolResp
	members  []*model.MemberResp
}

func createShared(t *testing.T, e *env) shared {
	t.Helper()
	c := e.v2()
	lbResp, err := c.CreateLoadbalancer(&model.CreateLoadbalancerRequest{Body: &model.CreateLoadbalancerRequestBody{
		Loadbalancer: &model.CreateLoadbalancerReq{Name: ptr("web"), VipSubnetId: "subnet-a1", Description: ptr("shared one")}}})
	if err != nil {
		t.Fatal(err)
	}
	lResp, err := c.CreateListener(&model.CreateListenerRequest{Body: &model.CreateListenerRequestBody{Listener: &model.CreateListenerReq{
		LoadbalancerId: lbResp.Loadbalancer.Id, Protocol: model.GetCreateListenerReqProtocolEnum().TCP, ProtocolPort: 80, Name: ptr("http")}}})
	if err != nil {
		t.Fatal(err)
	}
	pResp, err := c.CreatePool(&model.CreatePoolRequest{Body: &model.CreatePoolRequestBody{Pool: &model.CreatePoolReq{
		Protocol: model.GetCreatePoolReqProtocolEnum().TCP, LbAlgorithm: "ROUND_ROBIN", ListenerId: &lResp.Listener.Id, Name: ptr("vms")}}})
	if err != nil {
		t.Fatal(err)
	}
	s := shared{lb: lbResp.Loadbalancer, listener: lResp.Listener, pool: pResp.Pool}
	for _, addr := range []string{"127.10.1.21", "127.10.1.22"} {
		mResp, err := c.CreateMember(&model.CreateMemberRequest{PoolId: s.pool.Id, Body: &model.CreateMemberRequestBody{Member: &model.CreateMemberReq{
			Address: addr, ProtocolPort: 8080, SubnetId: "subnet-a1", Weight: ptr(int32(10)), Name: ptr("vm " + addr)}}})
		if err != nil {
			t.Fatal(err)
		}
		s.members = append(s.members, mResp.Member)
	}
	return s
}

func TestSharedLoadBalancerLifecycle(t *testing.T) {
	_, c, s := newShared(t)

	// What create returned.
	lb := s.lb
	if lb.VipSubnetId != "subnet-a1" || lb.VipAddress != "127.10.1.2" || lb.Name != "web" || lb.Description != "shared one" ||
		lb.ProvisioningStatus.Value() != "ACTIVE" || lb.OperatingStatus.Value() != "ONLINE" || !lb.AdminStateUp ||
		lb.Provider != "vlb" || lb.ProjectId != "p1" || lb.TenantId != "p1" || lb.CreatedAt == "" {
		t.Fatalf("created load balancer %+v", lb)
	}
	if l := s.listener; l.Protocol.Value() != "TCP" || l.ProtocolPort != 80 || len(l.Loadbalancers) != 1 || l.Loadbalancers[0].Id != lb.Id ||
		l.ConnectionLimit != -1 || !l.AdminStateUp || l.DefaultPoolId != "" {
		t.Fatalf("created listener %+v", l)
	}
	if p := s.pool; p.Protocol.Value() != "TCP" || p.LbAlgorithm.Value() != "ROUND_ROBIN" || len(p.Listeners) != 1 ||
		p.Listeners[0].Id != s.listener.Id || p.Loadbalancers[0].Id != lb.Id || len(p.Members) != 0 || p.HealthmonitorId != "" {
		t.Fatalf("created pool %+v", p)
	}
	if m := s.members[0]; m.Address != "127.10.1.21" || m.ProtocolPort != 8080 || m.Weight != 10 || m.SubnetId != "subnet-a1" ||
		m.Name != "vm 127.10.1.21" || !m.AdminStateUp || m.OperatingStatus != "ONLINE" || m.ProjectId != "p1" {
		t.Fatalf("created member %+v", m)
	}

	// The LB now lists its listener and pool; the listener its default pool; the pool its members.
	shown, err := c.ShowLoadbalancer(&model.ShowLoadbalancerRequest{LoadbalancerId: lb.Id})
	if err != nil {
		t.Fatal(err)
	}
	if got := shown.Loadbalancer; len(got.Listeners) != 1 || got.Listeners[0].Id != s.listener.Id || len(got.Pools) != 1 || got.Pools[0].Id != s.pool.Id {
		t.Fatalf("shown load balancer %+v", got)
	}
	sl, err := c.ShowListener(&model.ShowListenerRequest{ListenerId: s.listener.Id})
	if err != nil || sl.Listener.DefaultPoolId != s.pool.Id {
		t.Fatalf("listener after pool create: %+v, %v", sl.Listener, err)
	}
	sp, err := c.ShowPool(&model.ShowPoolRequest{PoolId: s.pool.Id})
	if err != nil || len(sp.Pool.Members) != 2 {
		t.Fatalf("pool members: %+v, %v", sp.Pool, err)
	}

	// Updates.
	ul, err := c.UpdateLoadbalancer(&model.UpdateLoadbalancerRequest{LoadbalancerId: lb.Id, Body: &model.UpdateLoadbalancerRequestBody{
		Loadbalancer: &model.UpdateLoadbalancerReq{Name: ptr("web-2")}}})
	if err != nil || ul.Loadbalancer.Name != "web-2" || ul.Loadbalancer.Description != "shared one" {
		t.Fatalf("update load balancer: %+v, %v", ul, err)
	}
	ulis, err := c.UpdateListener(&model.UpdateListenerRequest{ListenerId: s.listener.Id, Body: &model.UpdateListenerRequestBody{
		Listener: &model.UpdateListenerReq{Name: ptr("renamed"), ConnectionLimit: ptr(int32(1000))}}})
	if err != nil || ulis.Listener.Name != "renamed" || ulis.Listener.ConnectionLimit != 1000 || ulis.Listener.DefaultPoolId != s.pool.Id {
		t.Fatalf("update listener: %+v, %v", ulis, err)
	}
	up, err := c.UpdatePool(&model.UpdatePoolRequest{PoolId: s.pool.Id, Body: &model.UpdatePoolRequestBody{
		Pool: &model.UpdatePoolReq{LbAlgorithm: ptr("LEAST_CONNECTIONS"), Name: ptr("vms-2")}}})
	if err != nil || up.Pool.LbAlgorithm.Value() != "LEAST_CONNECTIONS" || up.Pool.Name != "vms-2" {
		t.Fatalf("update pool: %+v, %v", up, err)
	}
	um, err := c.UpdateMember(&model.UpdateMemberRequest{PoolId: s.pool.Id, MemberId: s.members[1].Id, Body: &model.UpdateMemberRequestBody{
		Member: &model.UpdateMemberReq{Weight: ptr(int32(0))}}})
	if err != nil || um.Member.Weight != 0 || um.Member.Name != "vm 127.10.1.22" {
		t.Fatalf("update member: %+v, %v", um, err)
	}
	sm, err := c.ShowMember(&model.ShowMemberRequest{PoolId: s.pool.Id, MemberId: s.members[1].Id})
	if err != nil || sm.Member.Weight != 0 {
		t.Fatalf("member after update: %+v, %v", sm, err)
	}
	ms, err := c.ListMembers(&model.ListMembersRequest{PoolId: s.pool.Id})
	if err != nil || len(*ms.Members) != 2 || (*ms.Members)[0].Id != s.members[0].Id {
		t.Fatalf("list members: %+v, %v", ms, err)
	}

	// Health monitor CRUD.
	hm, err := c.CreateHealthmonitor(&model.CreateHealthmonitorRequest{Body: &model.CreateHealthmonitorRequestBody{Healthmonitor: &model.CreateHealthmonitorReq{
		PoolId: s.pool.Id, Type: model.GetCreateHealthmonitorReqTypeEnum().TCP, Delay: 5, Timeout: 3, MaxRetries: 3, MonitorPort: ptr(int32(9090))}}})
	if err != nil {
		t.Fatal(err)
	}
	if h := hm.Healthmonitor; h.Type.Value() != "TCP" || h.Delay != 5 || h.Timeout != 3 || h.MaxRetries != 3 || h.MaxRetriesDown != 3 ||
		h.MonitorPort != 9090 || len(h.Pools) != 1 || h.Pools[0].Id != s.pool.Id || !h.AdminStateUp || h.UrlPath != "" {
		t.Fatalf("created monitor %+v", h)
	}
	uh, err := c.UpdateHealthmonitor(&model.UpdateHealthmonitorRequest{HealthmonitorId: hm.Healthmonitor.Id, Body: &model.UpdateHealthmonitorRequestBody{
		Healthmonitor: &model.UpdateHealthmonitorReq{Type: ptr("HTTP"), Delay: ptr(int32(10))}}})
	if err != nil {
		t.Fatal(err)
	}
	if h := uh.Healthmonitor; h.Type.Value() != "HTTP" || h.Delay != 10 || h.UrlPath != "/" || h.ExpectedCodes != "200" || h.HttpMethod != "GET" {
		t.Fatalf("monitor switched to HTTP: %+v", h)
	}
	shm, err := c.ShowHealthmonitors(&model.ShowHealthmonitorsRequest{HealthmonitorId: hm.Healthmonitor.Id})
	if err != nil || shm.Healthmonitor.Delay != 10 {
		t.Fatalf("show monitor: %+v, %v", shm, err)
	}
	lhm, err := c.ListHealthmonitors(&model.ListHealthmonitorsRequest{})
	if err != nil || len(*lhm.Healthmonitors) != 1 {
		t.Fatalf("list monitors: %+v, %v", lhm, err)
	}
	sp, err = c.ShowPool(&model.ShowPoolRequest{PoolId: s.pool.Id})
	if err != nil || sp.Pool.HealthmonitorId != hm.Healthmonitor.Id {
		t.Fatalf("pool's monitor: %+v, %v", sp.Pool, err)
	}

	// The status tree.
	st, err := c.ShowLoadbalancersStatus(&model.ShowLoadbalancersStatusRequest{LoadbalancerId: lb.Id})
	if err != nil {
		t.Fatal(err)
	}
	tree := st.Statuses.Loadbalancer
	if tree.Id != lb.Id || len(tree.Listeners) != 1 || len(tree.Listeners[0].Pools) != 1 || len(tree.Listeners[0].Pools[0].Members) != 2 ||
		tree.Listeners[0].Pools[0].Healthmonitor == nil || tree.Listeners[0].Pools[0].Members[0].OperatingStatus.Value() != "ONLINE" || len(tree.Pools) != 1 {
		t.Fatalf("status tree %+v", tree)
	}

	// Deleting in the wrong order is refused; in the right order it works.
	_, err = c.DeleteLoadbalancer(&model.DeleteLoadbalancerRequest{LoadbalancerId: lb.Id})
	wantAPIError(t, "delete LB with listener", err, 409, "ELB.8907", "listener")
	_, err = c.DeleteListener(&model.DeleteListenerRequest{ListenerId: s.listener.Id})
	wantAPIError(t, "delete listener with pool", err, 409, "ELB.8907", s.pool.Id)
	_, err = c.DeletePool(&model.DeletePoolRequest{PoolId: s.pool.Id})
	wantAPIError(t, "delete pool with members", err, 409, "ELB.8907", "members")
	for _, m := range s.members {
		if _, err := c.DeleteMember(&model.DeleteMemberRequest{PoolId: s.pool.Id, MemberId: m.Id}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.DeletePool(&model.DeletePoolRequest{PoolId: s.pool.Id})
	wantAPIError(t, "delete pool with monitor", err, 409, "ELB.8907", "health monitor")
	if _, err := c.DeleteHealthmonitor(&model.DeleteHealthmonitorRequest{HealthmonitorId: hm.Healthmonitor.Id}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeletePool(&model.DeletePoolRequest{PoolId: s.pool.Id}); err != nil {
		t.Fatal(err)
	}
	sl, err = c.ShowListener(&model.ShowListenerRequest{ListenerId: s.listener.Id})
	if err != nil || sl.Listener.DefaultPoolId != "" {
		t.Fatalf("listener after its pool was deleted: %+v, %v", sl, err)
	}
	if _, err := c.DeleteListener(&model.DeleteListenerRequest{ListenerId: s.listener.Id}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteLoadbalancer(&model.DeleteLoadbalancerRequest{LoadbalancerId: lb.Id}); err != nil {
		t.Fatal(err)
	}
	_, err = c.ShowLoadbalancer(&model.ShowLoadbalancerRequest{LoadbalancerId: lb.Id})
	wantAPIError(t, "show deleted LB", err, 404, "ELB.8904", lb.Id)
	lbs, err := c.ListLoadbalancers(&model.ListLoadbalancersRequest{})
	if err != nil || len(*lbs.Loadbalancers) != 0 {
		t.Fatalf("list after delete: %+v, %v", lbs, err)
	}
}

// TestWireFormat checks what the SDK model cannot show: status codes, nulls, guaranteed=false.
func TestWireFormat(t *testing.T) {
	e := newEnv(t)
	status, body := e.raw("POST", "/v2/p1/elb/loadbalancers", `{"loadbalancer":{"vip_subnet_id":"subnet-a1","unknown_field":1}}`)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, body)
	}
	lb := body["loadbalancer"].(map[string]any)
	if lb["guaranteed"] != false || lb["vpc_id"] != "vpc-a" || len(lb["listeners"].([]any)) != 0 {
		t.Fatalf("load balancer body %v", lb)
	}
	id := lb["id"].(string)
	status, body = e.raw("POST", "/v2/p1/elb/listeners", `{"listener":{"loadbalancer_id":"`+id+`","protocol":"UDP","protocol_port":53}}`)
	if status != http.StatusCreated || body["listener"].(map[string]any)["default_pool_id"] != nil {
		t.Fatalf("listener: %d %v", status, body)
	}
	lid := body["listener"].(map[string]any)["id"].(string)
	if status, body = e.raw("DELETE", "/v2/p1/elb/listeners/"+lid, ""); status != http.StatusNoContent || body != nil {
		t.Fatalf("delete: %d %v", status, body)
	}
	status, body = e.raw("GET", "/v2/p1/elb/loadbalancers/"+id+"/nonsense", "")
	if status != 404 || body["error_code"] != "APIGW.0101" || body["request_id"] == "" {
		t.Fatalf("unknown path: %d %v", status, body)
	}
	status, body = e.raw("PATCH", "/v2/p1/elb/loadbalancers/"+id, `{}`)
	if status != 404 || body["error_code"] != "APIGW.0101" {
		t.Fatalf("unknown method: %d %v", status, body)
	}
}
