package contract

import (
	"net/http"
	"testing"
	"time"

	v2model "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"
	v3model "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
)

// busyWindow is the in-process elbd's --provisioning-delay in these tests: long enough that the
// calls right after a write land inside it on a loaded machine.
const busyWindow = 1500 * time.Millisecond

// E2. Source: the SDK's services/elb/v2/model/model_loadbalancer_resp.go (provisioning_status
// ACTIVE, PENDING_CREATE, PENDING_UPDATE, ...) and model_*_in_status_resp.go (the same per object
// in ShowLoadbalancersStatus); the shared ELB applies changes asynchronously and refuses writes to a
// load balancer that is not ACTIVE with 409 ("Invalid state PENDING_UPDATE of loadbalancer
// resource", as Neutron LBaaS, whose API the shared ELB's v2 follows). On the real cloud the window
// is the cloud's own, so only what is seen is checked there: a refused write is a 409, and writes
// succeed once the load balancer is ACTIVE.
func TestSharedLoadBalancerIsBusyWhileProvisioning(t *testing.T) {
	RunWith(t, Elbd{ProvisioningDelay: busyWindow}, func(t *testing.T, tg *Target) {
		resp, err := tg.V2.CreateLoadbalancer(&v2model.CreateLoadbalancerRequest{Body: &v2model.CreateLoadbalancerRequestBody{
			Loadbalancer: &v2model.CreateLoadbalancerReq{VipSubnetId: tg.SubnetID, Name: Ptr(tg.NewName())}}})
		if err != nil {
			t.Fatal(err)
		}
		lb := resp.Loadbalancer
		tg.cleanupDelete("shared load balancer "+lb.Id, func() error {
			return errOf(tg.V2.DeleteLoadbalancer(&v2model.DeleteLoadbalancerRequest{LoadbalancerId: lb.Id}))
		})
		strict := !tg.Real()
		if st := lb.ProvisioningStatus.Value(); strict && st != "PENDING_CREATE" {
			t.Errorf("a new shared load balancer is %s, want PENDING_CREATE", st)
		}
		tcp := v2model.GetCreateListenerReqProtocolEnum().TCP
		newListener := func(port int32) (*v2model.CreateListenerResponse, error) {
			return tg.V2.CreateListener(&v2model.CreateListenerRequest{Body: &v2model.CreateListenerRequestBody{
				Listener: &v2model.CreateListenerReq{LoadbalancerId: lb.Id, Protocol: tcp, ProtocolPort: port, Name: Ptr(tg.NewName())}}})
		}
		busyListener, err := newListener(81)
		switch {
		case err != nil && strict:
			WantError(t, err, http.StatusConflict, "ELB.8907", "Invalid state PENDING_CREATE of loadbalancer resource "+lb.Id)
		case err != nil:
			WantError(t, err, http.StatusConflict, "") // the real message is the cloud's own
		case strict:
			t.Fatalf("a listener was created on a load balancer still PENDING_CREATE: %v", busyListener.Listener.Id)
		default:
			tg.cleanupDelete("shared listener "+busyListener.Listener.Id, func() error {
				return errOf(tg.V2.DeleteListener(&v2model.DeleteListenerRequest{ListenerId: busyListener.Listener.Id}))
			})
		}
		tg.WaitV2Active(lb.Id)

		lr, err := newListener(80)
		if err != nil {
			t.Fatalf("a write once the load balancer is ACTIVE: %v", err)
		}
		l := lr.Listener
		tg.cleanupDelete("shared listener "+l.Id, func() error {
			return errOf(tg.V2.DeleteListener(&v2model.DeleteListenerRequest{ListenerId: l.Id}))
		})
		if strict {
			if st := tg.V2ProvisioningStatus(lb.Id); st != "PENDING_UPDATE" {
				t.Errorf("after adding a listener the load balancer is %s, want PENDING_UPDATE", st)
			}
			tree, err := tg.V2.ShowLoadbalancersStatus(&v2model.ShowLoadbalancersStatusRequest{LoadbalancerId: lb.Id})
			if err != nil {
				t.Fatal(err)
			}
			ls := tree.Statuses.Loadbalancer.Listeners
			if len(ls) != 1 || ls[0].ProvisioningStatus != "PENDING_CREATE" {
				t.Errorf("the new listener in the status tree: %+v; want PENDING_CREATE", ls)
			}
			_, err = tg.V2.UpdateLoadbalancer(&v2model.UpdateLoadbalancerRequest{LoadbalancerId: lb.Id,
				Body: &v2model.UpdateLoadbalancerRequestBody{Loadbalancer: &v2model.UpdateLoadbalancerReq{Description: Ptr("busy")}}})
			WantError(t, err, http.StatusConflict, "ELB.8907", "Invalid state PENDING_UPDATE of loadbalancer resource "+lb.Id)
		}
		tg.WaitV2Active(lb.Id)
		if _, err := tg.V2.UpdateLoadbalancer(&v2model.UpdateLoadbalancerRequest{LoadbalancerId: lb.Id,
			Body: &v2model.UpdateLoadbalancerRequestBody{Loadbalancer: &v2model.UpdateLoadbalancerReq{Description: Ptr("idle")}}}); err != nil {
			t.Fatalf("an update once ACTIVE again: %v", err)
		}
	})
}

// E2. Source: the SDK's services/elb/v3/model/model_load_balancer.go (provisioning_status of a
// dedicated load balancer) and model_listener.go / model_pool.go / model_member.go, which carry no
// provisioning status: the dedicated ELB's API is synchronous, a write may follow a write at once.
func TestDedicatedLoadBalancerIsNeverBusy(t *testing.T) {
	RunWith(t, Elbd{ProvisioningDelay: busyWindow}, func(t *testing.T, tg *Target) {
		lb, l, p := tg.V3Stack() // four writes in a row on one load balancer
		tg.MustV3Member(p.Id, 0, 8080)
		if _, err := tg.V3.UpdateListener(&v3model.UpdateListenerRequest{ListenerId: l.Id,
			Body: &v3model.UpdateListenerRequestBody{Listener: &v3model.UpdateListenerOption{Description: Ptr("at once")}}}); err != nil {
			t.Fatalf("a write right after others: %v", err)
		}
		got, err := tg.V3.ShowLoadBalancer(&v3model.ShowLoadBalancerRequest{LoadbalancerId: lb.Id})
		if err != nil {
			t.Fatal(err)
		}
		if got.Loadbalancer.ProvisioningStatus != "ACTIVE" {
			t.Errorf("dedicated load balancer is %s after writes, want ACTIVE", got.Loadbalancer.ProvisioningStatus)
		}
	})
}
