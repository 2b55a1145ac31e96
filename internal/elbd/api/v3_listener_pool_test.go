package api_test

import (
	"net/http"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
)

func TestListenerLifecycleAndRules(t *testing.T) {
	e, c, lb := newEnvLB(t, false)

	resp := must[*model.CreateListenerResponse](t)(c.CreateListener(&model.CreateListenerRequest{Body: &model.CreateListenerRequestBody{
		Listener: &model.CreateListenerOption{LoadbalancerId: lb.Id, Protocol: "TCP", ProtocolPort: ptr(int32(80)), Name: ptr("web"), Description: ptr("d")}}}))
	l := resp.Listener
	if resp.HttpStatusCode != 201 || l.Protocol != "TCP" || l.ProtocolPort != 80 || l.Name != "web" || !l.AdminStateUp ||
		l.KeepaliveTimeout != 300 || len(l.Loadbalancers) != 1 || *l.Loadbalancers[0].Id != lb.Id || l.DefaultPoolId != "" {
		t.Fatalf("created listener %d %+v", resp.HttpStatusCode, l)
	}
	// UDP may share the port; TCP, and HTTP (TCP underneath), may not.
	udp := e.listener(c, lb.Id, "UDP", 80)
	create := func(o model.CreateListenerOption) error {
		_, err := c.CreateListener(&model.CreateListenerRequest{Body: &model.CreateListenerRequestBody{Listener: &o}})
		return err
	}
	wantErr(t, create(model.CreateListenerOption{LoadbalancerId: lb.Id, Protocol: "TCP", ProtocolPort: ptr(int32(80))}), 409, "ELB.8907", "already has a TCP listener on port 80", l.Id)
	wantErr(t, create(model.CreateListenerOption{LoadbalancerId: lb.Id, Protocol: "HTTP", ProtocolPort: ptr(int32(80))}), 409, "ELB.8907", "port 80", "taken by TCP listener")
	wantErr(t, create(model.CreateListenerOption{LoadbalancerId: lb.Id, Protocol: "SCTP", ProtocolPort: ptr(int32(81))}), 400, "ELB.8902", `protocol "SCTP" is not supported`)
	wantErr(t, create(model.CreateListenerOption{LoadbalancerId: lb.Id, Protocol: "TCP", ProtocolPort: ptr(int32(70000))}), 400, "ELB.8902", "protocol_port 70000 is out of range")
	wantErr(t, create(model.CreateListenerOption{LoadbalancerId: lb.Id, Protocol: "TCP"}), 400, "ELB.8902", "protocol_port is required")
	wantErr(t, create(model.CreateListenerOption{Protocol: "TCP", ProtocolPort: ptr(int32(81))}), 400, "ELB.8902", "loadbalancer_id is required")
	wantErr(t, create(model.CreateListenerOption{LoadbalancerId: "no-such-lb", Protocol: "TCP", ProtocolPort: ptr(int32(81))}), 404, "ELB.8904", "no-such-lb")
	wantErr(t, create(model.CreateListenerOption{LoadbalancerId: lb.Id, Protocol: "TCP", ProtocolPort: ptr(int32(81)), ClientTimeout: ptr(int32(10))}), 400, "ELB.8902", "client_timeout and member_timeout apply to HTTP")
	wantErr(t, create(model.CreateListenerOption{LoadbalancerId: lb.Id, Protocol: "TCP", ProtocolPort: ptr(int32(81)), KeepaliveTimeout: ptr(int32(5000))}), 400, "ELB.8902", "keepalive_timeout 5000 is out of range")
	h := must[*model.CreateListenerResponse](t)(c.CreateListener(&model.CreateListenerRequest{Body: &model.CreateListenerRequestBody{
		Listener: &model.CreateListenerOption{LoadbalancerId: lb.Id, Protocol: "HTTP", ProtocolPort: ptr(int32(8080))}}}))
	if h.Listener.KeepaliveTimeout != 60 || h.Listener.ClientTimeout != 60 || h.Listener.MemberTimeout != 60 {
		t.Errorf("HTTP listener timeouts %d/%d/%d, want 60/60/60", h.Listener.KeepaliveTimeout, h.Listener.ClientTimeout, h.Listener.MemberTimeout)
	}

	shown := must[*model.ShowListenerResponse](t)(c.ShowListener(&model.ShowListenerRequest{ListenerId: udp.Id}))
	if shown.Listener.Protocol != "UDP" || shown.Listener.ProtocolPort != 80 {
		t.Errorf("show: %+v", shown.Listener)
	}

	// Bind a pool through update, then refuse to delete the listener while it is bound.
	p := e.pool(c, model.CreatePoolOption{Protocol: "TCP", LoadbalancerId: &lb.Id})
	up := must[*model.UpdateListenerResponse](t)(c.UpdateListener(&model.UpdateListenerRequest{ListenerId: l.Id,
		Body: &model.UpdateListenerRequestBody{Listener: &model.UpdateListenerOption{DefaultPoolId: &p.Id, Name: ptr("web2"), KeepaliveTimeout: ptr(int32(100))}}}))
	if up.Listener.DefaultPoolId != p.Id || up.Listener.Name != "web2" || up.Listener.KeepaliveTimeout != 100 || up.Listener.ProtocolPort != 80 {
		t.Errorf("update: %+v", up.Listener)
	}
	_, err := c.UpdateListener(&model.UpdateListenerRequest{ListenerId: udp.Id,
		Body: &model.UpdateListenerRequestBody{Listener: &model.UpdateListenerOption{DefaultPoolId: &p.Id}}})
	wantErr(t, err, 400, "ELB.8902", "protocol TCP, which cannot serve listener", "UDP or QUIC")
	_, err = c.DeleteListener(&model.DeleteListenerRequest{ListenerId: l.Id})
	wantErr(t, err, 409, "ELB.8907", "pool "+p.Id+" is bound")
	// A pool serves one listener; a new listener can name a free pool at creation.
	_, err = c.CreateListener(&model.CreateListenerRequest{Body: &model.CreateListenerRequestBody{
		Listener: &model.CreateListenerOption{LoadbalancerId: lb.Id, Protocol: "TCP", ProtocolPort: ptr(int32(90)), DefaultPoolId: &p.Id}}})
	wantErr(t, err, 409, "ELB.8907", "already the default pool of listener "+l.Id)
	free := e.pool(c, model.CreatePoolOption{Protocol: "TCP", LoadbalancerId: &lb.Id})
	withPool := must[*model.CreateListenerResponse](t)(c.CreateListener(&model.CreateListenerRequest{Body: &model.CreateListenerRequestBody{
		Listener: &model.CreateListenerOption{LoadbalancerId: lb.Id, Protocol: "TCP", ProtocolPort: ptr(int32(90)), DefaultPoolId: &free.Id}}}))
	if withPool.Listener.DefaultPoolId != free.Id {
		t.Errorf("listener created with default pool %q, want %q", withPool.Listener.DefaultPoolId, free.Id)
	}
	otherLB := e.lb(c, false)
	_, err = c.CreateListener(&model.CreateListenerRequest{Body: &model.CreateListenerRequestBody{
		Listener: &model.CreateListenerOption{LoadbalancerId: otherLB.Id, Protocol: "TCP", ProtocolPort: ptr(int32(90)), DefaultPoolId: &free.Id}}})
	wantErr(t, err, 400, "ELB.8902", "belongs to load balancer "+lb.Id)
	if pl := must[*model.ShowPoolResponse](t)(c.ShowPool(&model.ShowPoolRequest{PoolId: p.Id})); len(pl.Pool.Listeners) != 1 || pl.Pool.Listeners[0].Id != l.Id {
		t.Errorf("pool listeners %+v, want [%s]", pl.Pool.Listeners, l.Id)
	}
	// Clearing default_pool_id ("") unbinds; then the listener can go.
	must[*model.UpdateListenerResponse](t)(c.UpdateListener(&model.UpdateListenerRequest{ListenerId: l.Id,
		Body: &model.UpdateListenerRequestBody{Listener: &model.UpdateListenerOption{DefaultPoolId: ptr("")}}}))
	del := must[*model.DeleteListenerResponse](t)(c.DeleteListener(&model.DeleteListenerRequest{ListenerId: l.Id}))
	if del.HttpStatusCode != http.StatusNoContent {
		t.Errorf("delete status %d", del.HttpStatusCode)
	}
	_, err = c.ShowListener(&model.ShowListenerRequest{ListenerId: l.Id})
	wantErr(t, err, 404, "ELB.8904")
}

func TestPoolLifecycleAndRules(t *testing.T) {
	e, c, lb := newEnvLB(t, true)
	l := e.listener(c, lb.Id, "TCP", 80)
	u := e.listener(c, lb.Id, "UDP", 53)

	resp := must[*model.CreatePoolResponse](t)(c.CreatePool(&model.CreatePoolRequest{Body: &model.CreatePoolRequestBody{Pool: &model.CreatePoolOption{
		LbAlgorithm: "LEAST_CONNECTIONS", Protocol: "TCP", ListenerId: &l.Id, Name: ptr("shared"), Type: ptr("instance"), VpcId: &lb.VpcId,
		SessionPersistence: &model.CreatePoolSessionPersistenceOption{Type: model.GetCreatePoolSessionPersistenceOptionTypeEnum().SOURCE_IP},
	}}}))
	p := resp.Pool
	if resp.HttpStatusCode != 201 || p.LbAlgorithm != "LEAST_CONNECTIONS" || p.Protocol != "TCP" || p.Type != "instance" || p.Name != "shared" ||
		len(p.Loadbalancers) != 1 || *p.Loadbalancers[0].Id != lb.Id || len(p.Listeners) != 1 || p.Listeners[0].Id != l.Id ||
		p.VpcId != "vpc-a" || p.SessionPersistence == nil || p.SessionPersistence.Type != "SOURCE_IP" || p.IpVersion != "v4" {
		t.Fatalf("created pool %+v", p)
	}
	if sl := must[*model.ShowListenerResponse](t)(c.ShowListener(&model.ShowListenerRequest{ListenerId: l.Id})); sl.Listener.DefaultPoolId != p.Id {
		t.Errorf("listener default_pool_id %q, want %q", sl.Listener.DefaultPoolId, p.Id)
	}
	create := func(o model.CreatePoolOption) error {
		if o.LbAlgorithm == "" {
			o.LbAlgorithm = "ROUND_ROBIN"
		}
		_, err := c.CreatePool(&model.CreatePoolRequest{Body: &model.CreatePoolRequestBody{Pool: &o}})
		return err
	}
	wantErr(t, create(model.CreatePoolOption{Protocol: "TCP", ListenerId: &l.Id}), 409, "ELB.8907", "already has default pool "+p.Id)
	wantErr(t, create(model.CreatePoolOption{Protocol: "TCP", ListenerId: &u.Id}), 400, "ELB.8902", "cannot serve listener", "UDP or QUIC")
	wantErr(t, create(model.CreatePoolOption{Protocol: "TCP"}), 400, "ELB.8902", "loadbalancer_id and pool.listener_id is required")
	wantErr(t, create(model.CreatePoolOption{Protocol: "TCP", LoadbalancerId: &lb.Id, LbAlgorithm: "RANDOM"}), 400, "ELB.8902", `lb_algorithm "RANDOM"`, "ROUND_ROBIN")
	wantErr(t, create(model.CreatePoolOption{Protocol: "TCP", LoadbalancerId: &lb.Id, Type: ptr("vm")}), 400, "ELB.8902", `type "vm"`)
	wantErr(t, create(model.CreatePoolOption{Protocol: "SCTP", LoadbalancerId: &lb.Id}), 400, "ELB.8902", `protocol "SCTP"`)
	wantErr(t, create(model.CreatePoolOption{Protocol: "TCP", LoadbalancerId: ptr("nope")}), 404, "ELB.8904", "nope")
	other := e.lb(c, false)
	wantErr(t, create(model.CreatePoolOption{Protocol: "TCP", LoadbalancerId: &other.Id, ListenerId: &u.Id}), 400, "ELB.8902", "belongs to load balancer")
	wantErr(t, create(model.CreatePoolOption{Protocol: "TCP", LoadbalancerId: &lb.Id, VpcId: ptr("vpc-b")}), 400, "ELB.8902", "vpc_id vpc-b differs")

	// Update: algorithm, name, stickiness off; a set type cannot change (E6h).
	up := must[*model.UpdatePoolResponse](t)(c.UpdatePool(&model.UpdatePoolRequest{PoolId: p.Id, Body: &model.UpdatePoolRequestBody{
		Pool: &model.UpdatePoolOption{LbAlgorithm: ptr("SOURCE_IP"), Name: ptr("renamed")}}}))
	if up.Pool.LbAlgorithm != "SOURCE_IP" || up.Pool.Name != "renamed" || up.Pool.Protocol != "TCP" {
		t.Errorf("update %+v", up.Pool)
	}
	m := must[*model.Member](t)(e.member(c, p.Id, model.CreateMemberOption{Address: "127.10.1.20", ProtocolPort: ptr(int32(8080)), SubnetCidrId: ptr("subnet-a1")}))
	_, err := c.UpdatePool(&model.UpdatePoolRequest{PoolId: p.Id, Body: &model.UpdatePoolRequestBody{Pool: &model.UpdatePoolOption{Type: ptr("ip")}}})
	wantErr(t, err, 400, "ELB.8902", "is of type instance", "can be set only while it is empty")

	// Delete refused while it has members, then while it has a monitor.
	_, err = c.DeletePool(&model.DeletePoolRequest{PoolId: p.Id})
	wantErr(t, err, 409, "ELB.8907", "members")
	must[*model.DeleteMemberResponse](t)(c.DeleteMember(&model.DeleteMemberRequest{PoolId: p.Id, MemberId: m.Id}))
	hm := must[*model.CreateHealthMonitorResponse](t)(c.CreateHealthMonitor(&model.CreateHealthMonitorRequest{Body: &model.CreateHealthMonitorRequestBody{
		Healthmonitor: &model.CreateHealthMonitorOption{PoolId: p.Id, Type: "TCP", Delay: 5, Timeout: 3, MaxRetries: 3}}}))
	_, err = c.DeletePool(&model.DeletePoolRequest{PoolId: p.Id})
	wantErr(t, err, 409, "ELB.8907", "health monitor "+hm.Healthmonitor.Id)
	must[*model.DeleteHealthMonitorResponse](t)(c.DeleteHealthMonitor(&model.DeleteHealthMonitorRequest{HealthmonitorId: hm.Healthmonitor.Id}))
	if d := must[*model.DeletePoolResponse](t)(c.DeletePool(&model.DeletePoolRequest{PoolId: p.Id})); d.HttpStatusCode != 204 {
		t.Errorf("delete status %d", d.HttpStatusCode)
	}
	// The listener is left without a default pool.
	if sl := must[*model.ShowListenerResponse](t)(c.ShowListener(&model.ShowListenerRequest{ListenerId: l.Id})); sl.Listener.DefaultPoolId != "" {
		t.Errorf("listener still points at deleted pool %q", sl.Listener.DefaultPoolId)
	}
}
