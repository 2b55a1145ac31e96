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

// memberUsageReader is implemented by clients that can read the project's member usage
// (elbclient.SDK.ProjectMemberUsage, ListQuotaDetails).
type memberUsageReader interface {
	ProjectMemberUsage(ctx context.Context) (limit, used int, err error)
}

// isQuota recognises the ELB's quota refusals: "Quota exceeded for resources: ..." and "Create
// member failed, the total amount of members exceeds the system setting" (the ELB API's error
// code table), whatever the status code.
func isQuota(ae *elbclient.APIError) bool {
	m := strings.ToLower(ae.Message + " " + ae.Code)
	return strings.Contains(m, "quota") || strings.Contains(m, "exceeds the system setting")
}

var (
	quotaNumber = regexp.MustCompile(`(?i)quota\D*(\d+)`)
	usedNumber  = regexp.MustCompile(`(\d+) used`)
)

// quotaRefusal turns a quota refusal of an addition into a *Refusal that says how many members
// were wanted, what the quota is and how many fit; any other error gives nil. The quota is read
// with ShowQuota (services/elb/v3/model/model_quota.go: members_per_pool, member; -1 unlimited);
// without it, from the refusal's text.
func (d *Deployer) quotaRefusal(ctx context.Context, err error, o *observed, plan memberPlan, have []elbclient.Member) *Refusal {
	var ae *elbclient.APIError
	if !errors.As(err, &ae) || !isQuota(ae) {
		return nil
	}
	adding := len(plan.add) + len(plan.readd)
	inPool := len(have) - len(plan.remove)
	// Which quota: the project's member count, or the pool's (the default when not named).
	project := strings.Contains(ae.Message, "'member'")
	quota, source := -1, "members_per_pool"
	if project {
		source = "member, per project"
	}
	if q, ok := d.client.(memberQuotaReader); ok {
		if perPool, total, qerr := q.MemberQuota(ctx); qerr == nil {
			quota = perPool
			if project {
				quota = total
			}
		}
	}
	if quota < 0 {
		// No quota API: the refusal's own text is the only source ("... quota 100 ...").
		if m := quotaNumber.FindStringSubmatch(ae.Message); m != nil {
			quota, _ = strconv.Atoi(m[1])
			source += ", from the ELB's message"
		}
	}
	var numbers string
	switch {
	case quota >= 0 && !project:
		numbers = fmt.Sprintf("this cluster wants %d more members; the quota is %d (%s) and the pool holds %d, so %d fit", adding, quota, source, inPool, max(quota-inPool, 0))
	case quota >= 0:
		fit := "how many fit could not be read"
		used := -1
		if u, ok := d.client.(memberUsageReader); ok {
			if limit, n, uerr := u.ProjectMemberUsage(ctx); uerr == nil && limit == quota {
				used = n
			}
		}
		if m := usedNumber.FindStringSubmatch(ae.Message); used < 0 && m != nil {
			used, _ = strconv.Atoi(m[1])
		}
		if used >= 0 {
			fit = fmt.Sprintf("%d are used, so %d fit", used, max(quota-used, 0))
		}
		numbers = fmt.Sprintf("this cluster wants %d more members; the quota is %d (%s): %s", adding, quota, source, fit)
	default:
		numbers = fmt.Sprintf("this cluster wants %d more members and the pool holds %d; the quota could not be read", adding, inPool)
	}
	return refuse(ReasonMemberQuota, "ELB refused to add members to pool %s (%s): %s. %s; raise the ELB member quota or serve fewer endpoints from this cluster (removals and weight changes were applied)",
		o.pool.ID, o, ae.Message, numbers)
}
