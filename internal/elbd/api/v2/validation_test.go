package apiv2_test

import (
	"strings"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"
)

func TestValidationRules(t *testing.T) {
	_, c, s := newShared(t)
	udpListener, err := c.CreateListener(&model.CreateListenerRequest{Body: &model.CreateListenerRequestBody{Listener: &model.CreateListenerReq{
		LoadbalancerId: s.lb.Id, Protocol: model.GetCreateListenerReqProtocolEnum().UDP, ProtocolPort: 80}}})
	if err != nil {
		t.Fatalf("UDP and TCP listeners may share port 80: %v", err)
	}
	tcp, udp := model.GetCreateListenerReqProtocolEnum().TCP, model.GetCreatePoolReqProtocolEnum().UDP

	createLB := func(req model.CreateLoadbalancerReq) error {
		_, err := c.CreateLoadbalancer(&model.CreateLoadbalancerRequest{Body: &model.CreateLoadbalancerRequestBody{Loadbalancer: &req}})
		return err
	}
	createListener := func(req model.CreateListenerReq) error {
		_, err := c.CreateListener(&model.CreateListenerRequest{Body: &model.CreateListenerRequestBody{Listener: &req}})
		return err
	}
	createPool := func(req model.CreatePoolReq) error {
		_, err := c.CreatePool(&model.CreatePoolRequest{Body: &model.CreatePoolRequestBody{Pool: &req}})
		return err
	}
	createMember := func(req model.CreateMemberReq) error {
		_, err := c.CreateMember(&model.CreateMemberRequest{PoolId: s.pool.Id, Body: &model.CreateMemberRequestBody{Member: &req}})
		return err
	}
	createMonitor := func(req model.CreateHealthmonitorReq) error {
		_, err := c.CreateHealthmonitor(&model.CreateHealthmonitorRequest{Body: &model.CreateHealthmonitorRequestBody{Healthmonitor: &req}})
		return err
	}
	updateMember := func(req model.UpdateMemberReq) error {
		_, err := c.UpdateMember(&model.UpdateMemberRequest{PoolId: s.pool.Id, MemberId: s.members[0].Id, Body: &model.UpdateMemberRequestBody{Member: &req}})
		return err
	}
	otherPool := func() string {
		p, err := c.CreatePool(&model.CreatePoolRequest{Body: &model.CreatePoolRequestBody{Pool: &model.CreatePoolReq{
			Protocol: model.GetCreatePoolReqProtocolEnum().TCP, LbAlgorithm: "ROUND_ROBIN", LoadbalancerId: &s.lb.Id}}})
		if err != nil {
			t.Fatal(err)
		}
		return p.Pool.Id
	}()

	cases := []struct {
		name   string
		err    error
		status int
		code   string
		msg    string
	}{
		{"LB without subnet", createLB(model.CreateLoadbalancerReq{}), 400, "ELB.8902", "vip_subnet_id is required"},
		{"LB in unknown subnet", createLB(model.CreateLoadbalancerReq{VipSubnetId: "subnet-zz"}), 404, "ELB.8904", "subnet subnet-zz"},
		{"LB VIP outside subnet", createLB(model.CreateLoadbalancerReq{VipSubnetId: "subnet-a1", VipAddress: ptr("127.10.2.5")}), 400, "ELB.8902", "not a usable address"},
		{"LB VIP taken", createLB(model.CreateLoadbalancerReq{VipSubnetId: "subnet-a1", VipAddress: &s.lb.VipAddress}), 409, "ELB.8907", "already used"},
		{"listener on unknown LB", createListener(model.CreateListenerReq{LoadbalancerId: "nope", Protocol: tcp, ProtocolPort: 81}), 404, "ELB.8904", "nope"},
		{"listener port taken", createListener(model.CreateListenerReq{LoadbalancerId: s.lb.Id, Protocol: tcp, ProtocolPort: 80}), 409, "ELB.8907", "port 80"},
		{"listener port 0", createListener(model.CreateListenerReq{LoadbalancerId: s.lb.Id, Protocol: tcp, ProtocolPort: 0}), 400, "ELB.8902", "protocol_port 0"},
		{"listener bad protocol", createListener(model.CreateListenerReq{LoadbalancerId: s.lb.Id, Protocol: model.CreateListenerReqProtocol{}, ProtocolPort: 81}), 400, "ELB.8902", "protocol"},
		{"listener HTTPS without certificates", createListener(model.CreateListenerReq{LoadbalancerId: s.lb.Id,
			Protocol: model.GetCreateListenerReqProtocolEnum().TERMINATED_HTTPS, ProtocolPort: 443}), 400, "ELB.8902", "certificates"},
		{"listener with busy default pool", createListener(model.CreateListenerReq{LoadbalancerId: s.lb.Id, Protocol: tcp, ProtocolPort: 82,
			DefaultPoolId: &s.pool.Id}), 409, "ELB.8907", "already the default pool"},
		{"pool without LB or listener", createPool(model.CreatePoolReq{Protocol: udp, LbAlgorithm: "ROUND_ROBIN"}), 400, "ELB.8902", "loadbalancer_id or pool.listener_id is required"},
		{"pool protocol does not fit listener", createPool(model.CreatePoolReq{Protocol: model.GetCreatePoolReqProtocolEnum().TCP, LbAlgorithm: "ROUND_ROBIN",
			ListenerId: &udpListener.Listener.Id}), 400, "ELB.8902", "needs a pool of protocol UDP"},
		{"pool bad algorithm", createPool(model.CreatePoolReq{Protocol: udp, LbAlgorithm: "RANDOM", LoadbalancerId: &s.lb.Id}), 400, "ELB.8902", "lb_algorithm"},
		{"listener already has a pool", createPool(model.CreatePoolReq{Protocol: model.GetCreatePoolReqProtocolEnum().TCP, LbAlgorithm: "ROUND_ROBIN",
			ListenerId: &s.listener.Id}), 409, "ELB.8907", "already has default pool"},
		{"member without subnet", createMember(model.CreateMemberReq{Address: "127.10.1.30", ProtocolPort: 80}), 400, "ELB.8902", "subnet_id is required"},
		{"member outside subnet", createMember(model.CreateMemberReq{Address: "127.10.2.30", ProtocolPort: 80, SubnetId: "subnet-a1"}), 400, "ELB.8902", "not in subnet subnet-a1"},
		{"member unknown subnet", createMember(model.CreateMemberReq{Address: "127.10.1.30", ProtocolPort: 80, SubnetId: "x"}), 400, "ELB.8902", "not a known subnet"},
		{"member not IPv4", createMember(model.CreateMemberReq{Address: "vm-1", ProtocolPort: 80, SubnetId: "subnet-a1"}), 400, "ELB.8902", "not an IPv4 address"},
		{"member weight 101", createMember(model.CreateMemberReq{Address: "127.10.1.30", ProtocolPort: 80, SubnetId: "subnet-a1", Weight: ptr(int32(101))}), 400, "ELB.8902", "weight 101"},
		{"member twice", createMember(model.CreateMemberReq{Address: "127.10.1.21", ProtocolPort: 8080, SubnetId: "subnet-a1"}), 409, "ELB.8907", "already has member"},
		{"member update weight -1", updateMember(model.UpdateMemberReq{Weight: ptr(int32(-1))}), 400, "ELB.8902", "weight -1"},
		{"monitor UDP_CONNECT on TCP pool", createMonitor(model.CreateHealthmonitorReq{PoolId: otherPool, Type: model.GetCreateHealthmonitorReqTypeEnum().UDP_CONNECT,
			Delay: 5, Timeout: 3, MaxRetries: 3}), 400, "ELB.8902", "UDP_CONNECT checks UDP pools only"},
		{"monitor delay 0", createMonitor(model.CreateHealthmonitorReq{PoolId: otherPool, Type: model.GetCreateHealthmonitorReqTypeEnum().TCP,
			Delay: 0, Timeout: 3, MaxRetries: 3}), 400, "ELB.8902", "delay 0"},
		{"monitor bad expected codes", createMonitor(model.CreateHealthmonitorReq{PoolId: otherPool, Type: model.GetCreateHealthmonitorReqTypeEnum().HTTP,
			Delay: 5, Timeout: 3, MaxRetries: 3, ExpectedCodes: ptr("ok")}), 400, "ELB.8902", "expected_codes"},
		{"monitor on unknown pool", createMonitor(model.CreateHealthmonitorReq{PoolId: "nope", Type: model.GetCreateHealthmonitorReqTypeEnum().TCP,
			Delay: 5, Timeout: 3, MaxRetries: 3}), 404, "ELB.8904", "nope"},
	}
	for _, c := range cases {
		wantAPIError(t, c.name, c.err, c.status, c.code, c.msg)
	}

	// A second monitor on one pool.
	if err := createMonitor(model.CreateHealthmonitorReq{PoolId: otherPool, Type: model.GetCreateHealthmonitorReqTypeEnum().TCP, Delay: 5, Timeout: 3, MaxRetries: 3}); err != nil {
		t.Fatal(err)
	}
	err = createMonitor(model.CreateHealthmonitorReq{PoolId: otherPool, Type: model.GetCreateHealthmonitorReqTypeEnum().TCP, Delay: 5, Timeout: 3, MaxRetries: 3})
	wantAPIError(t, "second monitor", err, 409, "ELB.8907", "already has health monitor")
}

// TestMalformedRequests sends bodies the SDK would not: the API must say what is wrong.
func TestMalformedRequests(t *testing.T) {
	e := newEnv(t)
	lbs := "/v2/p1/elb/loadbalancers"
	for _, c := range []struct {
		body   string
		status int
		msg    string
	}{
		{`{"loadbalancer":`, 400, "malformed JSON"},
		{``, 400, "body is empty"},
		{`{"lb":{"vip_subnet_id":"subnet-a1"}}`, 400, `{"loadbalancer": {...}}`},
		{`{"loadbalancer":{"vip_subnet_id":5}}`, 400, "loadbalancer.vip_subnet_id must be a JSON string"},
		{`{"loadbalancer":{"vip_subnet_id":"subnet-a1","admin_state_up":"yes"}}`, 400, "loadbalancer.admin_state_up must be a JSON boolean"},
		{`{"loadbalancer":[1]}`, 400, "loadbalancer must be a JSON object"},
	} {
		status, body := e.raw("POST", lbs, c.body)
		if status != c.status || !strings.Contains(body["error_msg"].(string), c.msg) || body["error_code"] == "" {
			t.Errorf("body %q: got %d %v, want %d containing %q", c.body, status, body, c.status, c.msg)
		}
	}
	status, body := e.raw("POST", "/v2/p1/elb/listeners", `{"listener":{"protocol":"TCP","protocol_port":80}}`)
	if status != 400 || body["error_msg"] != "listener.loadbalancer_id is required" {
		t.Errorf("listener without LB: %d %v", status, body)
	}
	status, body = e.raw("POST", "/v2/p1/elb/healthmonitors", `{"healthmonitor":{"pool_id":"x","type":"TCP","delay":5,"timeout":3}}`)
	if status != 400 || body["error_msg"] != "healthmonitor.max_retries is required" {
		t.Errorf("monitor without max_retries: %d %v", status, body)
	}
	status, body = e.raw("PUT", "/v2/p1/elb/pools/x/members/y", `{"member":{"address":"127.10.1.9"}}`)
	if status != 400 || !strings.Contains(body["error_msg"].(string), "cannot change") {
		t.Errorf("member address change: %d %v", status, body)
	}
}
