package api_test

import (
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
)

// The documented rules of issue 13 item 6 (E6b-E6i), each citing its SDK model file.

// E6c: member_deletion_protection_enable refuses every call that would remove a member: member
// delete, batch delete, pool cascade, listener force, load balancer force
// (services/elb/v3/model/model_create_pool_option.go); nothing is removed, and with the
// protection off the same calls go through.
func TestMemberDeletionProtection(t *testing.T) {
	e, c, lb := newEnvLB(t, false)
	l, p, _, ms := e.tree(lb.Id, 90)
	protect := func(on bool) {
		t.Helper()
		up := must[*model.UpdatePoolResponse](t)(c.UpdatePool(&model.UpdatePoolRequest{PoolId: p, Body: &model.UpdatePoolRequestBody{
			Pool: &model.UpdatePoolOption{MemberDeletionProtectionEnable: ptr(on)}}}))
		if up.Pool.MemberDeletionProtectionEnable != on {
			t.Fatalf("member_deletion_protection_enable shows %v, want %v", up.Pool.MemberDeletionProtectionEnable, on)
		}
	}
	protect(true)
	_, err := c.DeleteMember(&model.DeleteMemberRequest{PoolId: p, MemberId: ms[0]})
	wantErr(t, err, 409, "ELB.8907", "member_deletion_protection_enable", "deleting member "+ms[0])
	_, err = c.BatchDeleteMembers(&model.BatchDeleteMembersRequest{PoolId: p, Body: &model.BatchDeleteMembersRequestBody{
		Members: []model.BatchDeleteMembersOption{{Id: &ms[1]}}}})
	wantErr(t, err, 409, "ELB.8907", "member_deletion_protection_enable", "batch delete")
	_, err = c.DeletePoolCascade(&model.DeletePoolCascadeRequest{PoolId: p})
	wantErr(t, err, 409, "ELB.8907", "member_deletion_protection_enable", "cascade delete")
	_, err = c.DeleteListenerForce(&model.DeleteListenerForceRequest{ListenerId: l})
	wantErr(t, err, 409, "ELB.8907", "member_deletion_protection_enable", "force delete of listener")
	_, err = c.DeleteLoadBalancerForce(&model.DeleteLoadBalancerForceRequest{LoadbalancerId: lb.Id})
	wantErr(t, err, 409, "ELB.8907", "member_deletion_protection_enable", "force delete of load balancer")
	list := must[*model.ListMembersResponse](t)(c.ListMembers(&model.ListMembersRequest{PoolId: p}))
	if len(*list.Members) != 2 {
		t.Fatalf("refused calls removed members: %d left, want 2", len(*list.Members))
	}
	must[*model.ShowListenerResponse](t)(c.ShowListener(&model.ShowListenerRequest{ListenerId: l}))
	// The filter of ListPools follows the flag.
	lp := must[*model.ListPoolsResponse](t)(c.ListPools(&model.ListPoolsRequest{MemberDeletionProtectionEnable: ptr(true)}))
	if len(*lp.Pools) != 1 || (*lp.Pools)[0].Id != p {
		t.Errorf("pools with member_deletion_protection_enable=true: %d, want pool %s", len(*lp.Pools), p)
	}

	protect(false)
	must[*model.DeleteMemberResponse](t)(c.DeleteMember(&model.DeleteMemberRequest{PoolId: p, MemberId: ms[0]}))
	must[*model.DeleteLoadBalancerForceResponse](t)(c.DeleteLoadBalancerForce(&model.DeleteLoadBalancerForceRequest{LoadbalancerId: lb.Id}))
}

// E6e-E6h, E7: pool options and their documented limits.
func TestPoolOptionRules(t *testing.T) {
	e, c, lb := newEnvLB(t, false)
	create := func(opt model.CreatePoolOption) (*model.Pool, error) {
		if opt.LbAlgorithm == "" {
			opt.LbAlgorithm = "ROUND_ROBIN"
		}
		if opt.LoadbalancerId == nil && opt.ListenerId == nil {
			opt.LoadbalancerId = &lb.Id
		}
		resp, err := c.CreatePool(&model.CreatePoolRequest{Body: &model.CreatePoolRequestBody{Pool: &opt}})
		if err != nil {
			return nil, err
		}
		return resp.Pool, nil
	}
	slow := &model.CreatePoolSlowStartOption{Enable: ptr(true), Duration: ptr(int32(60))}

	// E6e slow_start: HTTP/HTTPS/GRPC pools only, duration 30-1200 (model_create_pool_slow_start_option.go).
	for _, proto := range []string{"TCP", "UDP"} {
		_, err := create(model.CreatePoolOption{Protocol: proto, SlowStart: slow})
		wantErr(t, err, 400, "ELB.8902", "slow_start is supported by HTTP and HTTPS pools only", proto)
	}
	_, err := create(model.CreatePoolOption{Protocol: "HTTP", SlowStart: &model.CreatePoolSlowStartOption{Enable: ptr(true), Duration: ptr(int32(20))}})
	wantErr(t, err, 400, "ELB.8902", "slow_start.duration 20", "30-1200")
	hp := must[*model.Pool](t)(create(model.CreatePoolOption{Protocol: "HTTP", SlowStart: slow}))
	if hp.SlowStart == nil || !hp.SlowStart.Enable || hp.SlowStart.Duration != 60 {
		t.Errorf("HTTP pool slow_start %+v, want enabled for 60 s", hp.SlowStart)
	}

	// E6f: the pool's protocol must suit its listener's (model_create_pool_option.go protocol).
	tcpL := e.listener(c, lb.Id, "TCP", 80)
	udpL := e.listener(c, lb.Id, "UDP", 53)
	_, err = create(model.CreatePoolOption{Protocol: "UDP", ListenerId: &tcpL.Id})
	wantErr(t, err, 400, "ELB.8902", "needs a pool of protocol TCP")
	_, err = create(model.CreatePoolOption{Protocol: "TCP", ListenerId: &udpL.Id})
	wantErr(t, err, 400, "ELB.8902", "UDP or QUIC")
	must[*model.Pool](t)(create(model.CreatePoolOption{Protocol: "QUIC", ListenerId: &udpL.Id}))

	// E6g any_port_enable: TCP, UDP and QUIC pools only.
	_, err = create(model.CreatePoolOption{Protocol: "HTTP", AnyPortEnable: ptr(true)})
	wantErr(t, err, 400, "ELB.8902", "any_port_enable is supported by TCP, UDP and QUIC pools only")
	ap := must[*model.Pool](t)(create(model.CreatePoolOption{Protocol: "TCP", AnyPortEnable: ptr(true)}))
	if ap.AnyPortEnable == nil || !*ap.AnyPortEnable {
		t.Errorf("any_port_enable not shown on the TCP pool")
	}

	// E6h type: instance needs vpc_id, ip forbids it; a set type cannot change, an empty one
	// can be set if the members fit (model_create_pool_option.go, model_update_pool_option.go).
	_, err = create(model.CreatePoolOption{Protocol: "TCP", Type: ptr("instance")})
	wantErr(t, err, 400, "ELB.8902", "type instance needs vpc_id")
	_, err = create(model.CreatePoolOption{Protocol: "TCP", Type: ptr("ip"), VpcId: &lb.VpcId})
	wantErr(t, err, 400, "ELB.8902", "type ip takes no vpc_id")
	inst := must[*model.Pool](t)(create(model.CreatePoolOption{Protocol: "TCP", Type: ptr("instance"), VpcId: &lb.VpcId}))
	_, err = c.UpdatePool(&model.UpdatePoolRequest{PoolId: inst.Id, Body: &model.UpdatePoolRequestBody{Pool: &model.UpdatePoolOption{Type: ptr("ip")}}})
	wantErr(t, err, 400, "ELB.8902", "can be set only while it is empty")
	any := must[*model.Pool](t)(create(model.CreatePoolOption{Protocol: "TCP"}))
	m := must[*model.Member](t)(e.member(c, any.Id, model.CreateMemberOption{Address: "127.10.1.30", ProtocolPort: ptr(int32(80)), SubnetCidrId: ptr("subnet-a1")}))
	_, err = c.UpdatePool(&model.UpdatePoolRequest{PoolId: any.Id, Body: &model.UpdatePoolRequestBody{Pool: &model.UpdatePoolOption{Type: ptr("ip")}}})
	wantErr(t, err, 400, "ELB.8902", `type cannot become "ip"`, m.Id)
	if up := must[*model.UpdatePoolResponse](t)(c.UpdatePool(&model.UpdatePoolRequest{PoolId: any.Id, Body: &model.UpdatePoolRequestBody{
		Pool: &model.UpdatePoolOption{Type: ptr("instance")}}})); up.Pool.Type != "instance" {
		t.Errorf("an empty type could not be set: %q", up.Pool.Type)
	}

	// E7 connection_drain: timeout 10-4000 s (model_connection_drain.go); shown as set.
	_, err = create(model.CreatePoolOption{Protocol: "TCP", ConnectionDrain: &model.ConnectionDrain{Enable: ptr(true), Timeout: ptr(int32(5))}})
	wantErr(t, err, 400, "ELB.8902", "connection_drain.timeout 5", "10-4000")
	dp := must[*model.Pool](t)(create(model.CreatePoolOption{Protocol: "TCP", ConnectionDrain: &model.ConnectionDrain{Enable: ptr(true), Timeout: ptr(int32(30))}}))
	if cd := dp.ConnectionDrain; cd == nil || cd.Enable == nil || !*cd.Enable || cd.Timeout == nil || *cd.Timeout != 30 {
		t.Errorf("connection_drain %+v, want enabled for 30 s", dp.ConnectionDrain)
	}
}

// E6i: keepalive_timeout of TCP and UDP listeners takes 10-4000 s, default 300; HTTP 0-4000
// (services/elb/v3/model/model_create_listener_option.go).
func TestListenerKeepaliveRange(t *testing.T) {
	_, c, lb := newEnvLB(t, false)
	create := func(proto string, port int32, ka *int32) (*model.Listener, error) {
		resp, err := c.CreateListener(&model.CreateListenerRequest{Body: &model.CreateListenerRequestBody{
			Listener: &model.CreateListenerOption{LoadbalancerId: lb.Id, Protocol: proto, ProtocolPort: ptr(port), KeepaliveTimeout: ka}}})
		if err != nil {
			return nil, err
		}
		return resp.Listener, nil
	}
	for _, bad := range []int32{0, 9, 4001} {
		_, err := create("TCP", 80, ptr(bad))
		wantErr(t, err, 400, "ELB.8902", "keepalive_timeout", "10-4000")
	}
	l := must[*model.Listener](t)(create("UDP", 53, nil))
	if l.KeepaliveTimeout != 300 {
		t.Errorf("UDP listener keepalive_timeout %d, want the default 300", l.KeepaliveTimeout)
	}
	_, err := c.UpdateListener(&model.UpdateListenerRequest{ListenerId: l.Id, Body: &model.UpdateListenerRequestBody{
		Listener: &model.UpdateListenerOption{KeepaliveTimeout: ptr(int32(5))}}})
	wantErr(t, err, 400, "ELB.8902", "keepalive_timeout 5", "10-4000")
	must[*model.Listener](t)(create("TCP", 81, ptr(int32(10))))
	must[*model.Listener](t)(create("HTTP", 82, ptr(int32(0))))
}
