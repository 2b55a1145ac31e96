package api_test

import (
	"testing"

	"github.com/fleetlb/fleetlb/internal/elbd/api"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
)

func TestHealthMonitorLifecycleAndRules(t *testing.T) {
	e, c, lb := newEnvLB(t, false)
	tcp := e.pool(c, model.CreatePoolOption{Protocol: "TCP", LoadbalancerId: &lb.Id})
	udp := e.pool(c, model.CreatePoolOption{Protocol: "UDP", LoadbalancerId: &lb.Id})
	httpPool := e.pool(c, model.CreatePoolOption{Protocol: "HTTP", LoadbalancerId: &lb.Id})

	resp := must[*model.CreateHealthMonitorResponse](t)(c.CreateHealthMonitor(&model.CreateHealthMonitorRequest{Body: &model.CreateHealthMonitorRequestBody{
		Healthmonitor: &model.CreateHealthMonitorOption{PoolId: tcp.Id, Type: "TCP", Delay: 5, Timeout: 3, MaxRetries: 2, Name: ptr("hm")}}}))
	hm := resp.Healthmonitor
	if resp.HttpStatusCode != 201 || hm.Type != "TCP" || hm.Delay != 5 || hm.Timeout != 3 || hm.MaxRetries != 2 || hm.MaxRetriesDown != 3 ||
		hm.MonitorPort != 0 || hm.Name != "hm" || !hm.AdminStateUp || len(hm.Pools) != 1 || hm.Pools[0].Id != tcp.Id {
		t.Fatalf("created monitor %+v", hm)
	}
	if p := must[*model.ShowPoolResponse](t)(c.ShowPool(&model.ShowPoolRequest{PoolId: tcp.Id})); p.Pool.HealthmonitorId != hm.Id {
		t.Errorf("pool healthmonitor_id %q, want %q", p.Pool.HealthmonitorId, hm.Id)
	}
	create := func(o model.CreateHealthMonitorOption) error {
		_, err := c.CreateHealthMonitor(&model.CreateHealthMonitorRequest{Body: &model.CreateHealthMonitorRequestBody{Healthmonitor: &o}})
		return err
	}
	wantErr(t, create(model.CreateHealthMonitorOption{PoolId: tcp.Id, Type: "TCP", Delay: 5, Timeout: 3, MaxRetries: 2}), 409, "ELB.8907", "already has health monitor "+hm.Id)
	wantErr(t, create(model.CreateHealthMonitorOption{PoolId: udp.Id, Type: "TCP", Delay: 5, Timeout: 3, MaxRetries: 2}), 400, "ELB.8902", "must be of type UDP_CONNECT")
	wantErr(t, create(model.CreateHealthMonitorOption{PoolId: httpPool.Id, Type: "UDP_CONNECT", Delay: 5, Timeout: 3, MaxRetries: 2}), 400, "ELB.8902", "checks UDP pools only")
	wantErr(t, create(model.CreateHealthMonitorOption{PoolId: httpPool.Id, Type: "PING", Delay: 5, Timeout: 3, MaxRetries: 2}), 400, "ELB.8902", `type "PING"`)
	wantErr(t, create(model.CreateHealthMonitorOption{PoolId: httpPool.Id, Type: "HTTP", Delay: 0, Timeout: 3, MaxRetries: 2}), 400, "ELB.8902", "delay 0 is out of range")
	wantErr(t, create(model.CreateHealthMonitorOption{PoolId: httpPool.Id, Type: "HTTP", Delay: 5, Timeout: 3, MaxRetries: 11}), 400, "ELB.8902", "max_retries 11")
	wantErr(t, create(model.CreateHealthMonitorOption{PoolId: httpPool.Id, Type: "HTTP", Delay: 5, Timeout: 3, MaxRetries: 2, MonitorPort: ptr(int32(70000))}), 400, "ELB.8902", "monitor_port 70000")
	wantErr(t, create(model.CreateHealthMonitorOption{PoolId: httpPool.Id, Type: "HTTP", Delay: 5, Timeout: 3, MaxRetries: 2, UrlPath: ptr("health")}), 400, "ELB.8902", "url_path \"health\" must start with '/'")
	wantErr(t, create(model.CreateHealthMonitorOption{PoolId: httpPool.Id, Type: "HTTP", Delay: 5, Timeout: 3, MaxRetries: 2, ExpectedCodes: ptr("200-1")}), 400, "ELB.8902", "expected_codes")
	wantErr(t, create(model.CreateHealthMonitorOption{PoolId: httpPool.Id, Type: "HTTP", Delay: 5, Timeout: 3, MaxRetries: 2, HttpMethod: ptr("FETCH")}), 400, "ELB.8902", "http_method")
	wantErr(t, create(model.CreateHealthMonitorOption{PoolId: "nope", Type: "TCP", Delay: 5, Timeout: 3, MaxRetries: 2}), 404, "ELB.8904", "nope")

	h := must[*model.CreateHealthMonitorResponse](t)(c.CreateHealthMonitor(&model.CreateHealthMonitorRequest{Body: &model.CreateHealthMonitorRequestBody{
		Healthmonitor: &model.CreateHealthMonitorOption{PoolId: httpPool.Id, Type: "HTTP", Delay: 2, Timeout: 1, MaxRetries: 1, MaxRetriesDown: ptr(int32(2)),
			MonitorPort: ptr(int32(8081)), UrlPath: ptr("/healthz"), ExpectedCodes: ptr("200-204,301"), HttpMethod: ptr("HEAD")}}})).Healthmonitor
	if h.UrlPath != "/healthz" || h.ExpectedCodes != "200-204,301" || h.HttpMethod != "HEAD" || h.MonitorPort != 8081 || h.MaxRetriesDown != 2 {
		t.Errorf("HTTP monitor %+v", h)
	}
	u := must[*model.CreateHealthMonitorResponse](t)(c.CreateHealthMonitor(&model.CreateHealthMonitorRequest{Body: &model.CreateHealthMonitorRequestBody{
		Healthmonitor: &model.CreateHealthMonitorOption{PoolId: udp.Id, Type: "UDP_CONNECT", Delay: 5, Timeout: 3, MaxRetries: 3}}})).Healthmonitor

	up := must[*model.UpdateHealthMonitorResponse](t)(c.UpdateHealthMonitor(&model.UpdateHealthMonitorRequest{HealthmonitorId: hm.Id,
		Body: &model.UpdateHealthMonitorRequestBody{Healthmonitor: &model.UpdateHealthMonitorOption{Delay: ptr(int32(10)), MonitorPort: ptr(int32(9000)), Name: ptr("hm2")}}}))
	if up.Healthmonitor.Delay != 10 || up.Healthmonitor.MonitorPort != 9000 || up.Healthmonitor.Name != "hm2" || up.Healthmonitor.Timeout != 3 {
		t.Errorf("update %+v", up.Healthmonitor)
	}
	_, err := c.UpdateHealthMonitor(&model.UpdateHealthMonitorRequest{HealthmonitorId: hm.Id,
		Body: &model.UpdateHealthMonitorRequestBody{Healthmonitor: &model.UpdateHealthMonitorOption{Timeout: ptr(int32(99))}}})
	wantErr(t, err, 400, "ELB.8902", "timeout 99")
	shown := must[*model.ShowHealthMonitorResponse](t)(c.ShowHealthMonitor(&model.ShowHealthMonitorRequest{HealthmonitorId: hm.Id}))
	if shown.Healthmonitor.Delay != 10 || shown.Healthmonitor.Timeout != 3 {
		t.Errorf("show after failed update %+v", shown.Healthmonitor)
	}

	list := must[*model.ListHealthMonitorsResponse](t)(c.ListHealthMonitors(&model.ListHealthMonitorsRequest{Type: &[]string{"HTTP", "UDP_CONNECT"}}))
	if ms := *list.Healthmonitors; len(ms) != 2 || ms[0].Id != h.Id || ms[1].Id != u.Id {
		t.Errorf("list by type: %+v", ms)
	}
	if d := must[*model.DeleteHealthMonitorResponse](t)(c.DeleteHealthMonitor(&model.DeleteHealthMonitorRequest{HealthmonitorId: hm.Id})); d.HttpStatusCode != 204 {
		t.Errorf("delete status %d", d.HttpStatusCode)
	}
	if p := must[*model.ShowPoolResponse](t)(c.ShowPool(&model.ShowPoolRequest{PoolId: tcp.Id})); p.Pool.HealthmonitorId != "" {
		t.Errorf("pool still has monitor %q", p.Pool.HealthmonitorId)
	}
	_, err = c.ShowHealthMonitor(&model.ShowHealthMonitorRequest{HealthmonitorId: hm.Id})
	wantErr(t, err, 404, "ELB.8904")
}

// statusDP reports the statuses a data plane would: members in offline are OFFLINE, others ONLINE.
type statusDP struct {
	api.NopDataPlane
	offline map[string]bool
}

func (d statusDP) MemberStatus(id string) string {
	if d.offline[id] {
		return "OFFLINE"
	}
	return "ONLINE"
}

func TestLoadBalancerStatusTree(t *testing.T) {
	dp := statusDP{offline: map[string]bool{}}
	e := openEnv(t, t.TempDir(), dp)
	c := e.c1()
	lb := e.lb(c, false)
	l := e.listener(c, lb.Id, "TCP", 80)
	p := e.pool(c, model.CreatePoolOption{Protocol: "TCP", ListenerId: &l.Id, Name: ptr("web")})
	spare := e.pool(c, model.CreatePoolOption{Protocol: "TCP", LoadbalancerId: &lb.Id})
	m1 := must[*model.Member](t)(e.member(c, p.Id, model.CreateMemberOption{Address: "127.10.1.10", ProtocolPort: ptr(int32(80)), SubnetCidrId: ptr("subnet-a1")}))
	m2 := must[*model.Member](t)(e.member(c, p.Id, model.CreateMemberOption{Address: "127.10.1.11", ProtocolPort: ptr(int32(80)), SubnetCidrId: ptr("subnet-a1")}))
	hm := must[*model.CreateHealthMonitorResponse](t)(c.CreateHealthMonitor(&model.CreateHealthMonitorRequest{Body: &model.CreateHealthMonitorRequestBody{
		Healthmonitor: &model.CreateHealthMonitorOption{PoolId: p.Id, Type: "TCP", Delay: 5, Timeout: 3, MaxRetries: 2}}})).Healthmonitor
	dp.offline[m2.Id] = true

	tree := must[*model.ShowLoadBalancerStatusResponse](t)(c.ShowLoadBalancerStatus(&model.ShowLoadBalancerStatusRequest{LoadbalancerId: lb.Id})).Statuses.Loadbalancer
	if tree.Id != lb.Id || tree.ProvisioningStatus != "ACTIVE" || tree.OperatingStatus != "ONLINE" || len(tree.Listeners) != 1 || len(tree.Pools) != 2 {
		t.Fatalf("tree %+v", tree)
	}
	tl := tree.Listeners[0]
	if *tl.Id != l.Id || *tl.OperatingStatus != "ONLINE" || len(*tl.Pools) != 1 || *(*tl.Pools)[0].Id != p.Id {
		t.Errorf("listener node %+v", tl)
	}
	tp := tree.Pools[0]
	if *tp.Id != p.Id || *tp.Name != "web" || tp.Healthmonitor == nil || *tp.Healthmonitor.Id != hm.Id || len(*tp.Members) != 2 || *tp.OperatingStatus != "ONLINE" {
		t.Fatalf("pool node %+v", tp)
	}
	tm := (*tp.Members)[0]
	if *tm.Id != m1.Id || *tm.Address != "127.10.1.10" || *tm.ProtocolPort != 80 || *tm.OperatingStatus != "ONLINE" {
		t.Errorf("member node %+v", tm)
	}
	if st := *(*tp.Members)[1].OperatingStatus; st != "OFFLINE" {
		t.Errorf("member 2 %s, want OFFLINE", st)
	}
	if *tree.Pools[1].Id != spare.Id || len(*tree.Pools[1].Members) != 0 {
		t.Errorf("spare pool node %+v", tree.Pools[1])
	}
	// The member APIs report the same status; a pool whose members are all down is OFFLINE.
	if sm := must[*model.ShowMemberResponse](t)(c.ShowMember(&model.ShowMemberRequest{PoolId: p.Id, MemberId: m2.Id})); sm.Member.OperatingStatus != "OFFLINE" || sm.Member.Status[0].OperatingStatus != "OFFLINE" {
		t.Errorf("show member %+v", sm.Member)
	}
	dp.offline[m1.Id] = true
	tree = must[*model.ShowLoadBalancerStatusResponse](t)(c.ShowLoadBalancerStatus(&model.ShowLoadBalancerStatusRequest{LoadbalancerId: lb.Id})).Statuses.Loadbalancer
	if st := *tree.Pools[0].OperatingStatus; st != "OFFLINE" {
		t.Errorf("pool with all members down is %s, want OFFLINE", st)
	}
	_, err := c.ShowLoadBalancerStatus(&model.ShowLoadBalancerStatusRequest{LoadbalancerId: "nope"})
	wantErr(t, err, 404, "ELB.8904")
}
