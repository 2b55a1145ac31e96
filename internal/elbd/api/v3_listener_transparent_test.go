package api_test

import (
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
)

// A dedicated (v3) load balancer's listeners only take transparent_client_ip_enable true, their
// default (services/elb/v3/model/model_create_listener_option.go, model_update_listener_option.go):
// left out it is true; false is refused on create and update, and nothing is created or changed.
func TestListenerTransparentClientIPOnlyTrue(t *testing.T) {
	_, c, lb := newEnvLB(t, false)
	const msg = "dedicated load balancers only support transparent_client_ip_enable true; leave it out or set true"
	show := func(id string) *model.Listener {
		t.Helper()
		return must[*model.ShowListenerResponse](t)(c.ShowListener(&model.ShowListenerRequest{ListenerId: id})).Listener
	}

	for i, proto := range []string{"TCP", "UDP", "HTTP"} {
		created := must[*model.CreateListenerResponse](t)(c.CreateListener(&model.CreateListenerRequest{Body: &model.CreateListenerRequestBody{
			Listener: &model.CreateListenerOption{LoadbalancerId: lb.Id, Protocol: proto, ProtocolPort: ptr(int32(80 + i))}}}))
		if l := show(created.Listener.Id); !l.TransparentClientIpEnable {
			t.Errorf("%s listener created without transparent_client_ip_enable shows %v, want true", proto, l.TransparentClientIpEnable)
		}
	}

	_, err := c.CreateListener(&model.CreateListenerRequest{Body: &model.CreateListenerRequestBody{
		Listener: &model.CreateListenerOption{LoadbalancerId: lb.Id, Protocol: "TCP", ProtocolPort: ptr(int32(90)), TransparentClientIpEnable: ptr(false)}}})
	wantErr(t, err, 400, "ELB.8902", msg)
	ls := must[*model.ListListenersResponse](t)(c.ListListeners(&model.ListListenersRequest{LoadbalancerId: &[]string{lb.Id}}))
	if len(*ls.Listeners) != 3 {
		t.Fatalf("after the refused create the load balancer has %d listeners, want the 3 created before", len(*ls.Listeners))
	}

	l := must[*model.CreateListenerResponse](t)(c.CreateListener(&model.CreateListenerRequest{Body: &model.CreateListenerRequestBody{
		Listener: &model.CreateListenerOption{LoadbalancerId: lb.Id, Protocol: "TCP", ProtocolPort: ptr(int32(90)), TransparentClientIpEnable: ptr(true)}}})).Listener
	if !l.TransparentClientIpEnable {
		t.Fatalf("created with transparent_client_ip_enable true, answered %v", l.TransparentClientIpEnable)
	}

	_, err = c.UpdateListener(&model.UpdateListenerRequest{ListenerId: l.Id, Body: &model.UpdateListenerRequestBody{
		Listener: &model.UpdateListenerOption{Name: ptr("renamed"), TransparentClientIpEnable: ptr(false)}}})
	wantErr(t, err, 400, "ELB.8902", msg)
	if after := show(l.Id); !after.TransparentClientIpEnable || after.Name != l.Name {
		t.Fatalf("after the refused update the listener is named %q with transparent_client_ip_enable %v; want %q, true", after.Name, after.TransparentClientIpEnable, l.Name)
	}
	up := must[*model.UpdateListenerResponse](t)(c.UpdateListener(&model.UpdateListenerRequest{ListenerId: l.Id, Body: &model.UpdateListenerRequestBody{
		Listener: &model.UpdateListenerOption{Name: ptr("renamed"), TransparentClientIpEnable: ptr(true)}}}))
	if !up.Listener.TransparentClientIpEnable || up.Listener.Name != "renamed" {
		t.Fatalf("update with transparent_client_ip_enable true answered name %q, %v", up.Listener.Name, up.Listener.TransparentClientIpEnable)
	}
}
