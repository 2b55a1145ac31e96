package fleetrecord

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/fleetlb/fleetlb/internal/common/fleetview"
)

// NewInstallID returns a random install ID (16 hex digits), made once per install.
func NewInstallID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// Owner is one owner of a pool as the fleet judges it (T12, T13): fleetview's row (members,
// requested, effective weight and expected share), with the share its record asks for and how
// fresh the record is.
type Owner struct {
	fleetview.Row
	// Recorded: the owner has a record, so Requested is what it asked for. Without one (an owner
	// past the 20-tag limit, a controller without records, the hand-added members) Requested is
	// what its members carry (fleetview.RequestedCarried).
	Recorded bool
	// RequestedShare is Requested over every owner's Requested (0–1): the share the fleet asked
	// for. Row.Expected is the share the member weights give.
	RequestedShare float64
	Stale          bool // the record's heartbeat is older than the TTL
	Heartbeat      time.Time
	InstallID      string
}

// Tolerance is how far (0.02 = 2 percentage points) an owner's share may be from its requested
// share before it is reported (T12).
const Tolerance = 0.02

// Judge groups a pool's members by owner (fleetview.Build, with each recorded owner's weight as
// its request) and adds the records. Owners with a record but no member are included (Members 0)
// so that a stale record shows.
func Judge(members []fleetview.Member, records map[string]Record, names map[string]string, now time.Time, ttl time.Duration) []Owner {
	req := make(map[string]int, len(records))
	for id, r := range records {
		req[id] = r.Weight
	}
	v := fleetview.Build(members, fleetview.Options{Names: names, Requested: req})
	seen := map[string]bool{}
	var out []Owner
	for _, row := range v.Rows {
		seen[row.Owner] = true
		out = append(out, Owner{Row: row})
	}
	for id, r := range records {
		if !seen[id] {
			out = append(out, Owner{Row: fleetview.Row{Owner: id, Cluster: true, Name: names[id], Requested: r.Weight, RequestedFrom: fleetview.RequestedGiven}})
		}
	}
	sum := 0
	for _, o := range out {
		if o.Members > 0 {
			sum += o.Requested
		}
	}
	for i := range out {
		o := &out[i]
		if r, ok := records[o.Owner]; ok && o.Cluster {
			o.Recorded, o.Heartbeat, o.InstallID, o.Stale = true, r.Heartbeat, r.InstallID, r.Stale(now, ttl)
		}
		if o.Members > 0 && sum > 0 {
			o.RequestedShare = float64(o.Requested) / float64(sum)
		}
	}
	return out
}

// Off reports whether an owner's share is more than Tolerance from the share it requested.
// Owners without a record cannot be judged.
func (o Owner) Off() bool {
	return o.Recorded && o.Members > 0 && math.Abs(o.Expected-o.RequestedShare) > Tolerance
}

// ExactReplicas are the replica counts with which an owner of requested weight w gets exactly w in
// pass-through mode (R2: each of n Pods weighs ceil(w/n), so the sum is w when n divides w):
// the divisors of w, ascending.
func ExactReplicas(w int) []int {
	var out []int
	for n := 1; n <= w; n++ {
		if w%n == 0 {
			out = append(out, n)
		}
	}
	return out
}

// Advice says, for the recorded owners whose effective weight differs from their request, which
// replica counts would give exactly the requested weights; "" when none differs.
func Advice(owners []Owner) string {
	var parts []string
	for _, o := range owners {
		if !o.Recorded || o.Members == 0 || o.Effective == o.Requested {
			continue
		}
		if o.Requested == 0 {
			continue // weight 0 gives every member 0: nothing to fix by replicas
		}
		parts = append(parts, fmt.Sprintf("cluster %s (requested %d, effective %d over %d members): %s ready replicas give exactly %d",
			o.Label(), o.Requested, o.Effective, o.Members, joinInts(ExactReplicas(o.Requested)), o.Requested))
	}
	return strings.Join(parts, "; ")
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	if len(s) > 1 {
		return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
	}
	return strings.Join(s, "")
}

// Line renders one owner for people: "a: requested 80 (80.0%), effective 81 (35.1%), 3 members".
func (o Owner) Line() string {
	req := "unknown (no record)"
	if o.Recorded {
		req = fmt.Sprintf("%d (%s)", o.Requested, fleetview.Percent(o.RequestedShare))
	} else if !o.Cluster {
		req = fmt.Sprintf("%d by hand (%s)", o.Requested, fleetview.Percent(o.RequestedShare))
	}
	s := fmt.Sprintf("%s: requested %s, effective %d (%s), %d members", o.Label(), req, o.Effective, fleetview.Percent(o.Expected), o.Members)
	if o.Stale {
		s += ", STALE since " + o.Heartbeat.UTC().Format(time.RFC3339)
	}
	return s
}
