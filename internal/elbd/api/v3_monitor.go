package api

import (
	"net/http"

	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/elbd/api/wire"
	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// v3HealthMonitor is the SDK's model.HealthMonitor as elbd fills it.
type v3HealthMonitor struct {
	AdminStateUp   bool                `json:"admin_state_up"`
	Delay          int                 `json:"delay"`
	DomainName     string              `json:"domain_name"`
	ExpectedCodes  string              `json:"expected_codes"`
	HTTPMethod     string              `json:"http_method"`
	ID             string              `json:"id"`
	MaxRetries     int                 `json:"max_retries"`
	MaxRetriesDown int                 `json:"max_retries_down"`
	MonitorPort    *int                `json:"monitor_port"`
	Name           string              `json:"name"`
	Pools          []map[string]string `json:"pools"`
	ProjectID      string              `json:"project_id"`
	Timeout        int                 `json:"timeout"`
	Type           string              `json:"type"`
	URLPath        string              `json:"url_path"`
	CreatedAt      string              `json:"created_at"`
	UpdatedAt      string              `json:"updated_at"`
}

func renderV3Monitor(hm store.HealthMonitor) v3HealthMonitor {
	out := v3HealthMonitor{
		AdminStateUp: hm.AdminStateUp, Delay: hm.Delay, DomainName: hm.DomainName, ExpectedCodes: hm.ExpectedCodes,
		HTTPMethod: hm.HTTPMethod, ID: hm.ID, MaxRetries: hm.MaxRetries, MaxRetriesDown: hm.MaxRetriesDown, Name: hm.Name,
		Pools: refs(hm.PoolID), ProjectID: hm.ProjectID, Timeout: hm.Timeout, Type: hm.Type, URLPath: hm.URLPath,
		CreatedAt: ts(hm.CreatedAt), UpdatedAt: ts(hm.UpdatedAt),
	}
	if hm.MonitorPort != 0 {
		p := hm.MonitorPort
		out.MonitorPort = &p
	}
	return out
}

type v3MonitorFields struct {
	wire.MonitorFields
	MaxRetriesDown *int        `json:"max_retries_down"`
	MonitorPort    orNull[int] `json:"monitor_port"`
	bodyProject
}

// apply copies the given fields onto hm.
func (in *v3MonitorFields) apply(hm *store.HealthMonitor) {
	in.MonitorFields.Apply(hm)
	hm.MaxRetriesDown = wire.Or(in.MaxRetriesDown, hm.MaxRetriesDown)
	if in.MonitorPort.set {
		hm.MonitorPort = in.MonitorPort.value // null: back to the member's port
	}
}

func (h *v3) createHealthMonitor(r *http.Request, sc store.Scope, in *v3MonitorFields) (int, any, error) {
	if err := wire.Required("healthmonitor", wire.GivenText("pool_id", in.PoolID), wire.GivenText("type", in.Type),
		wire.Given("delay", in.Delay), wire.Given("timeout", in.Timeout), wire.Given("max_retries", in.MaxRetries)); err != nil {
		return 0, nil, err
	}
	// The real API's defaults.
	hm := store.HealthMonitor{PoolID: *in.PoolID, MaxRetriesDown: elbrules.DefaultMonitorMaxRetriesDown, URLPath: elbrules.DefaultMonitorURLPath,
		ExpectedCodes: elbrules.DefaultMonitorExpectedCodes, HTTPMethod: elbrules.DefaultMonitorHTTPMethod, AdminStateUp: true}
	in.apply(&hm)
	hm, err := h.st.CreateHealthMonitor(sc, hm)
	return replyMonitor(r, sc, http.StatusCreated, hm, err)
}

var replyMonitor = replyOf("healthmonitor", renderV3Monitor)

func (h *v3) listHealthMonitors(r *http.Request, sc store.Scope) (int, any, error) {
	hms, err := h.st.ListHealthMonitors(sc)
	if err != nil {
		return 0, nil, err
	}
	type H = store.HealthMonitor
	filters := []filter[H]{
		strF("id", func(v H) string { return v.ID }),
		strF("name", func(v H) string { return v.Name }),
		intF("monitor_port", func(v H) int { return v.MonitorPort }),
		strF("domain_name", func(v H) string { return v.DomainName }),
		intF("delay", func(v H) int { return v.Delay }),
		intF("max_retries", func(v H) int { return v.MaxRetries }),
		intF("max_retries_down", func(v H) int { return v.MaxRetriesDown }),
		intF("timeout", func(v H) int { return v.Timeout }),
		boolF("admin_state_up", func(v H) bool { return v.AdminStateUp }),
		strF("type", func(v H) string { return v.Type }),
		strF("expected_codes", func(v H) string { return v.ExpectedCodes }),
		strF("url_path", func(v H) string { return v.URLPath }),
		strF("http_method", func(v H) string { return v.HTTPMethod }),
		strF("enterprise_project_id", func(H) string { return "0" }),
	}
	return listed(r, "healthmonitors", hms, filters, func(v H) string { return v.ID }, renderV3Monitor)
}

func (h *v3) updateHealthMonitor(r *http.Request, sc store.Scope, in *v3MonitorFields) (int, any, error) {
	hm, err := h.st.UpdateHealthMonitor(sc, r.PathValue("id"), func(hm *store.HealthMonitor) error {
		if in.PoolID != nil && *in.PoolID != hm.PoolID {
			return apierr.Invalid("pool_id cannot be changed (it is %s); create a monitor for the other pool", hm.PoolID)
		}
		in.apply(hm)
		return nil
	})
	return replyMonitor(r, sc, http.StatusOK, hm, err)
}
