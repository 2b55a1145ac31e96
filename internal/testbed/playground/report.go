package playground

import (
	"io"

	"github.com/fleetlb/fleetlb/internal/common/fleetview"
)

// Owners names the owner of each member: a cluster's name for the members a
// fleetlb-controller added (their name carries the cluster's ID), the
// member's own name for members added by hand (VMs). The grouping itself is
// fleetview's.
type Owners map[string]string // cluster ID → cluster name

func (o Owners) options() fleetview.Options {
	return fleetview.Options{Names: o, ManualByMember: true}
}

// Of returns the owner of m as shown: the cluster's name (its ID when the
// cluster is not one of the playground's), or the VM's name.
func (o Owners) Of(m Member) string { return o.options().Label(viewMember(m)) }

func viewMember(m Member) fleetview.Member {
	return fleetview.Member{ID: m.ID, Name: m.Name, Address: m.Address, Port: m.Port, Weight: m.Weight, SubnetID: m.SubnetID, Status: m.Status}
}

func viewMembers(members []Member) []fleetview.Member {
	out := make([]fleetview.Member, len(members))
	for i, m := range members {
		out[i] = viewMember(m)
	}
	return out
}

// Row is one owner's part of the traffic (fleetview's row: Label() is the
// owner as Of shows it, Count the answers it gave).
type Row = fleetview.Row

// Split compares the weights on the ELB with the answers counted in t.
// requested is keyed by owner as Of shows it (a cluster's name, a VM's name).
func Split(members []Member, owners Owners, requested map[string]int, t Tally) []Row {
	o := owners.options()
	// The playground names owners by label; fleetview keys them by cluster ID.
	key := map[string]string{}
	for id, name := range owners {
		key[name] = id
	}
	keyOf := func(label string) string {
		if k, ok := key[label]; ok {
			return k
		}
		return label
	}
	o.Requested = map[string]int{}
	for label, w := range requested {
		o.Requested[keyOf(label)] = w
	}
	o.OwnerCounts = map[string]float64{}
	for label, n := range t.ByOwner() {
		o.OwnerCounts[keyOf(label)] += float64(n)
	}
	return fleetview.Build(viewMembers(members), o).Rows
}

// WriteMembers prints the pool's members: owner, address:port, weight, health.
func WriteMembers(w io.Writer, members []Member, owners Owners) {
	_ = fleetview.WriteMembers(w, viewMembers(members), owners.options())
}

// WriteSplit prints the rows of Split.
func WriteSplit(w io.Writer, rows []Row) {
	_ = fleetview.Write(w, fleetview.View{Rows: rows, Measured: true})
}
