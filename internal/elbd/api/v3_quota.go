package api

import (
	"net/http"
	"strings"

	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/config"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// showQuota answers ShowQuota (GET /v3/{project_id}/elb/quotas): the project's quotas in the shape
// of the SDK's services/elb/v3/model/model_quota.go, every field a limit, -1 unlimited (E1).
func (h *v3) showQuota(r *http.Request, sc store.Scope) (int, any, error) {
	q := map[string]any{"project_id": sc.ProjectID}
	for k, v := range h.st.Quotas(sc.ProjectID) {
		q[k] = v
	}
	return replied(r, http.StatusOK, "quota", q)
}

// v3QuotaInfo is the SDK's model_quota_info.go.
type v3QuotaInfo struct {
	QuotaKey   string `json:"quota_key"`
	QuotaLimit int    `json:"quota_limit"`
	Used       int    `json:"used"`
	Unit       string `json:"unit"`
}

// listQuotaDetails answers ListQuotaDetails (GET /v3/{project_id}/elb/quotas/details, optional
// repeated quota_key): each quota with what the project uses of it (E1). An unknown quota_key is
// a 400 naming the known ones.
func (h *v3) listQuotaDetails(r *http.Request, sc store.Scope) (int, any, error) {
	keys := r.URL.Query()["quota_key"]
	limits := h.st.Quotas(sc.ProjectID)
	for _, k := range keys {
		if _, ok := limits[k]; !ok {
			return 0, nil, apierr.Invalid("quota_key %q is not a quota; the quota keys are %s", k, strings.Join(config.QuotaKeys(), ", "))
		}
	}
	if len(keys) == 0 {
		keys = config.QuotaKeys()
	}
	used, err := h.st.QuotaUsage(sc.ProjectID)
	if err != nil {
		return 0, nil, err
	}
	out := make([]v3QuotaInfo, 0, len(keys))
	seen := map[string]bool{}
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, v3QuotaInfo{QuotaKey: k, QuotaLimit: limits[k], Used: used[k], Unit: "count"})
		}
	}
	return http.StatusOK, map[string]any{"quotas": out, "request_id": apierr.RequestID(r)}, nil
}
