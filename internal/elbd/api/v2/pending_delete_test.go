package apiv2_test

import (
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"
)

// E2 (issue 13: "another write to the same load balancer meanwhile gets a 409"): a shared load
// balancer deleted within the provisioning delay is shown PENDING_DELETE, and a write to it in
// that window (a second delete, an update, a listener on it) is the 409 of a busy load balancer,
// as Neutron LBaaS answers "Invalid state PENDING_DELETE", not a 404 for an object still shown.
func TestWritesToAPendingDeleteLoadBalancerAreBusy(t *testing.T) {
	const delay = 3 * time.Second // the writes below all land within it
	_, c, id := provisioningLB(t, delay)
	show := func() (string, error) {
		s, err := c.ShowLoadbalancer(&model.ShowLoadbalancerRequest{LoadbalancerId: id})
		if err != nil {
			return "", err
		}
		return s.Loadbalancer.ProvisioningStatus.Value(), nil
	}
	waitActive(t, c, id)
	if _, err := c.DeleteLoadbalancer(&model.DeleteLoadbalancerRequest{LoadbalancerId: id}); err != nil {
		t.Fatal(err)
	}
	_, err := c.DeleteLoadbalancer(&model.DeleteLoadbalancerRequest{LoadbalancerId: id})
	wantAPIError(t, "a second delete", err, 409, "ELB.8907", "Invalid state PENDING_DELETE of loadbalancer resource "+id)
	_, err = c.UpdateLoadbalancer(&model.UpdateLoadbalancerRequest{LoadbalancerId: id, Body: &model.UpdateLoadbalancerRequestBody{
		Loadbalancer: &model.UpdateLoadbalancerReq{Name: ptr("x")}}})
	wantAPIError(t, "an update", err, 409, "ELB.8907", "Invalid state PENDING_DELETE")
	_, err = c.CreateListener(&model.CreateListenerRequest{Body: &model.CreateListenerRequestBody{
		Listener: &model.CreateListenerReq{LoadbalancerId: id, Protocol: model.GetCreateListenerReqProtocolEnum().TCP, ProtocolPort: 80}}})
	wantAPIError(t, "a listener on it", err, 409, "ELB.8907", "Invalid state PENDING_DELETE")
	if st, err := show(); err != nil || st != "PENDING_DELETE" {
		t.Fatalf("after the refused writes the load balancer shows %q, %v; want PENDING_DELETE (is the machine slower than the %s window?)", st, err, delay)
	}
}
