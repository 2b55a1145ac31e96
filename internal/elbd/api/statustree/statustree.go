// Package statustree builds the status tree of a load balancer — its listeners, pools, health
// monitors and members with their operating and provisioning statuses — that both API versions
// answer: v3 GET loadbalancers/{id}/statuses (services/elb/v3/model LoadBalancerStatusResult)
// and v2 ShowLoadbalancersStatus (services/elb/v2/model LoadbalancerInStatusResp). The two
// models have the same fields.
package statustree

import "github.com/fleetlb/fleetlb/internal/elbd/store"

// Node is what the load balancer, listeners and pools of the tree each carry.
type Node struct {
	ID                 string `json:"id"`
	Name               string `json:"name"`
	OperatingStatus    string `json:"operating_status"`
	ProvisioningStatus string `json:"provisioning_status"`
}

// LoadBalancer is the root of the tree.
type LoadBalancer struct {
	Node
	Listeners []Listener `json:"listeners"`
	Pools     []Pool     `json:"pools"`
}

// Listener is a listener with its default pool.
type Listener struct {
	Node
	Pools      []Pool `json:"pools"`
	L7Policies []any  `json:"l7policies"`
	// DataPlane is elbd's own field (K10; the API has none: services/elb/v3/model
	// model_load_balancer_status_listener.go, v2/model model_listeners_in_status_resp.go): what
	// serves the listener's traffic, "kernel", "proxy", or "proxy (LEAST_CONNECTIONS is served by
	// the proxy, not the kernel)". The SDK's models ignore it; absent when no data plane serves.
	DataPlane string `json:"elbd_dataplane,omitempty"`
}

// Pool is a pool with its monitor and members.
type Pool struct {
	Node
	HealthMonitor *Monitor `json:"healthmonitor,omitempty"`
	Members       []Member `json:"members"`
}

// Monitor is a pool's health monitor.
type Monitor struct {
	ID                 string `json:"id"`
	Name               string `json:"name"`
	Type               string `json:"type"`
	ProvisioningStatus string `json:"provisioning_status"`
}

// Member is one backend server.
type Member struct {
	ID                 string `json:"id"`
	Address            string `json:"address"`
	ProtocolPort       int    `json:"protocol_port"`
	OperatingStatus    string `json:"operating_status"`
	ProvisioningStatus string `json:"provisioning_status"`
}

// Statuses are where the tree's statuses come from.
type Statuses interface {
	// MemberStatus and ListenerStatus are the data plane's operating statuses.
	MemberStatus(memberID string) string
	ListenerStatus(listenerID string) string
	// ListenerDataPlane says what serves a listener's traffic (Listener.DataPlane), "" for none.
	ListenerDataPlane(listenerID string) string
	// Provisioning is an object's provisioning_status (ACTIVE, or PENDING_* while v2 provisions).
	Provisioning(objectID string) string
}

// Read is the status tree of the load balancer id that sc may see, read from st.
func Read(st *store.Store, sc store.Scope, id string, statuses Statuses) (LoadBalancer, error) {
	lb, err := st.GetLoadBalancer(sc, id)
	if err != nil {
		return LoadBalancer{}, err
	}
	snap, err := st.Snapshot()
	if err != nil {
		return LoadBalancer{}, err
	}
	return Build(lb, snap, statuses), nil
}

// Build is the status tree of lb from the objects of snap that belong to it.
func Build(lb store.LoadBalancer, snap store.Snapshot, st Statuses) LoadBalancer {
	monitors := map[string]store.HealthMonitor{}
	for _, hm := range snap.HealthMonitors {
		monitors[hm.ID] = hm
	}
	members := map[string][]Member{}
	for _, m := range snap.Members {
		if m.LoadBalancerID == lb.ID {
			members[m.PoolID] = append(members[m.PoolID], Member{ID: m.ID, Address: m.Address, ProtocolPort: m.ProtocolPort,
				OperatingStatus: st.MemberStatus(m.ID), ProvisioningStatus: st.Provisioning(m.ID)})
		}
	}
	out := LoadBalancer{Node: Node{ID: lb.ID, Name: lb.Name, OperatingStatus: "ONLINE", ProvisioningStatus: st.Provisioning(lb.ID)},
		Listeners: []Listener{}, Pools: []Pool{}}
	pools := map[string]Pool{}
	for _, p := range snap.Pools {
		if p.LoadBalancerID != lb.ID {
			continue
		}
		ms := members[p.ID]
		if ms == nil {
			ms = []Member{}
		}
		sp := Pool{Node: Node{ID: p.ID, Name: p.Name, OperatingStatus: poolOperatingStatus(ms), ProvisioningStatus: st.Provisioning(p.ID)}, Members: ms}
		if hm, ok := monitors[p.HealthMonitorID]; ok {
			sp.HealthMonitor = &Monitor{ID: hm.ID, Name: hm.Name, Type: hm.Type, ProvisioningStatus: st.Provisioning(hm.ID)}
		}
		pools[p.ID] = sp
		out.Pools = append(out.Pools, sp)
	}
	for _, l := range snap.Listeners {
		if l.LoadBalancerID != lb.ID {
			continue
		}
		sl := Listener{Node: Node{ID: l.ID, Name: l.Name, OperatingStatus: st.ListenerStatus(l.ID), ProvisioningStatus: st.Provisioning(l.ID)},
			Pools: []Pool{}, L7Policies: []any{}, DataPlane: st.ListenerDataPlane(l.ID)}
		if sp, ok := pools[l.DefaultPoolID]; ok {
			sl.Pools = append(sl.Pools, sp)
		}
		out.Listeners = append(out.Listeners, sl)
	}
	return out
}

// poolOperatingStatus is ONLINE while any member can take traffic, OFFLINE when every member is
// down, ONLINE for an empty pool (nothing is failing).
func poolOperatingStatus(ms []Member) string {
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
