package fleetview

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"text/tabwriter"
)

// Write prints v as a table, one line per owner. The measured columns are shown when v.Measured.
func Write(w io.Writer, v View) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := "OWNER\tMEMBERS\tREQUESTED WEIGHT\tEFFECTIVE WEIGHT\tEXPECTED SHARE\t"
	if v.Measured {
		head += "MEASURED SHARE\tMEASURED\t"
	}
	fmt.Fprintln(tw, head+"HEALTH")
	carried := false
	for _, r := range v.Rows {
		req := strconv.Itoa(r.Requested)
		if r.RequestedFrom == RequestedCarried {
			req += "*"
			carried = true
		}
		line := fmt.Sprintf("%s\t%d\t%s\t%d\t%s\t", r.Label(), r.Members, req, r.Effective, Percent(r.Expected))
		if v.Measured {
			line += fmt.Sprintf("%s\t%s\t", Percent(r.Measured), strconv.FormatFloat(r.Count, 'f', -1, 64))
		}
		fmt.Fprintln(tw, line+r.Health.String())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if carried {
		_, err := fmt.Fprintln(w, "* no weight recorded for this owner: the weights its members carry")
		return err
	}
	return nil
}

// Percent formats a share (0–1) as a percentage with one decimal.
func Percent(share float64) string { return strconv.FormatFloat(100*share, 'f', 1, 64) + "%" }

// WriteMembers prints members one per line, ordered by owner then address: owner, address:port,
// weight, health and the member's type (its subnet, or IP-type).
func WriteMembers(w io.Writer, members []Member, o Options) error {
	type line struct {
		owner string
		m     Member
	}
	lines := make([]line, 0, len(members))
	for _, m := range members {
		lines = append(lines, line{o.Label(m), m})
	}
	sort.Slice(lines, func(i, j int) bool {
		a, b := lines[i], lines[j]
		if a.owner != b.owner {
			return a.owner < b.owner
		}
		return a.m.Address < b.m.Address || a.m.Address == b.m.Address && a.m.Port < b.m.Port
	})
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "OWNER\tADDRESS:PORT\tWEIGHT\tHEALTH\tTYPE")
	for _, l := range lines {
		typ := "subnet " + l.m.SubnetID
		if l.m.SubnetID == "" {
			typ = "IP-type"
		}
		fmt.Fprintf(tw, "%s\t%s:%d\t%d\t%s\t%s\n", l.owner, l.m.Address, l.m.Port, l.m.Weight, l.m.Status, typ)
	}
	return tw.Flush()
}
