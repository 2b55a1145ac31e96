package elbclient

import (
	"context"
	"slices"
	"strings"
)

// What a create whose reply was lost made, found again before the create is repeated (the
// found of SDK.call), and what a list filter the server may ignore must not let through: the
// same rules for both API families.

// onPort keeps the listeners on *port (all when port is nil): a server that ignores the port
// filter must not make another port's listener look like ours.
func onPort(ls []Listener, port *int32) []Listener {
	if port == nil {
		return ls
	}
	return slices.DeleteFunc(ls, func(l Listener) bool { return l.Port != *port })
}

// listenerMade finds the listener spec makes: on its port, with its protocol, name and mark;
// nil when there is none.
func listenerMade(ctx context.Context, api API, spec ListenerSpec) func() (*Listener, error) {
	return func() (*Listener, error) {
		ls, err := api.ListListenersOnPort(ctx, spec.LoadBalancerID, spec.Port)
		for _, l := range ls {
			if strings.EqualFold(l.Protocol, spec.Protocol) && l.Name == spec.Name && l.Description == spec.Description {
				return &l, nil
			}
		}
		return nil, err
	}
}

// poolMade is p when it is the pool spec makes (its name and mark), else nil.
func poolMade(p *Pool, spec PoolSpec) *Pool {
	if p != nil && p.Name == spec.Name && p.Description == spec.Description {
		return p
	}
	return nil
}

// monitorMade finds the health monitor of pool poolID, nil when it has none (a pool has at most
// one).
func monitorMade(ctx context.Context, api API, poolID string) func() (*HealthMonitor, error) {
	return func() (*HealthMonitor, error) {
		p, err := api.GetPool(ctx, poolID)
		if err != nil || p.HealthMonitorID == "" {
			return nil, err
		}
		hm, err := api.GetHealthMonitor(ctx, p.HealthMonitorID)
		return onPool(hm, poolID), err
	}
}

// onPool is hm, a monitor of pool poolID (a reply may leave the monitor's pools out).
func onPool(hm *HealthMonitor, poolID string) *HealthMonitor {
	if hm != nil {
		hm.PoolID = poolID
	}
	return hm
}

// existingMembers are the members of have at the address and port of a spec, reported Existed.
func existingMembers(specs []MemberSpec, have []Member) []AddedMember {
	var out []AddedMember
	for _, s := range specs {
		for _, m := range have {
			if m.Address == s.Address && m.Port == s.Port {
				out = append(out, AddedMember{Member: m, Existed: true})
				break
			}
		}
	}
	return out
}
