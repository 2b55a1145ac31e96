package apiv2_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"

	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
)

// E2: with a provisioning delay, writes racing for one shared load balancer are serialized: one
// wins, the others get the 409 of a busy load balancer.
func TestProvisioningSerializesWritesToOneLoadBalancer(t *testing.T) {
	srv := elbdtest.Start(t, elbdtest.Config, elbdtest.Options{DataPlane: fixedStatus{}, ProvisioningDelay: time.Hour})
	c := elbdtest.V2Client(t, srv.URL, "AK1", "SK1-secret", "p1")
	lb, err := c.CreateLoadbalancer(&model.CreateLoadbalancerRequest{Body: &model.CreateLoadbalancerRequestBody{
		Loadbalancer: &model.CreateLoadbalancerReq{VipSubnetId: "subnet-a1"}}})
	if err != nil {
		t.Fatal(err)
	}
	id := lb.Loadbalancer.Id
	// A write on a load balancer still PENDING_CREATE is refused.
	_, err = c.CreateListener(&model.CreateListenerRequest{Body: &model.CreateListenerRequestBody{
		Listener: &model.CreateListenerReq{LoadbalancerId: id, Protocol: model.GetCreateListenerReqProtocolEnum().TCP, ProtocolPort: 80}}})
	var se *sdkerr.ServiceResponseError
	if !errors.As(err, &se) || se.StatusCode != 409 {
		t.Fatalf("a listener on a PENDING_CREATE load balancer: %v; want 409", err)
	}

	// Another load balancer, and another project, are not held by the first one's window.
	other := elbdtest.V2Client(t, srv.URL, "AK2", "SK2-secret", "p2")
	if _, err := other.CreateLoadbalancer(&model.CreateLoadbalancerRequest{Body: &model.CreateLoadbalancerRequestBody{
		Loadbalancer: &model.CreateLoadbalancerReq{VipSubnetId: "subnet-b1"}}}); err != nil {
		t.Fatalf("p2's load balancer: %v", err)
	}

	srv2 := elbdtest.Start(t, elbdtest.Config, elbdtest.Options{DataPlane: fixedStatus{}, ProvisioningDelay: 2 * time.Second}) // the racing writes all land within it
	c2 := elbdtest.V2Client(t, srv2.URL, "AK1", "SK1-secret", "p1")
	lb2, err := c2.CreateLoadbalancer(&model.CreateLoadbalancerRequest{Body: &model.CreateLoadbalancerRequestBody{
		Loadbalancer: &model.CreateLoadbalancerReq{VipSubnetId: "subnet-a1"}}})
	if err != nil {
		t.Fatal(err)
	}
	for {
		s, err := c2.ShowLoadbalancer(&model.ShowLoadbalancerRequest{LoadbalancerId: lb2.Loadbalancer.Id})
		if err != nil {
			t.Fatal(err)
		}
		if s.Loadbalancer.ProvisioningStatus.Value() == "ACTIVE" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, busy := 0, 0
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c2.CreateListener(&model.CreateListenerRequest{Body: &model.CreateListenerRequestBody{
				Listener: &model.CreateListenerReq{LoadbalancerId: lb2.Loadbalancer.Id, Protocol: model.GetCreateListenerReqProtocolEnum().TCP, ProtocolPort: int32(80 + i)}}})
			var se *sdkerr.ServiceResponseError
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.As(err, &se) && se.StatusCode == 409:
				busy++
			default:
				t.Errorf("listener %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if ok != 1 || busy != 7 {
		t.Errorf("8 racing writes: %d succeeded, %d busy; want 1 and 7", ok, busy)
	}
}

// E2: a deleted shared load balancer is PENDING_DELETE for the window (to its own project only),
// then gone.
func TestDeletedLoadBalancerIsPendingDeleteForTheWindow(t *testing.T) {
	srv := elbdtest.Start(t, elbdtest.Config, elbdtest.Options{DataPlane: fixedStatus{}, ProvisioningDelay: time.Second})
	c := elbdtest.V2Client(t, srv.URL, "AK1", "SK1-secret", "p1")
	lb, err := c.CreateLoadbalancer(&model.CreateLoadbalancerRequest{Body: &model.CreateLoadbalancerRequestBody{
		Loadbalancer: &model.CreateLoadbalancerReq{VipSubnetId: "subnet-a1"}}})
	if err != nil {
		t.Fatal(err)
	}
	id := lb.Loadbalancer.Id
	show := func(c interface {
		ShowLoadbalancer(*model.ShowLoadbalancerRequest) (*model.ShowLoadbalancerResponse, error)
	}) (string, error) {
		r, err := c.ShowLoadbalancer(&model.ShowLoadbalancerRequest{LoadbalancerId: id})
		if err != nil {
			return "", err
		}
		return r.Loadbalancer.ProvisioningStatus.Value(), nil
	}
	for {
		st, err := show(c)
		if err != nil {
			t.Fatal(err)
		}
		if st == "ACTIVE" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := c.DeleteLoadbalancer(&model.DeleteLoadbalancerRequest{LoadbalancerId: id}); err != nil {
		t.Fatal(err)
	}
	if st, err := show(c); err != nil || st != "PENDING_DELETE" {
		t.Errorf("right after the delete: %q, %v; want PENDING_DELETE", st, err)
	}
	var se *sdkerr.ServiceResponseError
	if _, err := show(elbdtest.V2Client(t, srv.URL, "AK2", "SK2-secret", "p2")); !errors.As(err, &se) || se.StatusCode != 404 {
		t.Errorf("another project sees the deleted load balancer: %v; want 404", err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		_, err := show(c)
		if errors.As(err, &se) && se.StatusCode == 404 {
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("the deleted load balancer is still shown (%v)", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
