package contract

import (
	"net/http"
	"testing"

	v2model "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"

	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
)

// E1. Source: the SDK's services/elb/v3/model/model_quota.go (ShowQuota: every quota, -1 unlimited)
// and the user guide's "Quotas and Constraints" (defaults per account: 50 load balancers, 100
// listeners, 500 pools, 500 members, 500 members per pool, 50 listeners per load balancer).
func TestShowQuotaAnswersEveryQuota(t *testing.T) {
	Run(t, func(t *testing.T, tg *Target) {
		resp, err := tg.V3.ShowQuota(&model.ShowQuotaRequest{})
		if err != nil {
			t.Fatal(err)
		}
		q := resp.Quota
		if q == nil || q.ProjectId != tg.ProjectID {
			t.Fatalf("quota %v: want the quotas of project %s", q, tg.ProjectID)
		}
		got := map[string]int32{"loadbalancer": q.Loadbalancer, "listener": q.Listener, "pool": q.Pool,
			"member": q.Member, "members_per_pool": q.MembersPerPool, "listeners_per_loadbalancer": q.ListenersPerLoadbalancer}
		for k, v := range got {
			if v < -1 || v == 0 {
				t.Errorf("%s quota is %d; want -1 (unlimited) or a positive count", k, v)
			}
		}
		if tg.Real() {
			return // the project's own quotas; the defaults below are elbd's unconfigured ones
		}
		want := map[string]int32{"loadbalancer": 50, "listener": 100, "pool": 500, "member": 500, "members_per_pool": 500, "listeners_per_loadbalancer": 50}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s quota is %d; the real default is %d", k, got[k], v)
			}
		}
		if q.Healthmonitor != -1 {
			t.Errorf("healthmonitor quota is %d; the API reference's example shows -1", q.Healthmonitor)
		}
	})
}

// quotaUsage is ListQuotaDetails as quota_key → (limit, used).
func quotaUsage(t *testing.T, tg *Target, keys ...string) map[string][2]int32 {
	t.Helper()
	resp, err := tg.V3.ListQuotaDetails(&model.ListQuotaDetailsRequest{QuotaKey: &keys})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][2]int32{}
	for _, q := range *resp.Quotas {
		if q.Unit != "count" {
			t.Errorf("%s: unit %q, want count", q.QuotaKey, q.Unit)
		}
		out[q.QuotaKey] = [2]int32{q.QuotaLimit, q.Used}
	}
	return out
}

// E1. Source: the SDK's services/elb/v3/model/model_quota_info.go and model_list_quota_details_request.go
// (ListQuotaDetails: quota_key filter, repeatable; quota_limit and used per quota).
func TestListQuotaDetailsCountsWhatIsUsed(t *testing.T) {
	Run(t, func(t *testing.T, tg *Target) {
		keys := []string{"loadbalancer", "listener", "pool", "member"}
		before := quotaUsage(t, tg, keys...)
		if len(before) != len(keys) {
			t.Fatalf("asked for %v, got %v", keys, before)
		}
		_, _, p := tg.V3Stack()
		tg.MustV3Member(p.Id, 0, 8080)
		after := quotaUsage(t, tg, keys...)
		for _, k := range keys {
			if after[k][1] != before[k][1]+1 {
				t.Errorf("%s: used %d before, %d after creating one; want one more", k, before[k][1], after[k][1])
			}
			if after[k][0] != before[k][0] {
				t.Errorf("%s: the limit changed from %d to %d", k, before[k][0], after[k][0])
			}
		}
		if tg.Real() {
			return
		}
		resp, err := tg.V3.ListQuotaDetails(&model.ListQuotaDetailsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(*resp.Quotas); n != 20 {
			t.Errorf("without quota_key %d quotas are listed; want all 20 of model_quota.go", n)
		}
	})
}

// elbdSmallQuotas gives project p1 room for 3 members (2 per pool) and 1 load balancer, the
// other projects the top-level 2 load balancers: the shape of quotas: and projects[].quotas.
const elbdSmallQuotas = `
quotas:
  loadbalancer: 2
projects:
  - id: p1
    quotas:
      loadbalancer: 1
      member: 3
      members_per_pool: 2
`

// E1. Source: the user guide's "Quotas and Constraints" (creates beyond a quota fail) and the
// SDK's services/elb/v3/model/model_quota.go (the quota names). A test cannot set the real
// cloud's quotas, so this one runs against elbd only.
func TestCreateOverQuotaIsRefusedAndAddsNothing(t *testing.T) {
	RunWith(t, Elbd{Config: elbdtest.Config + elbdSmallQuotas}, func(t *testing.T, tg *Target) {
		if tg.Real() {
			t.Skip("needs a project whose quotas the test sets; elbd only")
		}
		lb, _, p := tg.V3Stack()
		_, err := tg.V3.CreateLoadBalancer(&model.CreateLoadBalancerRequest{Body: &model.CreateLoadBalancerRequestBody{
			Loadbalancer: &model.CreateLoadBalancerOption{Name: Ptr(tg.NewName()), VipSubnetCidrId: Ptr(tg.SubnetID)}}})
		WantError(t, err, http.StatusConflict, "ELB.8907", "Quota exceeded", "loadbalancer", "is 1", "1 used")
		// Quotas are per project, shared by both API families: no room for a shared one either.
		_, err = tg.V2.CreateLoadbalancer(&v2model.CreateLoadbalancerRequest{Body: &v2model.CreateLoadbalancerRequestBody{
			Loadbalancer: &v2model.CreateLoadbalancerReq{VipSubnetId: tg.SubnetID, Name: Ptr(tg.NewName())}}})
		WantError(t, err, http.StatusConflict, "ELB.8907", "Quota exceeded", "loadbalancer", "is 1", "1 used")

		p2 := tg.V3Pool(model.CreatePoolOption{Protocol: "TCP", LoadbalancerId: Ptr(lb.Id)})
		for i := range 2 {
			tg.MustV3Member(p.Id, i, 8080)
		}
		_, err = tg.V3Member(p.Id, 2, 8080)
		WantError(t, err, http.StatusConflict, "ELB.8907", "members_per_pool", "pool "+p.Id, "is 2", "2 used")

		// A batch that would pass the member quota (2 used + 2 > 3) adds nobody, not even the one that fits.
		batch := []model.BatchCreateMembersOption{
			{Address: tg.MemberAddress(10), ProtocolPort: 8080, SubnetCidrId: Ptr(tg.SubnetID)},
			{Address: tg.MemberAddress(11), ProtocolPort: 8080, SubnetCidrId: Ptr(tg.SubnetID)},
		}
		_, err = tg.V3.BatchCreateMembers(&model.BatchCreateMembersRequest{PoolId: p2.Id, Body: &model.BatchCreateMembersRequestBody{Members: batch}})
		WantError(t, err, http.StatusConflict, "ELB.8907", "'member'", "is 3", "2 used", "adds 2")
		ms, err := tg.V3.ListMembers(&model.ListMembersRequest{PoolId: p2.Id})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(*ms.Members); n != 0 {
			t.Errorf("the refused batch added %d members", n)
		}
		u := quotaUsage(t, tg, "member", "members_per_pool", "loadbalancer")
		if u["member"] != [2]int32{3, 2} || u["members_per_pool"] != [2]int32{2, 2} || u["loadbalancer"] != [2]int32{1, 1} {
			t.Errorf("quota details %v; want member 3/2 used, members_per_pool 2/2, loadbalancer 1/1", u)
		}

		// The batch that fits is taken; the member quota is then full for single creates too.
		resp, err := tg.V3.BatchCreateMembers(&model.BatchCreateMembersRequest{PoolId: p2.Id, Body: &model.BatchCreateMembersRequestBody{Members: batch[:1]}})
		if err != nil {
			t.Fatal(err)
		}
		tg.CleanupV3Member(p2.Id, (*resp.Members)[0].Id)
		_, err = tg.V3Member(p2.Id, 12, 8080)
		WantError(t, err, http.StatusConflict, "ELB.8907", "'member'", "is 3", "3 used", "adds 1")

		// Another project has the top-level quota (2 load balancers), not p1's.
		other := elbdtest.V3Client(t, tg.Elbd.URL, "AK2", "SK2-secret", "p2")
		q, err := other.ShowQuota(&model.ShowQuotaRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if q.Quota.Loadbalancer != 2 || q.Quota.Member != 500 {
			t.Errorf("project p2: loadbalancer quota %d, member %d; want 2 (quotas:) and 500 (default)", q.Quota.Loadbalancer, q.Quota.Member)
		}
	})
}
