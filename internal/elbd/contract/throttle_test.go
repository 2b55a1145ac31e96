package contract

import (
	"net/http"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"

	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// elbdSlowKey lets AK1 make 3 calls at once and then one every 10 s; AK2 has the top-level 1000/s.
const elbdSlowKey = `
rateLimit:
  requestsPerSecond: 1000
credentials:
  - accessKey: AK1
    secretKey: SK1-secret
    projectID: p1
    rateLimit:
      requestsPerSecond: 0.1
      burst: 3
  - accessKey: AK2
    secretKey: SK2-secret
    projectID: p2
` + elbdtest.VPCs

// E3. Source: the Huawei Cloud FAQ "How Do I Handle the Error APIG.0308?" (429, error_code
// APIG.0308, "The throttling threshold has been reached: policy user over ratelimit,limit:XX,time:1
// second"). The real gateway's rates are too high to reach politely, so this runs against elbd only.
func TestOverRateCallsAreThrottled(t *testing.T) {
	RunWith(t, Elbd{Config: elbdSlowKey}, func(t *testing.T, tg *Target) {
		if tg.Real() {
			t.Skip("reaching the real gateway's rate would hammer it; elbd only")
		}
		list := func() error {
			_, err := tg.V3.ListLoadBalancers(&model.ListLoadBalancersRequest{})
			return err
		}
		for i := range 3 {
			if err := list(); err != nil {
				t.Fatalf("call %d within the burst: %v", i, err)
			}
		}
		WantError(t, list(), http.StatusTooManyRequests, "APIG.0308", "The throttling threshold has been reached", "limit:0.1,time:1 second")
		// A write over the rate is refused before it is done.
		_, err := tg.V3.CreateLoadBalancer(&model.CreateLoadBalancerRequest{Body: &model.CreateLoadBalancerRequestBody{
			Loadbalancer: &model.CreateLoadBalancerOption{Name: Ptr(tg.NewName()), VipSubnetCidrId: Ptr(tg.SubnetID)}}})
		WantError(t, err, http.StatusTooManyRequests, "APIG.0308")
		if lbs, err := tg.Elbd.Store.ListLoadBalancers(store.Scope{Family: store.FamilyV3, ProjectID: "p1"}); err != nil || len(lbs) != 0 {
			t.Errorf("the throttled create left %d load balancers (%v)", len(lbs), err)
		}
		// The rate is per access key: another key is not held back.
		other := elbdtest.V3Client(t, tg.Elbd.URL, "AK2", "SK2-secret", "p2")
		for i := range 10 {
			if _, err := other.ListLoadBalancers(&model.ListLoadBalancersRequest{}); err != nil {
				t.Fatalf("AK2's call %d: %v", i, err)
			}
		}
	})
}
