package apiv2

import (
	"net/http"

	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/elbd/api/wire"
	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

func (h *Handler) createHealthMonitor(r *http.Request, sc store.Scope, req *healthMonitorReq) (int, any, error) {
	if err := wire.Required("healthmonitor", wire.Given("pool_id", req.PoolID), wire.Given("type", req.Type), wire.Given("delay", req.Delay),
		wire.Given("timeout", req.Timeout), wire.Given("max_retries", req.MaxRetries)); err != nil {
		return 0, nil, err
	}
	nm := store.HealthMonitor{PoolID: *req.PoolID, AdminStateUp: true, MonitorPort: wire.Or(req.MonitorPort, 0),
		MaxRetriesDown: elbrules.DefaultMonitorMaxRetriesDown, // v2 has no max_retries_down field; the shared ELB uses 3
		ExpectedCodes:  elbrules.DefaultMonitorExpectedCodes, URLPath: elbrules.DefaultMonitorURLPath, HTTPMethod: elbrules.DefaultMonitorHTTPMethod}
	req.MonitorFields.Apply(&nm)
	m, err := h.st.CreateHealthMonitor(sc, nm)
	return h.replyMonitor(r, sc, http.StatusCreated, m, err)
}

func (h *Handler) updateHealthMonitor(r *http.Request, sc store.Scope, req *healthMonitorReq) (int, any, error) {
	if req.PoolID != nil {
		return 0, nil, apierr.Invalid("pool_id of a health monitor cannot change; create a monitor for the other pool")
	}
	m, err := h.st.UpdateHealthMonitor(sc, r.PathValue("id"), func(m *store.HealthMonitor) error {
		req.MonitorFields.Apply(m)
		wire.Set(&m.MonitorPort, req.MonitorPort)
		if m.Type == elbrules.MonitorHTTP { // a monitor turned into an HTTP one gets the HTTP defaults
			m.URLPath, m.ExpectedCodes, m.HTTPMethod = orDefault(m.URLPath, elbrules.DefaultMonitorURLPath),
				orDefault(m.ExpectedCodes, elbrules.DefaultMonitorExpectedCodes), orDefault(m.HTTPMethod, elbrules.DefaultMonitorHTTPMethod)
		}
		return nil
	})
	return h.replyMonitor(r, sc, http.StatusOK, m, err)
}

// healthMonitorFilters are the filters of the SDK's v2 ListHealthmonitorsRequest.
var healthMonitorFilters = []string{"id", "name", "delay", "max_retries", "admin_state_up", "timeout", "type", "monitor_port",
	"expected_codes", "domain_name", "url_path", "http_method", "enterprise_project_id"}

func (h *Handler) listHealthMonitors(r *http.Request, sc store.Scope) (int, any, error) {
	return list(r, "healthmonitors", healthMonitorFilters, func() ([]item, error) {
		v := &views{status: h.status}
		ms, err := h.st.ListHealthMonitors(sc)
		return items(ms, err, func(m store.HealthMonitor) item {
			return item{id: m.ID, body: v.healthMonitor(m), extra: map[string][]string{"enterprise_project_id": {"0"}}}
		})
	})
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
