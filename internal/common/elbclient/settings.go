package elbclient

import (
	"context"

	v2model "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"
	v3model "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
)

// Calls that find one port's listeners with the list filters, and that let the Service that
// created a listener change its pool's algorithm and health check (issue 14, C6 and C11).

// ListListenersOnPort lists the listeners of ELB lbID on one port, of any protocol: the list call
// filtered by loadbalancer_id + protocol_port (services/elb/v3/model/model_list_listeners_request.go,
// services/elb/v2/model/model_list_listeners_request.go), instead of reading every listener of
// the ELB.
func (a *v3API) ListListenersOnPort(ctx context.Context, lbID string, port int32) ([]Listener, error) {
	return a.listListeners(ctx, lbID, &port)
}

// ListListenersOnPort: see the v3 one.
func (a *v2API) ListListenersOnPort(ctx context.Context, lbID string, port int32) ([]Listener, error) {
	return a.listListeners(ctx, lbID, &port)
}

func (a *v3API) UpdatePoolAlgorithm(ctx context.Context, id, algorithm string) error {
	return a.updatePool(ctx, id, v3model.UpdatePoolOption{LbAlgorithm: ptr(algorithm)})
}

func (a *v2API) UpdatePoolAlgorithm(ctx context.Context, id, algorithm string) error {
	return a.updatePool(ctx, id, v2model.UpdatePoolReq{LbAlgorithm: ptr(algorithm)})
}

func (a *v3API) UpdateHealthMonitor(ctx context.Context, id string, spec HealthMonitorSpec) error {
	return write(ctx, a.c, false, "v3 UpdateHealthMonitor", kindUpdate, a.c.v3.UpdateHealthMonitor, &v3model.UpdateHealthMonitorRequest{HealthmonitorId: id,
		Body: &v3model.UpdateHealthMonitorRequestBody{Healthmonitor: &v3model.UpdateHealthMonitorOption{
			Type: ptr(spec.Type), Delay: ptr(spec.Delay), Timeout: ptr(spec.Timeout), MaxRetries: ptr(spec.MaxRetries), UrlPath: nonEmpty(spec.URLPath)}}})
}

func (a *v2API) UpdateHealthMonitor(ctx context.Context, id string, spec HealthMonitorSpec) error {
	return write(ctx, a.c, true, "v2 UpdateHealthmonitor", kindUpdate, a.c.v2.UpdateHealthmonitor, &v2model.UpdateHealthmonitorRequest{HealthmonitorId: id,
		Body: &v2model.UpdateHealthmonitorRequestBody{Healthmonitor: &v2model.UpdateHealthmonitorReq{
			Type: ptr(spec.Type), Delay: ptr(spec.Delay), Timeout: ptr(spec.Timeout), MaxRetries: ptr(spec.MaxRetries), UrlPath: nonEmpty(spec.URLPath)}}})
}

// MemberQuota reads the project's member quotas (ShowQuota, services/elb/v3/model/model_quota.go:
// members_per_pool and member; -1 means no limit). An ELB without the quota API answers
// ErrNotFound.
func (c *SDK) MemberQuota(ctx context.Context) (perPool, total int, err error) {
	q, err := show(ctx, c, false, "v3 ShowQuota", c.v3.ShowQuota, &v3model.ShowQuotaRequest{},
		func(r *v3model.ShowQuotaResponse) *v3model.Quota { return r.Quota })
	if err != nil {
		return 0, 0, err
	}
	return int(q.MembersPerPool), int(q.Member), nil
}

// ProjectMemberUsage reads the project's member quota and how much of it is used
// (ListQuotaDetails with quota_key=member, services/elb/v3/model/model_quota_info.go: quota_limit,
// -1 no limit; used). An ELB without the call answers ErrNotFound.
func (c *SDK) ProjectMemberUsage(ctx context.Context) (limit, used int, err error) {
	r, err := read(ctx, c, false, "v3 ListQuotaDetails", c.v3.ListQuotaDetails, &v3model.ListQuotaDetailsRequest{QuotaKey: &[]string{"member"}})
	if err != nil {
		return 0, 0, err
	}
	for _, q := range deref(r.Quotas) {
		if q.QuotaKey == "member" {
			return int(q.QuotaLimit), int(q.Used), nil
		}
	}
	return 0, 0, &APIError{Op: "v3 ListQuotaDetails", Kind: ErrNotFound, Message: "no member quota in the answer"}
}
