package contract

import (
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
)

// Row 9d. Source: services/elb/v3/model/model_create_listener_option.go and
// model_update_listener_option.go, TransparentClientIpEnable: a dedicated load balancer's listeners
// of every protocol only take true, and it is true when not given (独享型负载均衡器所有协议的监听器只支持
// 设置为true，不传默认为true). The reference names no error code for false, so any 4xx.
func TestDedicatedListenerTransparentClientIPIsTrue(t *testing.T) {
	Run(t, func(t *testing.T, tg *Target) {
		lb := tg.V3LoadBalancer(model.CreateLoadBalancerOption{})
		l := tg.V3Listener(lb.Id, "TCP", 80)
		showsTrue := func(when string) {
			t.Helper()
			if r, err := tg.V3.ShowListener(&model.ShowListenerRequest{ListenerId: l.Id}); err != nil || !r.Listener.TransparentClientIpEnable {
				t.Errorf("%s, the listener shows transparent_client_ip_enable false (%v); want true", when, err)
			}
		}
		showsTrue("created without the field")
		_, err := tg.V3.CreateListener(&model.CreateListenerRequest{Body: &model.CreateListenerRequestBody{Listener: &model.CreateListenerOption{
			LoadbalancerId: lb.Id, Protocol: "TCP", ProtocolPort: Ptr(int32(81)), Name: Ptr(tg.NewName()), TransparentClientIpEnable: Ptr(false)}}})
		want4xx(t, "create with transparent_client_ip_enable false", err)
		_, err = tg.V3.UpdateListener(&model.UpdateListenerRequest{ListenerId: l.Id, Body: &model.UpdateListenerRequestBody{
			Listener: &model.UpdateListenerOption{TransparentClientIpEnable: Ptr(false)}}})
		want4xx(t, "update to transparent_client_ip_enable false", err)
		showsTrue("after the refused update")
	})
}
