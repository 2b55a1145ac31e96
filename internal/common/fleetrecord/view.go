package fleetrecord

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// NewInstallID returns a random install ID (16 hex digits), made once per install.
func NewInstallID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// Member is one pool member as the view needs it: Owner is the cluster ID of its ownership mark,
// "" for a member without one (a VM added by hand, another tool's).
type Member struct {
	Owner  string
	Weight int
}

// Row is one owner of a pool in the fleet view (T12).
type Row struct {
	Owner string // cluster ID; "" for the members without an owner mark (by hand)
	// Requested is the weight the owner's record asks for; -1 when it has no record (unknown:
	// an owner past the 20-tag limit, or a controller without records). For the members without
	// an owner mark it is their effective weight: nobody asks for more or less.
	Requested int
	Effective int // sum of its members' weights
	Members   int
	// ExpectedShare and EffectiveShare are percentages of the pool's traffic: what the requested
	// weights ask for, and what the members' weights give.
	ExpectedShare, EffectiveShare float64
	Stale                         bool // the record's heartbeat is older than the TTL
	Heartbeat                     time.Time
	InstallID                     string
}

// Unknown reports whether the owner has members but no record.
func (r Row) Unknown() bool { return r.Requested < 0 }

// Tolerance is how far (in percentage points) an owner's effective share may be from its
// expected share before it is reported (T12).
const Tolerance = 2.0

// View groups a pool's members by owner and joins them with the listener's records. Owners with
// a record but no members are included (Members 0) and so are owners with members but no record
// (Unknown). Rows are sorted by owner, the unmarked ones last.
func View(records map[string]Record, members []Member, now time.Time, ttl time.Duration) []Row {
	by := map[string]*Row{}
	row := func(owner string) *Row {
		if by[owner] == nil {
			by[owner] = &Row{Owner: owner, Requested: -1}
		}
		return by[owner]
	}
	for _, m := range members {
		r := row(m.Owner)
		r.Effective += m.Weight
		r.Members++
	}
	for id, rec := range records {
		r := row(id)
		r.Requested, r.Heartbeat, r.InstallID = rec.Weight, rec.Heartbeat, rec.InstallID
		r.Stale = rec.Stale(now, ttl)
	}
	if r := by[""]; r != nil {
		r.Requested = r.Effective
	}
	// What each owner with members asks for; an owner without a record is taken at its
	// effective weight (nobody knows better).
	asked := func(r *Row) int {
		switch {
		case r.Members == 0:
			return 0
		case r.Unknown():
			return r.Effective
		}
		return r.Requested
	}
	var reqSum, effSum int
	for _, r := range by {
		reqSum += asked(r)
		effSum += r.Effective
	}
	out := make([]Row, 0, len(by))
	for _, r := range by {
		if reqSum > 0 {
			r.ExpectedShare = 100 * float64(asked(r)) / float64(reqSum)
		}
		if effSum > 0 {
			r.EffectiveShare = 100 * float64(r.Effective) / float64(effSum)
		}
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b Row) int {
		if (a.Owner == "") != (b.Owner == "") {
			if a.Owner == "" {
				return 1
			}
			return -1
		}
		return strings.Compare(a.Owner, b.Owner)
	})
	return out
}

// Off reports whether an owner's effective share is more than Tolerance from its expected one.
// Owners without a known request cannot be judged.
func (r Row) Off() bool {
	return !r.Unknown() && r.Members > 0 && math.Abs(r.EffectiveShare-r.ExpectedShare) > Tolerance
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

// Advice says, for the owners whose effective weight differs from their request, which replica
// counts would give exactly the requested weights; "" when none differs.
func Advice(rows []Row) string {
	var parts []string
	for _, r := range rows {
		if r.Owner == "" || r.Unknown() || r.Members == 0 || r.Effective == r.Requested {
			continue
		}
		if r.Requested == 0 {
			parts = append(parts, fmt.Sprintf("cluster %s: weight 0 gives its %d members weight 0 each", r.Owner, r.Members))
			continue
		}
		parts = append(parts, fmt.Sprintf("cluster %s (requested %d, effective %d over %d members): %s ready replicas give exactly %d",
			r.Owner, r.Requested, r.Effective, r.Members, joinInts(ExactReplicas(r.Requested)), r.Requested))
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

// Line renders one row for people: "a: requested 80 (80.0%) effective 81 (35.1%), 3 members".
func (r Row) Line() string {
	owner := r.Owner
	if owner == "" {
		owner = "(by hand)"
	}
	req := "unknown (no record)"
	if !r.Unknown() {
		req = fmt.Sprintf("%d (%.1f%%)", r.Requested, r.ExpectedShare)
	}
	s := fmt.Sprintf("%s: requested %s, effective %d (%.1f%%), %d members", owner, req, r.Effective, r.EffectiveShare, r.Members)
	if r.Stale {
		s += ", STALE since " + r.Heartbeat.UTC().Format(time.RFC3339)
	}
	return s
}
