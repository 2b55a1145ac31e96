// Package fleetview is one view of a shared pool: its members grouped by owner (each cluster by the
// ID in its members' ownership mark, "manual" for members added by hand), with each owner's
// requested weight, effective weight, expected share of new connections and, where measured, the
// share it actually got. Pure logic: elbctl, elbd's console and the test bed feed it what they read.
package fleetview

import (
	"fmt"
	"sort"
	"strings"

	"github.com/fleetlb/fleetlb/internal/common/ownership"
)

// Manual is the owner of the members no fleetlb-controller added (their name has no ownership
// mark): VMs and servers an operator added by hand (scenario S3), or another tool.
const Manual = "manual"

// Member is one backend server of a pool as the ELB reports it (SubnetID is empty for an IP-type
// member; Status is its operating status: ONLINE, OFFLINE, NO_MONITOR, …). Its own type, not
// elbclient's, so that elbd's console can use this package without the SDK.
type Member struct {
	ID, Name, Address, SubnetID, Status string
	Port                                int32
	Weight                              int
}

// Serving reports whether the data plane sends new connections to m: a member with weight 0 is
// drained and an OFFLINE one failed its health check (NO_MONITOR members are not checked: they serve).
func Serving(m Member) bool { return m.Weight > 0 && m.Status != "OFFLINE" }

// Options is what the caller knows beyond the members; every field may be nil.
type Options struct {
	// Names gives clusters a friendly name (cluster ID → name).
	Names map[string]string
	// Requested is the weight each owner asked for (owner → weight), e.g. from the owner records
	// in the listener's tags or a Service's annotation.
	Requested map[string]int
	// Stale marks owners whose record's heartbeat is older than the TTL (T13): their members may
	// be a vanished cluster's.
	Stale map[string]bool
	// MemberCounts is what was measured per member (member ID → new connections in a window).
	MemberCounts map[string]float64
	// OwnerCounts is what was measured per owner (owner → count), when a client counted which
	// owner answered rather than per member. Added to MemberCounts.
	OwnerCounts map[string]float64
	// ManualByMember makes each hand-added member its own owner, named by its member name (or
	// address:port when it has none), instead of grouping them all under Manual.
	ManualByMember bool
}

// Requested-weight sources.
const (
	RequestedGiven   = "given"   // from Options.Requested
	RequestedCarried = "carried" // not known: the weights the owner's members carry
)

// Row is one owner's part of the pool.
type Row struct {
	// Owner is the cluster ID, Manual, or (ManualByMember) the hand-added member's name.
	Owner string `json:"owner"`
	// Cluster is true for a cluster's row (its members carry the cluster's ownership mark).
	Cluster bool `json:"cluster"`
	// Name is the cluster's friendly name, when known.
	// Stale: the owner's record is older than the TTL (Options.Stale).
	Stale   bool   `json:"stale,omitempty"`
	Name    string `json:"name,omitempty"`
	Members int    `json:"members"`
	// Requested is the weight the owner asked for; RequestedFrom says where it comes from: when
	// not given it is Carried, the sum of the weights the owner's members carry.
	Requested     int    `json:"requestedWeight"`
	RequestedFrom string `json:"requestedFrom"`
	// Carried is the sum of the weights of all the owner's members, serving or not.
	Carried int `json:"carriedWeight"`
	// Effective is the sum of the weights of the owner's serving members.
	Effective int `json:"effectiveWeight"`
	// Expected is Effective over every owner's Effective (0–1).
	Expected float64 `json:"expectedShare"`
	// Measured is the owner's part of what was measured (0–1), when View.Measured.
	Measured float64 `json:"measuredShare"`
	Count    float64 `json:"measuredCount"`
	Health   Health  `json:"health"`
}

// Label is how the owner is shown: its friendly name, else its ID, marked when it is stale.
func (r Row) Label() string {
	l := r.Owner
	if r.Name != "" {
		l = r.Name
	}
	if r.Stale {
		l += " (stale)"
	}
	return l
}

// Health counts an owner's members by operating status.
type Health struct {
	Online    int `json:"online"`
	Offline   int `json:"offline"`
	NoMonitor int `json:"noMonitor"`
	Other     int `json:"other"`
}

func (h *Health) add(status string) {
	switch status {
	case "ONLINE":
		h.Online++
	case "OFFLINE":
		h.Offline++
	case "NO_MONITOR":
		h.NoMonitor++
	default:
		h.Other++
	}
}

// String summarises h, e.g. "2 online, 1 offline"; "-" for no members.
func (h Health) String() string {
	var parts []string
	for _, p := range []struct {
		n    int
		what string
	}{{h.Online, "online"}, {h.Offline, "offline"}, {h.NoMonitor, "no monitor"}, {h.Other, "other"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.what))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// View is a pool's members grouped by owner, in owner order.
type View struct {
	Rows []Row `json:"owners"`
	// TotalEffective is the sum of every owner's Effective: the denominator of the expected shares.
	TotalEffective int `json:"totalEffectiveWeight"`
	// Measured says whether any count was given (then Rows' Measured are shares of TotalCount).
	Measured   bool    `json:"measured"`
	TotalCount float64 `json:"totalMeasuredCount"`
}

// OwnerOf is the owner of a member named name: the cluster ID in its ownership mark, or Manual.
func OwnerOf(name string) string {
	if ref, _, ok := ownership.ParseMemberName(name); ok {
		return ref.ClusterID
	}
	return Manual
}

func (o Options) ownerOf(m Member) string {
	owner := OwnerOf(m.Name)
	if owner != Manual || !o.ManualByMember {
		return owner
	}
	if m.Name != "" {
		return m.Name
	}
	return fmt.Sprintf("%s:%d", m.Address, m.Port)
}

// Label is how m's owner is shown: the cluster's friendly name, else the owner (see Row.Label).
func (o Options) Label(m Member) string {
	owner := o.ownerOf(m)
	if n := o.Names[owner]; n != "" {
		return n
	}
	return owner
}

// Build groups members by owner.
func Build(members []Member, o Options) View {
	rows := map[string]*Row{}
	row := func(owner string) *Row {
		r, ok := rows[owner]
		if !ok {
			r = &Row{Owner: owner, Name: o.Names[owner], Stale: o.Stale[owner]}
			rows[owner] = r
		}
		return r
	}
	var v View
	for _, m := range members {
		r := row(o.ownerOf(m))
		r.Cluster = OwnerOf(m.Name) != Manual
		r.Members++
		r.Carried += m.Weight
		r.Health.add(m.Status)
		if Serving(m) {
			r.Effective += m.Weight
			v.TotalEffective += m.Weight
		}
		if n, ok := o.MemberCounts[m.ID]; ok {
			r.Count += n
			v.TotalCount += n
			v.Measured = true
		}
	}
	for owner, n := range o.OwnerCounts {
		row(owner).Count += n
		v.TotalCount += n
		v.Measured = true
	}
	for _, r := range rows {
		if w, ok := o.Requested[r.Owner]; ok {
			r.Requested, r.RequestedFrom = w, RequestedGiven
		} else {
			r.Requested, r.RequestedFrom = r.Carried, RequestedCarried
		}
		if v.TotalEffective > 0 {
			r.Expected = float64(r.Effective) / float64(v.TotalEffective)
		}
		if v.TotalCount > 0 {
			r.Measured = r.Count / v.TotalCount
		}
		v.Rows = append(v.Rows, *r)
	}
	// Clusters first (by label), then the hand-added members.
	sort.Slice(v.Rows, func(i, j int) bool {
		a, b := v.Rows[i], v.Rows[j]
		if a.Cluster != b.Cluster {
			return a.Cluster
		}
		if a.Label() != b.Label() {
			return a.Label() < b.Label()
		}
		return a.Owner < b.Owner
	})
	return v
}

// CountDelta is the per-key growth of monotonically increasing counters between two readings,
// for measured shares over a refresh interval. A counter that went down (the server restarted)
// counts from zero; a key missing from before counts from zero too.
func CountDelta(before, after map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(after))
	for k, a := range after {
		if b, ok := before[k]; ok && a >= b {
			out[k] = a - b
		} else {
			out[k] = a
		}
	}
	return out
}
