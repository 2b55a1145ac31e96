package apiv2

import (
	"encoding/json"
	"net/http"

	"github.com/fleetlb/fleetlb/internal/elbd/api/wire"
	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// defaultPool reads default_pool_id: (id, true) when sent, "" for null.
func (q *listenerReq) defaultPool() (string, bool, error) {
	if len(q.DefaultPoolID) == 0 {
		return "", false, nil
	}
	var id *string
	if err := json.Unmarshal(q.DefaultPoolID, &id); err != nil {
		return "", false, apierr.Invalid("listener.default_pool_id must be a pool ID string or null")
	}
	return wire.Or(id, ""), true, nil
}

// checkTLS refuses HTTPS listeners: elbd keeps no certificates.
func checkTLS(protocol string, q *listenerReq) error {
	if protocol == store.ProtocolTerminatedHTTPS || wire.Or(q.DefaultTLSContainerRef, "") != "" {
		return apierr.Invalid("TERMINATED_HTTPS listeners and default_tls_container_ref need certificates, which this ELB does not manage; use TCP, UDP or HTTP")
	}
	return nil
}

func (h *Handler) createListener(r *http.Request, sc store.Scope, req *listenerReq) (int, any, error) {
	if err := wire.Required("listener", wire.Given("loadbalancer_id", req.LoadBalancerID), wire.Given("protocol", req.Protocol),
		wire.Given("protocol_port", req.ProtocolPort)); err != nil {
		return 0, nil, err
	}
	if err := checkTLS(*req.Protocol, req); err != nil {
		return 0, nil, err
	}
	pool, _, err := req.defaultPool()
	if err != nil {
		return 0, nil, err
	}
	nl := store.Listener{LoadBalancerID: *req.LoadBalancerID, Protocol: *req.Protocol, ProtocolPort: *req.ProtocolPort,
		AdminStateUp: true, ConnectionLimit: wire.Or(req.ConnectionLimit, -1), Http2Enable: wire.Or(req.Http2Enable, false), DefaultPoolID: pool}
	req.Named.Apply(&nl.Name, &nl.Description, &nl.AdminStateUp)
	l, err := h.st.CreateListener(sc, nl)
	return h.replyListener(r, sc, http.StatusCreated, l, err)
}

func (h *Handler) updateListener(r *http.Request, sc store.Scope, req *listenerReq) (int, any, error) {
	if req.LoadBalancerID != nil || req.Protocol != nil || req.ProtocolPort != nil {
		return 0, nil, apierr.Invalid("loadbalancer_id, protocol and protocol_port of a listener cannot change; create another listener")
	}
	if err := checkTLS("", req); err != nil {
		return 0, nil, err
	}
	pool, poolSent, err := req.defaultPool()
	if err != nil {
		return 0, nil, err
	}
	l, err := h.st.UpdateListener(sc, r.PathValue("id"), func(l *store.Listener) error {
		req.Named.Apply(&l.Name, &l.Description, &l.AdminStateUp)
		wire.Set(&l.ConnectionLimit, req.ConnectionLimit)
		wire.Set(&l.Http2Enable, req.Http2Enable)
		if poolSent {
			l.DefaultPoolID = pool
		}
		return nil
	})
	return h.replyListener(r, sc, http.StatusOK, l, err)
}

// listenerFilters are the filters of the SDK's v2 ListListenersRequest.
var listenerFilters = []string{"id", "name", "description", "loadbalancer_id", "connection_limit", "admin_state_up",
	"default_pool_id", "default_tls_container_ref", "client_ca_tls_container_ref", "protocol", "protocol_port",
	"tls_ciphers_policy", "tls_container_id", "http2_enable", "enterprise_project_id"}

func (h *Handler) listListeners(r *http.Request, sc store.Scope) (int, any, error) {
	return list(r, "listeners", listenerFilters, func() ([]item, error) {
		v := &views{status: h.status}
		ls, err := h.st.ListListeners(sc)
		return items(ls, err, func(l store.Listener) item {
			return item{id: l.ID, body: v.listener(l), extra: map[string][]string{
				"loadbalancer_id": {l.LoadBalancerID}, "tls_container_id": nil, "enterprise_project_id": {"0"}}}
		})
	})
}
