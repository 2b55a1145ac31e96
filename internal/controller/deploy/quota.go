package deploy

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
)

// ReasonMemberQuota: the ELB refused to add members because of a quota (C2). The other ports,
// and the removals and weight changes of this one, were applied.
const ReasonMemberQuota = "MemberQuotaExceeded"

// memberQuotaReader is implemented by clients that can read the project's member quotas
// (elbclient.SDK.MemberQuota, ShowQuota).
type memberQuotaReader interface {
	MemberQuota(ctx context.Context) (perPool, total int, err error)
}

// isQuota recognises the ELB's quota refusals: "Quota exceeded for resources: ..." and "Create
// member failed, the total amount of members exceeds the system setting" (the ELB API's error
// code table), whatever the status code.
func isQuota(ae *elbclient.APIError) bool {
	m := strings.ToLower(ae.Message + " " + ae.Code)
	return strings.Contains(m, "quota") || strings.Contains(m, "exceeds the system setting")
}

var firstNumber = regexp.MustCompile(`\d+`)

// quotaRefusal turns a quota refusal of an addition into a *Refusal that says how many members
// were wanted, what the quota is and how many fit; any other error gives nil.
func (d *Deployer) quotaRefusal(ctx context.Context, err error, o *observed, plan memberPlan, have []elbclient.Member) *Refusal {
	var ae *elbclient.APIError
	if !errors.As(err, &ae) || !isQuota(ae) {
		return nil
	}
	adding := len(plan.add) + len(plan.readd)
	inPool := len(have) - len(plan.remove)
	quota, source := -1, ""
	if q, ok := d.client.(memberQuotaReader); ok {
		if perPool, total, qerr := q.MemberQuota(ctx); qerr == nil {
			switch {
			case perPool >= 0:
				quota, source = perPool, "members_per_pool"
			case total >= 0:
				quota, source = total, "member (project)"
			}
		}
	}
	if quota < 0 {
		// No quota API: the refusal's own text is the only source ("... quota 100 ...").
		if n := firstNumber.FindString(ae.Message); n != "" {
			quota, _ = strconv.Atoi(n)
			source = "from the ELB's message"
		}
	}
	var numbers string
	if quota >= 0 {
		fit := max(quota-inPool, 0)
		numbers = fmt.Sprintf("this cluster wants %d more members; the quota is %d (%s) and the pool holds %d, so %d fit", adding, quota, source, inPool, fit)
	} else {
		numbers = fmt.Sprintf("this cluster wants %d more members and the pool holds %d; the quota could not be read", adding, inPool)
	}
	return refuse(ReasonMemberQuota, "ELB refused to add members to pool %s (%s): %s. %s; raise the ELB member quota or serve fewer endpoints from this cluster (removals and weight changes were applied)",
		o.pool.ID, o, ae.Message, numbers)
}
