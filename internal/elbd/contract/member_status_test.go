package contract

import (
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
)

// E4. Source: services/elb/v3/model/model_member.go operating_status (INITIAL: checked, no result
// yet; ONLINE / OFFLINE after the checks) and model_create_health_monitor_option.go
// (max_retries_down: consecutive failures before a member is judged OFFLINE). A member nobody
// answers at is never ONLINE: it is INITIAL while its failed checks are short of max_retries_down,
// then OFFLINE. With max_retries_down above 1 there is a window with failed checks and no verdict;
// the member must not be shown ONLINE in it.
func TestUnreachableMemberIsNeverShownOnline(t *testing.T) {
	RunWith(t, Elbd{RealDataPlane: true}, func(t *testing.T, tg *Target) {
		_, _, p := tg.V3Stack()
		tg.V3HealthMonitor(model.CreateHealthMonitorOption{PoolId: p.Id, Type: "TCP", Delay: 1, Timeout: 1, MaxRetries: 1, MaxRetriesDown: Ptr(int32(3))})
		// Nothing listens at the member's address.
		m := tg.MustV3Member(p.Id, 0, 8080)
		var seen []string
		deadline := time.Now().Add(2 * time.Minute)
		for {
			r, err := tg.V3.ShowMember(&model.ShowMemberRequest{PoolId: p.Id, MemberId: m.Id})
			if err != nil {
				t.Fatal(err)
			}
			s := r.Member.OperatingStatus
			if len(seen) == 0 || seen[len(seen)-1] != s {
				seen = append(seen, s)
			}
			if s == "ONLINE" {
				t.Fatalf("the unreachable member was shown ONLINE (statuses seen: %v); want INITIAL until max_retries_down failures, then OFFLINE", seen)
			}
			if s == "OFFLINE" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the unreachable member never went OFFLINE (statuses seen: %v)", seen)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}
