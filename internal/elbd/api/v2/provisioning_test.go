package apiv2_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	elbv2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"

	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
)

// E2: with a provisioning delay, writes racing for one shared load balancer are serialized: one
// wins, the others get the 409 of a busy load balancer.
func TestProvisioningSerializesWritesToOneLoadBalancer(t *testing.T) {
	srv, c, id := provisioningLB(t, time.Hour)
	// A write on a load balancer still PENDING_CREATE is refused.
	_, err := c.CreateListener(&model.CreateListenerRequest{Body: &model.CreateListenerRequestBody{
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

	_, c2, id2 := provisioningLB(t, 2*time.Second) // the racing writes all land within it
	waitActive(t, c2, id2)
	var wg sync.WaitGroup
	var race racing
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c2.CreateListener(&model.CreateListenerRequest{Body: &model.CreateListenerRequestBody{
				Listener: &model.CreateListenerReq{LoadbalancerId: id2, Protocol: model.GetCreateListenerReqProtocolEnum().TCP, ProtocolPort: int32(80 + i)}}})
			race.count(t, fmt.Sprintf("listener %d", i), err)
		}()
	}
	wg.Wait()
	if race.done != 1 || race.busy != 7 {
		t.Errorf("8 racing writes: %d succeeded, %d busy; want 1 and 7", race.done, race.busy)
	}
}

// E2: a deleted shared load balancer is PENDING_DELETE for the window (to its own project only),
// then gone.
func TestDeletedLoadBalancerIsPendingDeleteForTheWindow(t *testing.T) {
	srv, c, id := provisioningLB(t, time.Second)
	waitActive(t, c, id)
	show := func(c interface {
		ShowLoadbalancer(*model.ShowLoadbalancerRequest) (*model.ShowLoadbalancerResponse, error)
	}) (string, error) {
		r, err := c.ShowLoadbalancer(&model.ShowLoadbalancerRequest{LoadbalancerId: id})
		if err != nil {
			return "", err
		}
		return r.Loadbalancer.ProvisioningStatus.Value(), nil
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

// provisioningLB serves elbd with the shared ELB's busy window set to delay (E2) and creates one
// shared load balancer in p1: the server, p1's client (AK1) and the load balancer's ID.
func provisioningLB(t *testing.T, delay time.Duration) (*elbdtest.Server, *elbv2.ElbClient, string) {
	t.Helper()
	srv := elbdtest.Start(t, elbdtest.Config, elbdtest.Options{DataPlane: fixedStatus{}, ProvisioningDelay: delay})
	c := elbdtest.V2Client(t, srv.URL, "AK1", "SK1-secret", "p1")
	lb, err := c.CreateLoadbalancer(&model.CreateLoadbalancerRequest{Body: &model.CreateLoadbalancerRequestBody{
		Loadbalancer: &model.CreateLoadbalancerReq{VipSubnetId: "subnet-a1"}}})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c, lb.Loadbalancer.Id
}

// waitActive waits until the load balancer id is ACTIVE, its window over.
func waitActive(t *testing.T, c *elbv2.ElbClient, id string) {
	t.Helper()
	for {
		s, err := c.ShowLoadbalancer(&model.ShowLoadbalancerRequest{LoadbalancerId: id})
		if err != nil {
			t.Fatal(err)
		}
		if s.Loadbalancer.ProvisioningStatus.Value() == "ACTIVE" {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
