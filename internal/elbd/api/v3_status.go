package api

import (
	"net/http"

	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// The status tree of GET loadbalancers/{id}/statuses (SDK model.LoadBalancerStatusResult).
type statusLB struct {
	Name               string           `json:"name"`
	ProvisioningStatus string           `json:"provisioning_status"`
	Listeners          []statusListener `json:"listeners"`
	Pools              []statusPool     `json:"pools"`
	ID                 string           `json:"id"`
	OperatingStatus    string           `json:"operating_status"`
}

type statusListener struct {
	Name               string       `json:"name"`
	ProvisioningStatus string       `json:"provisioning_status"`
	Pools              []statusPool `json:"pools"`
	L7policies         []any        `json:"l7policies"`
	ID                 string       `json:"id"`
	OperatingStatus    string       `json:"operating_status"`
}

type statusPool struct {
	ProvisioningStatus string         `json:"provisioning_status"`
	Name               string         `json:"name"`
	Healthmonitor      *statusMonitor `json:"healthmonitor,omitempty"`
	Members            []statusMember `json:"members"`
	ID                 string         `json:"id"`
	OperatingStatus    string         `json:"operating_status"`
}

type statusMonitor struct {
	Type               string `json:"type"`
	ID                 string `json:"id"`
	Name               string `json:"name"`
	ProvisioningStatus string `json:"provisioning_status"`
}

type statusMember struct {
	ProvisioningStatus string `json:"provisioning_status"`
	Address            string `json:"address"`
	ProtocolPort       int    `json:"protocol_port"`
	ID                 string `json:"id"`
	OperatingStatus    string `json:"operating_status"`
}

// poolOperatingStatus is ONLINE while any member can take traffic, OFFLINE when every member is
// down, ONLINE for an empty pool (nothing is failing).
func poolOperatingStatus(ms []statusMember) string {
	if len(ms) == 0 {
		return "ONLINE"
	}
	for _, m := range ms {
		if m.OperatingStatus != "OFFLINE" {
			return "ONLINE"
		}
	}
	return "OFFLINE"
}

func (h *v3) showLoadBalancerStatus(r *http.Request, sc store.Scope) (int, any, error) {
	lb, err := h.st.GetLoadBalancer(sc, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	snap, err := h.st.Snapshot()
	if err != nil {
		return 0, nil, err
	}
	monitors := map[string]store.HealthMonitor{}
	for _, hm := range snap.HealthMonitors {
		monitors[hm.ID] = hm
	}
	members := map[string][]statusMember{}
	for _, m := range snap.Members {
		if m.LoadBalancerID == lb.ID {
			members[m.PoolID] = append(members[m.PoolID], statusMember{
				ProvisioningStatus: "ACTIVE", Address: m.Address, ProtocolPort: m.ProtocolPort, ID: m.ID,
				OperatingStatus: h.dp.MemberStatus(m.ID),
			})
		}
	}
	pools := map[string]statusPool{}
	out := statusLB{Name: lb.Name, ProvisioningStatus: "ACTIVE", ID: lb.ID, OperatingStatus: "ONLINE",
		Listeners: []statusListener{}, Pools: []statusPool{}}
	for _, p := range snap.Pools {
		if p.LoadBalancerID != lb.ID {
			continue
		}
		ms := members[p.ID]
		if ms == nil {
			ms = []statusMember{}
		}
		sp := statusPool{ProvisioningStatus: "ACTIVE", Name: p.Name, Members: ms, ID: p.ID, OperatingStatus: poolOperatingStatus(ms)}
		if hm, ok := monitors[p.HealthMonitorID]; ok {
			sp.Healthmonitor = &statusMonitor{Type: hm.Type, ID: hm.ID, Name: hm.Name, ProvisioningStatus: "ACTIVE"}
		}
		pools[p.ID] = sp
		out.Pools = append(out.Pools, sp)
	}
	for _, l := range snap.Listeners {
		if l.LoadBalancerID != lb.ID {
			continue
		}
		sl := statusListener{Name: l.Name, ProvisioningStatus: "ACTIVE", Pools: []statusPool{}, L7policies: []any{},
			ID: l.ID, OperatingStatus: h.dp.ListenerStatus(l.ID)}
		if sp, ok := pools[l.DefaultPoolID]; ok {
			sl.Pools = append(sl.Pools, sp)
		}
		out.Listeners = append(out.Listeners, sl)
	}
	return replied(r, http.StatusOK, "statuses", map[string]any{"loadbalancer": out})
}
