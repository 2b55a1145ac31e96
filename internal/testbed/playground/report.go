package playground

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"text/tabwriter"

	"github.com/fleetlb/fleetlb/internal/controller/deploy"
)

// Owners names the owner of each member: a cluster's name for the members a
// fleetlb-controller added (their name is fleetlb/<cluster-id>/…), the
// member's own name for members added by hand (VMs).
type Owners map[string]string // cluster ID → cluster name

// Of returns the owner of m.
func (o Owners) Of(m Member) string {
	if ref, _, ok := deploy.ParseMemberName(m.Name); ok {
		if name, ok := o[ref.ClusterID]; ok {
			return name
		}
		return "cluster " + ref.ClusterID
	}
	if m.Name != "" {
		return m.Name
	}
	return fmt.Sprintf("%s:%d", m.Address, m.Port)
}

// Serving reports whether the data plane sends new connections to m.
func Serving(m Member) bool { return m.Weight > 0 && m.Status != "OFFLINE" }

// Row is one owner's part of the traffic.
type Row struct {
	Owner string
	// Requested is the weight the owner asked for (a cluster's annotation, a
	// VM's weight); -1 when not known.
	Requested int
	Members   int
	// Effective is the sum of the weights of the owner's serving members.
	Effective int
	// Expected is Effective over every owner's Effective; Measured is the
	// owner's part of the answered requests. Both are fractions (0–1).
	Expected float64
	Measured float64
	Answers  int
}

// Split compares the weights on the ELB with the answers counted in t.
func Split(members []Member, owners Owners, requested map[string]int, t Tally) []Row {
	rows := map[string]*Row{}
	row := func(owner string) *Row {
		r, ok := rows[owner]
		if !ok {
			r = &Row{Owner: owner, Requested: -1}
			if w, ok := requested[owner]; ok {
				r.Requested = w
			}
			rows[owner] = r
		}
		return r
	}
	total := 0
	for _, m := range members {
		r := row(owners.Of(m))
		r.Members++
		if Serving(m) {
			r.Effective += m.Weight
			total += m.Weight
		}
	}
	answered := 0
	for owner, n := range t.ByOwner() {
		row(owner).Answers += n
		answered += n
	}
	out := make([]Row, 0, len(rows))
	for _, r := range rows {
		if total > 0 {
			r.Expected = float64(r.Effective) / float64(total)
		}
		if answered > 0 {
			r.Measured = float64(r.Answers) / float64(answered)
		}
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Owner < out[j].Owner })
	return out
}

// WriteMembers prints the pool's members: owner, address:port, weight, health.
func WriteMembers(w io.Writer, members []Member, owners Owners) {
	sorted := append([]Member(nil), members...)
	sort.Slice(sorted, func(i, j int) bool {
		oi, oj := owners.Of(sorted[i]), owners.Of(sorted[j])
		if oi != oj {
			return oi < oj
		}
		return sorted[i].Address < sorted[j].Address || sorted[i].Address == sorted[j].Address && sorted[i].Port < sorted[j].Port
	})
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  OWNER\tADDRESS:PORT\tWEIGHT\tHEALTH\tTYPE")
	for _, m := range sorted {
		typ := "subnet " + m.SubnetID
		if m.SubnetID == "" {
			typ = "IP-type"
		}
		fmt.Fprintf(tw, "  %s\t%s:%d\t%d\t%s\t%s\n", owners.Of(m), m.Address, m.Port, m.Weight, m.Status, typ)
	}
	_ = tw.Flush()
}

// WriteSplit prints the rows of Split.
func WriteSplit(w io.Writer, rows []Row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  OWNER\tREQUESTED WEIGHT\tMEMBERS\tEFFECTIVE WEIGHT\tEXPECTED SHARE\tMEASURED SHARE\tANSWERS\t")
	for _, r := range rows {
		req := "-"
		if r.Requested >= 0 {
			req = strconv.Itoa(r.Requested)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%.1f%%\t%.1f%%\t%d\t\n", r.Owner, req, r.Members, r.Effective, 100*r.Expected, 100*r.Measured, r.Answers)
	}
	_ = tw.Flush()
}
