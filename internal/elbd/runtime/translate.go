package runtime

import (
	"fmt"
	"time"

	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/elbd/dataplane"
	"github.com/fleetlb/fleetlb/internal/elbd/dataplane/health"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// Translate turns the store's state into the data plane's configuration. It
// is pure. It also returns why some listeners are not served, by listener ID
// (e.g. an HTTPS listener, or a load balancer that is admin-down); those
// listeners are OFFLINE.
func Translate(snap store.Snapshot) (dataplane.Config, map[string]string) {
	lbs := map[string]store.LoadBalancer{}
	for _, lb := range snap.LoadBalancers {
		lbs[lb.ID] = lb
	}
	monitors := map[string]store.HealthMonitor{} // by pool ID
	for _, hm := range snap.HealthMonitors {
		monitors[hm.PoolID] = hm
	}
	members := map[string][]store.Member{} // by pool ID, in creation order
	for _, m := range snap.Members {
		members[m.PoolID] = append(members[m.PoolID], m)
	}
	pools := map[string]*dataplane.Pool{}
	var poolOrder []string
	for _, p := range snap.Pools {
		dp := translatePool(p, members[p.ID], monitors)
		pools[p.ID] = &dp
		poolOrder = append(poolOrder, p.ID)
	}

	var cfg dataplane.Config
	unserved := map[string]string{}
	used := map[string]bool{}
	for _, l := range snap.Listeners {
		lb, ok := lbs[l.LoadBalancerID]
		proto := servedProtocol(l.Protocol)
		switch {
		case !ok:
			unserved[l.ID] = fmt.Sprintf("load balancer %s of the listener does not exist", l.LoadBalancerID)
			continue
		case proto == "":
			unserved[l.ID] = fmt.Sprintf("protocol %s is not served by the elbd data plane (TCP, UDP and HTTP are)", l.Protocol)
			continue
		case !lb.AdminStateUp:
			unserved[l.ID] = fmt.Sprintf("load balancer %s is admin_state_up=false", lb.ID)
			continue
		case !l.AdminStateUp:
			unserved[l.ID] = "the listener is admin_state_up=false"
			continue
		case lb.VIPAddress == "":
			unserved[l.ID] = fmt.Sprintf("load balancer %s has no VIP address", lb.ID)
			continue
		}
		dl := dataplane.Listener{
			ID: l.ID, VIP: lb.VIPAddress, Port: l.ProtocolPort, Protocol: proto,
			KeepaliveTimeout:    time.Duration(l.KeepaliveTimeout) * time.Second,
			TransparentClientIP: l.TransparentClientIPEnable,
		}
		if p := pools[l.DefaultPoolID]; p != nil {
			dl.Pool = p
			used[p.ID] = true
		}
		cfg.Listeners = append(cfg.Listeners, dl)
	}
	for _, id := range poolOrder {
		if !used[id] {
			cfg.Pools = append(cfg.Pools, *pools[id])
		}
	}
	return cfg, unserved
}

// servedProtocol is the transport the data plane serves a listener with. An
// HTTP listener is forwarded at layer 4, which carries plain HTTP unchanged;
// TLS-terminating and QUIC listeners are not served.
func servedProtocol(p string) string {
	switch p {
	case store.ProtocolTCP, store.ProtocolHTTP:
		return dataplane.ProtocolTCP
	case store.ProtocolUDP:
		return dataplane.ProtocolUDP
	}
	return ""
}

func translatePool(p store.Pool, ms []store.Member, monitors map[string]store.HealthMonitor) dataplane.Pool {
	alg := p.LBAlgorithm
	if alg == "" {
		alg = store.AlgRoundRobin
	}
	dp := dataplane.Pool{ID: p.ID, Algorithm: alg}
	if cd := p.ConnectionDrain; cd != nil && cd.Enable {
		dp.Drain = time.Duration(cd.Timeout) * time.Second // E7
	}
	for _, m := range ms {
		dp.Members = append(dp.Members, dataplane.Member{
			ID: m.ID, Address: m.Address, Port: m.ProtocolPort, Weight: m.Weight,
			// An admin-down pool takes no traffic: its members count as admin-down.
			AdminUp: m.AdminStateUp && p.AdminStateUp,
		})
	}
	if hm, ok := monitors[p.ID]; ok && hm.AdminStateUp {
		dp.Monitor = translateMonitor(hm)
	}
	return dp
}

func translateMonitor(hm store.HealthMonitor) *health.Monitor {
	m := &health.Monitor{
		Type:           hm.Type,
		Delay:          time.Duration(hm.Delay) * time.Second,
		Timeout:        time.Duration(hm.Timeout) * time.Second,
		MaxRetries:     hm.MaxRetries,
		MaxRetriesDown: hm.MaxRetriesDown,
		Port:           hm.MonitorPort,
		HTTPMethod:     hm.HTTPMethod,
		URLPath:        hm.URLPath,
		ExpectedCodes:  hm.ExpectedCodes,
	}
	// Fields stored as 0 take the ELB API's defaults.
	if m.MaxRetries == 0 {
		m.MaxRetries = elbrules.DefaultMonitorMaxRetries
	}
	if m.MaxRetriesDown == 0 {
		m.MaxRetriesDown = elbrules.DefaultMonitorMaxRetriesDown
	}
	if hm.Type == elbrules.MonitorHTTPS {
		// The data plane does not speak TLS to members: an HTTPS monitor checks
		// that the member accepts TCP connections.
		m.Type = health.TypeTCP
	}
	return m
}
