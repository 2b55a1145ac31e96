package console

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/fleetlb/fleetlb/internal/common/fleetrecord"
	"github.com/fleetlb/fleetlb/internal/common/fleetview"
	"github.com/fleetlb/fleetlb/internal/elbd/dataplane"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// counterSource is the real data plane's side the console reads beyond api.DataPlane: members'
// traffic counters (internal/elbd/runtime.Runtime has it).
type counterSource interface {
	MemberCounters(memberID string) dataplane.Counters
}

// lbRow is a load balancer as the console lists it.
type lbRow struct {
	ID, Name, VIP string
	// Type is "dedicated" (v3) or "shared" (v2).
	Type      string
	Dedicated bool
	IPTarget  bool
	Listeners int
}

func toLBRow(lb store.LoadBalancer, listeners int) lbRow {
	t := "shared"
	if lb.Guaranteed() {
		t = "dedicated"
	}
	return lbRow{ID: lb.ID, Name: lb.Name, VIP: lb.VIPAddress, Type: t, Dedicated: lb.Guaranteed(), IPTarget: lb.IPTargetEnable, Listeners: listeners}
}

// listenerRow is a listener as the pages show it.
type listenerRow struct {
	ID, Name, Protocol, Status string
	// DataPlane is what serves its traffic: kernel, proxy, or why the proxy does (K10).
	DataPlane string
	Port      int
}

// memberRow is one member as the listener page shows it.
type memberRow struct {
	ID, Name, Address, Type, Status string
	Port, Weight                    int
	Active                          int64
}

// ownerGroup is one owner's members under its fleetview row.
type ownerGroup struct {
	fleetview.Row
	Members []memberRow
}

// shareRow is one owner's line of the share table and chart, as the live endpoint sends it.
type shareRow struct {
	Owner     string `json:"owner"`
	Label     string `json:"label"`
	Members   int    `json:"members"`
	Requested int    `json:"requestedWeight"`
	// RequestedFrom is fleetview.RequestedGiven (the owner's record on the listener) or
	// fleetview.RequestedCarried (not recorded: the weights its members carry).
	RequestedFrom string `json:"requestedFrom"`
	// RequestedText is Requested as shown: marked * when carried.
	RequestedText string  `json:"requestedText"`
	Effective     int     `json:"effectiveWeight"`
	Expected      float64 `json:"expectedShare"`
	Measured      float64 `json:"measuredShare"`
	Count         float64 `json:"measuredConnections"`
	Health        string  `json:"health"`
}

// memberLive is a member's live state, for the page's refresh.
type memberLive struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Active int64  `json:"activeConnections"`
}

// shares is the live part of a listener page (GET /listeners/{id}/shares).
type shares struct {
	Owners []shareRow `json:"owners"`
	// Measured is false until the window holds a baseline for the members (a second reading).
	Measured    bool         `json:"measured"`
	Connections float64      `json:"connectionsInWindow"`
	WindowSecs  int          `json:"windowSeconds"`
	Members     []memberLive `json:"members"`
	Counters    bool         `json:"counters"`
}

// listenerData is everything the listener page shows.
type listenerData struct {
	LB       lbRow
	Listener listenerRow
	Pool     *store.Pool
	Groups   []ownerGroup
	Shares   shares
}

// listenerData reads listener id of the session's project, its pool's members grouped by owner,
// and each owner's expected and measured share.
func (c *Console) listenerData(s *session, id string) (listenerData, error) {
	l, sc, err := c.listenerIn(s, id)
	if err != nil {
		return listenerData{}, err
	}
	lb, err := c.o.Store.GetLoadBalancer(sc, l.LoadBalancerID)
	if err != nil {
		return listenerData{}, err
	}
	return c.describe(sc, toLBRow(lb, 0), l)
}

// listenerIn finds listener id in the session's project: a dedicated load balancer's, else a
// shared one's (the v2 family: the console shows both, as the v3 API lists both, E8); 404 as the
// API's when neither. sc is the scope it was found in.
func (c *Console) listenerIn(s *session, id string) (l store.Listener, sc store.Scope, err error) {
	sc = s.scope()
	if l, err = c.o.Store.GetListener(sc, id); err == nil {
		return l, sc, nil
	}
	shared := store.Scope{Family: store.FamilyV2, ProjectID: s.project}
	if l, err2 := c.o.Store.GetListener(shared, id); err2 == nil {
		return l, shared, nil
	}
	return l, sc, err
}

// describe reads listener l's pool and members (in sc) and groups them by owner.
func (c *Console) describe(sc store.Scope, lb lbRow, l store.Listener) (listenerData, error) {
	d := listenerData{LB: lb, Listener: listenerRow{ID: l.ID, Name: l.Name, Protocol: l.Protocol, Port: l.ProtocolPort,
		Status: c.o.DataPlane.ListenerStatus(l.ID), DataPlane: c.o.DataPlane.ListenerDataPlane(l.ID)}}
	var members []store.Member
	if l.DefaultPoolID != "" {
		p, err := c.o.Store.GetPool(sc, l.DefaultPoolID)
		if err != nil {
			return d, err
		}
		d.Pool = &p
		if members, err = c.o.Store.ListMembers(sc, p.ID); err != nil {
			return d, err
		}
	}
	requested, stale := c.requestedWeights(l.Tags)
	c.group(&d, members, requested, stale)
	return d, nil
}

// requestedWeights are the weights the owner clusters asked for on a listener, and which owners
// are stale: their owner records in its tags (T10, T13).
func (c *Console) requestedWeights(tags []store.Tag) (map[string]int, map[string]bool) {
	ts := make([]fleetrecord.Tag, len(tags))
	for i, t := range tags {
		ts[i] = fleetrecord.Tag{Key: t.Key, Value: t.Value}
	}
	return fleetrecord.Requested(ts, c.o.now(), fleetrecord.DefaultTTL)
}

// group fills d's owner groups and shares from members, their statuses and counters; requested
// are the weights owners recorded (the others' requested weight is what their members carry).
func (c *Console) group(d *listenerData, members []store.Member, requested map[string]int, stale map[string]bool) {
	now := c.o.now()
	counters, hasCounters := c.o.DataPlane.(counterSource)
	fm := make([]fleetview.Member, 0, len(members))
	rows := make(map[string]memberRow, len(members))
	counts := map[string]float64{}
	d.Shares = shares{WindowSecs: int(c.o.ShareWindow / time.Second), Counters: hasCounters, Members: []memberLive{}, Owners: []shareRow{}}
	measured := hasCounters && len(members) > 0
	for _, m := range members {
		status := c.o.DataPlane.MemberStatus(m.ID)
		row := memberRow{ID: m.ID, Name: m.Name, Address: m.Address, Port: m.ProtocolPort, Weight: m.Weight, Type: m.MemberType(), Status: status}
		if hasCounters {
			cs := counters.MemberCounters(m.ID)
			row.Active = cs.ActiveConnections
			if n, ok := c.window.recent(m.ID, m.CreatedAt, now, cs.TotalConnections); ok {
				counts[m.ID] = float64(n)
			} else {
				measured = false
			}
		}
		rows[m.ID] = row
		d.Shares.Members = append(d.Shares.Members, memberLive{ID: m.ID, Status: status, Active: row.Active})
		fm = append(fm, fleetview.Member{ID: m.ID, Name: m.Name, Address: m.Address, Port: int32(m.ProtocolPort), Weight: m.Weight, SubnetID: m.SubnetID, Status: status})
	}
	c.window.prune(now)
	opts := fleetview.Options{Requested: requested, Stale: stale, Names: c.o.ClusterNames}
	if measured {
		opts.MemberCounts = counts
	}
	v := fleetview.Build(fm, opts)
	d.Shares.Measured, d.Shares.Connections = v.Measured, v.TotalCount
	for _, r := range v.Rows {
		g := ownerGroup{Row: r}
		for _, m := range members {
			if fleetview.OwnerOf(m.Name) == r.Owner {
				g.Members = append(g.Members, rows[m.ID])
			}
		}
		d.Groups = append(d.Groups, g)
		d.Shares.Owners = append(d.Shares.Owners, shareRow{Owner: r.Owner, Label: r.Label(), Members: r.Members,
			Requested: r.Requested, RequestedFrom: r.RequestedFrom, RequestedText: requestedText(r), Effective: r.Effective, Expected: r.Expected, Measured: r.Measured, Count: r.Count, Health: r.Health.String()})
	}
}

// requestedText is r's requested weight as the page shows it: marked * when no record gave it.
func requestedText(r fleetview.Row) string {
	if r.RequestedFrom == fleetview.RequestedCarried {
		return strconv.Itoa(r.Requested) + "*"
	}
	return strconv.Itoa(r.Requested)
}

// lbData is the load balancer page: the load balancer and its listeners, each with its pool's
// members by owner.
type lbData struct {
	LB        lbRow
	Listeners []listenerData
}

func (c *Console) lbData(s *session, id string) (lbData, error) {
	lb, err := c.o.Store.LoadBalancerSeenFromV3(s.scope(), id)
	if err != nil {
		return lbData{}, err
	}
	sc := store.Scope{Family: lb.Family, ProjectID: s.project}
	ls, err := c.o.Store.ListListeners(sc)
	if err != nil {
		return lbData{}, err
	}
	d := lbData{LB: toLBRow(lb, 0)}
	for _, l := range ls {
		if l.LoadBalancerID != lb.ID {
			continue
		}
		ld, err := c.describe(sc, d.LB, l)
		if err != nil {
			return lbData{}, err
		}
		d.Listeners = append(d.Listeners, ld)
	}
	d.LB.Listeners = len(d.Listeners)
	return d, nil
}

// lbRows lists the session's load balancers as the v3 API does: dedicated and shared ones.
func (c *Console) lbRows(s *session) ([]lbRow, error) {
	lbs, err := c.o.Store.LoadBalancersSeenFromV3(s.scope())
	if err != nil {
		return nil, err
	}
	count := map[string]int{}
	for _, f := range []store.Family{store.FamilyV3, store.FamilyV2} {
		ls, err := c.o.Store.ListListeners(store.Scope{Family: f, ProjectID: s.project})
		if err != nil {
			return nil, err
		}
		for _, l := range ls {
			count[l.LoadBalancerID]++
		}
	}
	rows := make([]lbRow, 0, len(lbs))
	for _, lb := range lbs {
		rows = append(rows, toLBRow(lb, count[lb.ID]))
	}
	return rows, nil
}

// readError is how a page says a read failed: the store's own message (not found in this
// project, ...) with its status; anything else is a 500 that does not leak internals.
func readError(err error) (int, string) {
	var se *store.Error
	if errors.As(err, &se) {
		return se.Status, se.Msg
	}
	return http.StatusInternalServerError, fmt.Sprintf("reading elbd's state failed: %v", err)
}
