package contract

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
)

// Behaviours E4, E6, E7 (range), E8 and E9 of issue 13 (docs/elb-compatibility.md rows 4, 6x, 7, 8,
// 9b). The data-plane halves (SOURCE_IP spreading, connection drain with traffic) are shown by
// internal/elbd/dataplane's tests: a contract test cannot send traffic to a real cloud's VIP from
// here.

// eventually polls cond every 200 ms until it holds or limit passes.
func eventually(t *testing.T, limit time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, got := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s (last: %s)", what, limit, got)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// want4xx asserts err is an API error refusing the call (a 4xx), whatever its code: the
// reference names no code for these refusals.
func want4xx(t *testing.T, what string, err error) {
	t.Helper()
	if s := StatusOf(err); s < 400 || s > 499 {
		t.Fatalf("%s: got %v; want a 4xx refusal", what, err)
	}
}

// E4. Source: services/elb/v3/model/model_member.go operating_status (NO_MONITOR: the pool has no
// health check; INITIAL: checked, no data yet; ONLINE; OFFLINE) and model_list_members_request.go
// (operating_status filter).
func TestMemberStatusAsDocumented(t *testing.T) {
	RunWith(t, Elbd{RealDataPlane: true}, func(t *testing.T, tg *Target) {
		_, _, p := tg.V3Stack()
		m := tg.MustV3Member(p.Id, 0, 8080)
		status := func() string {
			r, err := tg.V3.ShowMember(&model.ShowMemberRequest{PoolId: p.Id, MemberId: m.Id})
			if err != nil {
				t.Fatal(err)
			}
			return r.Member.OperatingStatus
		}
		eventually(t, time.Minute, "a member of a pool without monitor is NO_MONITOR", func() (bool, string) { s := status(); return s == "NO_MONITOR", s })

		tg.V3HealthMonitor(model.CreateHealthMonitorOption{PoolId: p.Id, Type: "TCP", Delay: 1, Timeout: 1, MaxRetries: 1, MaxRetriesDown: Ptr(int32(1))})
		// Nothing listens at the member's address: INITIAL until the first result, then OFFLINE.
		eventually(t, 2*time.Minute, "the unreachable member goes OFFLINE", func() (bool, string) {
			s := status()
			if s != "INITIAL" && s != "OFFLINE" && s != "NO_MONITOR" {
				t.Fatalf("status %s while the first checks of an unreachable member run; want INITIAL then OFFLINE", s)
			}
			return s == "OFFLINE", s
		})
		for _, c := range []struct {
			status string
			n      int
		}{{"OFFLINE", 1}, {"ONLINE", 0}} {
			r, err := tg.V3.ListMembers(&model.ListMembersRequest{PoolId: p.Id, OperatingStatus: &[]string{c.status}})
			if err != nil {
				t.Fatal(err)
			}
			if len(*r.Members) != c.n {
				t.Errorf("members with operating_status=%s: %d, want %d", c.status, len(*r.Members), c.n)
			}
		}
	})
}

// E6b. Source: DeleteListenerForce in services/elb/v3/elb_client.go ("删除监听器…解绑后端服务器组"):
// the listener goes, its pool is unbound and stays with its members.
func TestListenerForceDeleteUnbindsThePool(t *testing.T) {
	Run(t, func(t *testing.T, tg *Target) {
		_, l, p := tg.V3Stack()
		m := tg.MustV3Member(p.Id, 0, 8080)
		if _, err := tg.V3.DeleteListenerForce(&model.DeleteListenerForceRequest{ListenerId: l.Id}); err != nil {
			t.Fatal(err)
		}
		_, err := tg.V3.ShowListener(&model.ShowListenerRequest{ListenerId: l.Id})
		WantError(t, err, http.StatusNotFound, "")
		sp, err := tg.V3.ShowPool(&model.ShowPoolRequest{PoolId: p.Id})
		if err != nil {
			t.Fatalf("the pool went with the listener: %v", err)
		}
		if len(sp.Pool.Listeners) != 0 {
			t.Errorf("the pool is still bound to %v", sp.Pool.Listeners)
		}
		if _, err := tg.V3.ShowMember(&model.ShowMemberRequest{PoolId: p.Id, MemberId: m.Id}); err != nil {
			t.Errorf("the member went with the listener: %v", err)
		}
	})
}

// E6c. Source: member_deletion_protection_enable in services/elb/v3/model/model_create_pool_option.go:
// member delete, batch delete, pool cascade, listener force and load balancer force are refused.
func TestMemberDeletionProtectionRefusesRemovals(t *testing.T) {
	Run(t, func(t *testing.T, tg *Target) {
		lb, l, p := tg.V3Stack()
		m := tg.MustV3Member(p.Id, 0, 8080)
		protect := func(on bool) error {
			_, err := tg.V3.UpdatePool(&model.UpdatePoolRequest{PoolId: p.Id, Body: &model.UpdatePoolRequestBody{
				Pool: &model.UpdatePoolOption{MemberDeletionProtectionEnable: Ptr(on)}}})
			return err
		}
		if err := protect(true); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = protect(false) }) // before the member's cleanup
		_, err := tg.V3.DeleteMember(&model.DeleteMemberRequest{PoolId: p.Id, MemberId: m.Id})
		want4xx(t, "member delete", err)
		_, err = tg.V3.BatchDeleteMembers(&model.BatchDeleteMembersRequest{PoolId: p.Id, Body: &model.BatchDeleteMembersRequestBody{
			Members: []model.BatchDeleteMembersOption{{Id: &m.Id}}}})
		want4xx(t, "batch delete", err)
		_, err = tg.V3.DeletePoolCascade(&model.DeletePoolCascadeRequest{PoolId: p.Id})
		want4xx(t, "pool cascade delete", err)
		_, err = tg.V3.DeleteListenerForce(&model.DeleteListenerForceRequest{ListenerId: l.Id})
		want4xx(t, "listener force delete", err)
		_, err = tg.V3.DeleteLoadBalancerForce(&model.DeleteLoadBalancerForceRequest{LoadbalancerId: lb.Id})
		want4xx(t, "load balancer force delete", err)
		if _, err := tg.V3.ShowMember(&model.ShowMemberRequest{PoolId: p.Id, MemberId: m.Id}); err != nil {
			t.Fatalf("a refused call removed the member: %v", err)
		}
	})
}

// E6d. Source: ip_target_enable in services/elb/v3/model/model_create_load_balancer_option.go
// ("开启后不能关闭").
func TestIPTargetEnableCannotBeTurnedOff(t *testing.T) {
	Run(t, func(t *testing.T, tg *Target) {
		lb := tg.V3LoadBalancer(model.CreateLoadBalancerOption{IpTargetEnable: Ptr(true)})
		_, err := tg.V3.UpdateLoadBalancer(&model.UpdateLoadBalancerRequest{LoadbalancerId: lb.Id, Body: &model.UpdateLoadBalancerRequestBody{
			Loadbalancer: &model.UpdateLoadBalancerOption{IpTargetEnable: Ptr(false)}}})
		want4xx(t, "turning ip_target_enable off", err)
		got, err := tg.V3.ShowLoadBalancer(&model.ShowLoadBalancerRequest{LoadbalancerId: lb.Id})
		if err != nil {
			t.Fatal(err)
		}
		if !got.Loadbalancer.IpTargetEnable {
			t.Error("ip_target_enable went off")
		}
	})
}

// E6e-E6h, E7. Sources: services/elb/v3/model/model_create_pool_slow_start_option.go (slow_start
// only for HTTP/HTTPS/GRPC pools), model_create_pool_option.go (protocol must suit the listener;
// any_port_enable only TCP/UDP/QUIC; type instance needs vpc_id, ip forbids it),
// model_connection_drain.go (timeout 10-4000).
func TestPoolOptionsAsDocumented(t *testing.T) {
	Run(t, func(t *testing.T, tg *Target) {
		lb, l, _ := tg.V3Stack()
		create := func(opt model.CreatePoolOption) error {
			opt.LbAlgorithm = "ROUND_ROBIN"
			opt.Name = Ptr(tg.NewName())
			if opt.ListenerId == nil {
				opt.LoadbalancerId = &lb.Id
			}
			resp, err := tg.V3.CreatePool(&model.CreatePoolRequest{Body: &model.CreatePoolRequestBody{Pool: &opt}})
			if err == nil { // wrongly accepted: still clean up
				id := resp.Pool.Id
				tg.cleanupDelete("pool "+id, func() error {
					return errOf(tg.V3.DeletePool(&model.DeletePoolRequest{PoolId: id}))
				})
			}
			return err
		}
		for _, c := range []struct {
			what string
			opt  model.CreatePoolOption
		}{
			{"slow_start on a TCP pool", model.CreatePoolOption{Protocol: "TCP", SlowStart: &model.CreatePoolSlowStartOption{Enable: Ptr(true), Duration: Ptr(int32(60))}}},
			{"a UDP pool for a TCP listener", model.CreatePoolOption{Protocol: "UDP", ListenerId: &l.Id}},
			{"any_port_enable on an HTTP pool", model.CreatePoolOption{Protocol: "HTTP", AnyPortEnable: Ptr(true)}},
			{"type instance without vpc_id", model.CreatePoolOption{Protocol: "TCP", Type: Ptr("instance")}},
			{"type ip with vpc_id", model.CreatePoolOption{Protocol: "TCP", Type: Ptr("ip"), VpcId: Ptr(tg.VPCID)}},
			{"connection_drain timeout 5", model.CreatePoolOption{Protocol: "TCP", ConnectionDrain: &model.ConnectionDrain{Enable: Ptr(true), Timeout: Ptr(int32(5))}}},
		} {
			want4xx(t, c.what, create(c.opt))
		}
		if err := create(model.CreatePoolOption{Protocol: "TCP", Type: Ptr("instance"), VpcId: Ptr(tg.VPCID),
			ConnectionDrain: &model.ConnectionDrain{Enable: Ptr(true), Timeout: Ptr(int32(10))}}); err != nil {
			t.Errorf("an instance pool with vpc_id and a 10 s drain was refused: %v", err)
		}
	})
}

// E6i, E6j. Sources: keepalive_timeout in services/elb/v3/model/model_create_listener_option.go
// (TCP/UDP 10-4000 s, default 300); limit in model_list_listeners_request.go (0-2000).
func TestListenerKeepaliveAndListLimitRanges(t *testing.T) {
	Run(t, func(t *testing.T, tg *Target) {
		lb := tg.V3LoadBalancer(model.CreateLoadBalancerOption{})
		for _, ka := range []int32{9, 4001} {
			resp, err := tg.V3.CreateListener(&model.CreateListenerRequest{Body: &model.CreateListenerRequestBody{
				Listener: &model.CreateListenerOption{LoadbalancerId: lb.Id, Protocol: "TCP", ProtocolPort: Ptr(int32(81)), KeepaliveTimeout: Ptr(ka), Name: Ptr(tg.NewName())}}})
			if err == nil {
				id := resp.Listener.Id
				tg.cleanupDelete("listener "+id, func() error {
					return errOf(tg.V3.DeleteListener(&model.DeleteListenerRequest{ListenerId: id}))
				})
			}
			want4xx(t, "a TCP listener with keepalive_timeout out of 10-4000", err)
		}
		if l := tg.V3Listener(lb.Id, "UDP", 53); l.KeepaliveTimeout != 300 {
			t.Errorf("a UDP listener's default keepalive_timeout is %d, want 300", l.KeepaliveTimeout)
		}
		_, err := tg.V3.ListListeners(&model.ListListenersRequest{Limit: Ptr(int32(2001))})
		want4xx(t, "limit 2001", err)
		if _, err := tg.V3.ListListeners(&model.ListListenersRequest{Limit: Ptr(int32(0)), LoadbalancerId: &[]string{lb.Id}}); err != nil {
			t.Errorf("limit 0 was refused: %v", err)
		}
	})
}

// E8. Source: guaranteed in services/elb/v3/model/model_load_balancer.go (false: shared): the v3
// list shows the project's shared load balancers beside the dedicated ones.
func TestV3ListShowsSharedLoadBalancersAsNotGuaranteed(t *testing.T) {
	Run(t, func(t *testing.T, tg *Target) {
		shared := tg.V2LoadBalancer()
		dedicated := tg.V3LoadBalancer(model.CreateLoadBalancerOption{})
		r, err := tg.V3.ListLoadBalancers(&model.ListLoadBalancersRequest{Id: &[]string{shared.Id, dedicated.Id}})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, lb := range *r.Loadbalancers {
			got[lb.Id] = lb.Guaranteed
		}
		if g, ok := got[shared.Id]; !ok || g {
			t.Errorf("v3 list: shared load balancer listed=%v guaranteed=%v; want listed, guaranteed=false", ok, g)
		}
		if g, ok := got[dedicated.Id]; !ok || !g {
			t.Errorf("v3 list: dedicated load balancer listed=%v guaranteed=%v; want listed, guaranteed=true", ok, g)
		}
	})
}

// E9. Sources: ChangeLoadbalancerTags, ShowLoadbalancerTags, ChangeListenerTags, ShowListenerTags,
// ListListenerTags in services/elb/v3/elb_client.go (paths without /elb/); key at most 36
// characters, value at most 255, none of = * < > \ , | / (model_change_resource_tag_option.go).
func TestTagsOfLoadBalancersAndListeners(t *testing.T) {
	Run(t, func(t *testing.T, tg *Target) {
		lb, l, _ := tg.V3Stack()
		create := model.GetChangeLoadbalancerTagsRequestBodyActionEnum().CREATE
		changeLB := func(tags ...model.ChangeResourceTagOption) error {
			_, err := tg.V3.ChangeLoadbalancerTags(&model.ChangeLoadbalancerTagsRequest{LoadbalancerId: lb.Id,
				Body: &model.ChangeLoadbalancerTagsRequestBody{Action: create, Tags: tags}})
			return err
		}
		if err := changeLB(model.ChangeResourceTagOption{Key: "fleetlb-contract", Value: "a"}); err != nil {
			t.Fatal(err)
		}
		want4xx(t, "a 37-character key", changeLB(model.ChangeResourceTagOption{Key: strings.Repeat("k", 37), Value: "v"}))
		want4xx(t, "a key with '/'", changeLB(model.ChangeResourceTagOption{Key: "a/b", Value: "v"}))
		want4xx(t, "a 256-character value", changeLB(model.ChangeResourceTagOption{Key: "k", Value: strings.Repeat("v", 256)}))
		st, err := tg.V3.ShowLoadbalancerTags(&model.ShowLoadbalancerTagsRequest{LoadbalancerId: lb.Id})
		if err != nil {
			t.Fatal(err)
		}
		if st.Tags == nil || len(*st.Tags) != 1 || (*st.Tags)[0].Key != "fleetlb-contract" || (*st.Tags)[0].Value != "a" {
			t.Errorf("load balancer tags %+v, want fleetlb-contract=a only", st.Tags)
		}

		if _, err := tg.V3.ChangeListenerTags(&model.ChangeListenerTagsRequest{ListenerId: l.Id, Body: &model.ChangeListenerTagsRequestBody{
			Action: model.GetChangeListenerTagsRequestBodyActionEnum().CREATE,
			Tags:   []model.ChangeResourceTagOption{{Key: "fleetlb-contract-cluster", Value: "c1"}}}}); err != nil {
			t.Fatal(err)
		}
		sl, err := tg.V3.ShowListenerTags(&model.ShowListenerTagsRequest{ListenerId: l.Id})
		if err != nil {
			t.Fatal(err)
		}
		if sl.Tags == nil || len(*sl.Tags) != 1 || (*sl.Tags)[0].Value != "c1" {
			t.Errorf("listener tags %+v, want fleetlb-contract-cluster=c1", sl.Tags)
		}
		ll, err := tg.V3.ListListenerTags(&model.ListListenerTagsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, tag := range *ll.Tags {
			if tag.Key == "fleetlb-contract-cluster" {
				for _, v := range tag.Values {
					found = found || v == "c1"
				}
			}
		}
		if !found {
			t.Errorf("ListListenerTags does not show fleetlb-contract-cluster=c1: %+v", *ll.Tags)
		}
	})
}
