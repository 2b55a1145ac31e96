package nodeproxy

import (
	"encoding/json"
	"net"
	"net/http"
	"net/netip"

	"github.com/fleetlb/fleetlb/internal/testbed/httpserve"
)

type healthReply struct {
	Service struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"service"`
	LocalEndpoints      int  `json:"localEndpoints"`
	ServiceProxyHealthy bool `json:"serviceProxyHealthy"`
}

// serveHealth answers a Service's healthCheckNodePort like kube-proxy does,
// so a load balancer sends traffic only to nodes with local endpoints.
func (p *Proxy) serveHealth(port int32) (*httpserve.Server, error) {
	addr := netip.AddrPortFrom(p.cfg.NodeIP, uint16(port))
	ln, err := net.Listen("tcp", addr.String())
	if err != nil {
		return nil, err
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hc, ok := p.current.Load().health[port]
		if !ok {
			http.Error(w, "no service uses this health check node port", http.StatusNotFound)
			return
		}
		var r healthReply
		r.Service.Namespace, r.Service.Name = hc.Service.Namespace, hc.Service.Name
		r.LocalEndpoints = hc.LocalEndpoints
		r.ServiceProxyHealthy = true
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Load-Balancing-Endpoint-Weight", "1")
		if hc.LocalEndpoints == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(r)
	})
	return httpserve.Serve(ln, h), nil
}
