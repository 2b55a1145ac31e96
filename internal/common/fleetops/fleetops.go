// Package fleetops reads and writes the fleet records (internal/common/fleetrecord) of an ELB's
// listeners through an elbclient.Client, and removes what one owner cluster holds there: the I/O
// shared by the controller (heartbeat, view, --reclaim-stale-after, decommission) and elbctl
// (fleet orphans, fleet reclaim). It never touches a member without the named owner's mark.
package fleetops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/common/fleetrecord"
	"github.com/fleetlb/fleetlb/internal/common/fleetview"
	"github.com/fleetlb/fleetlb/internal/common/ownership"
)

// Listener is one listener of an ELB with its tags, records and pool members.
type Listener struct {
	LB       elbclient.LoadBalancer
	Listener elbclient.Listener
	Tags     []elbclient.Tag
	Records  map[string]fleetrecord.Record // by cluster ID
	Members  []elbclient.Member            // nil when the listener has no pool
}

// Owner is the cluster ID in a member's ownership mark, fleetview.Manual for a member without one.
func Owner(m elbclient.Member) string { return fleetview.OwnerOf(m.Name) }

// Judge is the fleet view of the listener's pool with its records (fleetrecord.Judge).
func (l Listener) Judge(names map[string]string, now time.Time, ttl time.Duration) []fleetrecord.Owner {
	ms := make([]fleetview.Member, len(l.Members))
	for i, m := range l.Members {
		ms[i] = fleetview.Member{ID: m.ID, Name: m.Name, Address: m.Address, SubnetID: m.SubnetID, Port: m.Port, Weight: m.Weight, Status: m.OperatingStatus}
	}
	return fleetrecord.Judge(ms, l.Records, names, now, ttl)
}

// Tag is the value of clusterID's record tag on l, "" when it has none.
func (l Listener) Tag(clusterID string) string {
	key := fleetrecord.Key(clusterID)
	for _, t := range l.Tags {
		if t.Key == key {
			return t.Value
		}
	}
	return ""
}

// Name is "ELB <id> TCP/80 (listener <id>)", for messages.
func (l Listener) Name() string {
	return fmt.Sprintf("ELB %s %s/%d (listener %s)", l.LB.ID, l.Listener.Protocol, l.Listener.Port, l.Listener.ID)
}

// OwnedBy returns the IDs of the members whose mark names clusterID.
func (l Listener) OwnedBy(clusterID string) []string {
	var ids []string
	for _, m := range l.Members {
		if ref, _, ok := ownership.ParseMemberName(m.Name); ok && ref.ClusterID == clusterID {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

// Read reads the listeners of ELB lbID (only those on ports, unless ports is empty) with their
// tags and members.
func Read(ctx context.Context, c elbclient.Client, lbID string, ports ...int32) ([]Listener, error) {
	lb, err := c.GetLoadBalancer(ctx, lbID)
	if err != nil {
		return nil, fmt.Errorf("read ELB %s: %w", lbID, err)
	}
	return ReadLB(ctx, c, *lb, ports...)
}

// ReadLB is Read for an ELB already read.
func ReadLB(ctx context.Context, c elbclient.Client, lb elbclient.LoadBalancer, ports ...int32) ([]Listener, error) {
	api := c.API(lb.Class)
	var ls []elbclient.Listener
	if len(ports) == 0 {
		var err error
		if ls, err = api.ListListeners(ctx, lb.ID); err != nil {
			return nil, fmt.Errorf("list the listeners of ELB %s: %w", lb.ID, err)
		}
	}
	for _, p := range ports {
		on, err := api.ListListenersOnPort(ctx, lb.ID, p)
		if err != nil {
			return nil, fmt.Errorf("list the listeners on port %d of ELB %s: %w", p, lb.ID, err)
		}
		ls = append(ls, on...)
	}
	out := make([]Listener, 0, len(ls))
	for _, l := range ls {
		fl := Listener{LB: lb, Listener: l}
		tags, err := api.ListenerTags(ctx, l.ID)
		if err != nil {
			return nil, fmt.Errorf("read the tags of %s: %w", fl.Name(), err)
		}
		fl.Tags, fl.Records = tags, fleetrecord.Records(tags)
		if l.DefaultPoolID != "" {
			if fl.Members, err = api.ListMembers(ctx, l.DefaultPoolID); err != nil && !errors.Is(err, elbclient.ErrNotFound) {
				return nil, fmt.Errorf("list the members of %s: %w", fl.Name(), err)
			}
		}
		out = append(out, fl)
	}
	return out, nil
}

// ErrNoRoom is returned (wrapped) when a listener already has fleetrecord.MaxTagsPerObject tags
// and none is this owner's: its record cannot be written (T11).
var ErrNoRoom = errors.New("no room for another tag")

// Write writes (or refreshes) rec on l. Nothing is written when the listener is full
// (ErrNoRoom): the owner keeps serving without a record.
func Write(ctx context.Context, c elbclient.Client, l Listener, rec fleetrecord.Record) error {
	tag, err := fleetrecord.Encode(rec)
	if err != nil {
		return err
	}
	if !fleetrecord.Room(l.Tags, rec.ClusterID) {
		return fmt.Errorf("%w: %s has %d tags, the most a listener may have, so cluster %s cannot record its weight there; it keeps serving, and the fleet view shows it as unknown. Delete a tag that is not a fleetlb record (fleetlb.o.*) to make room",
			ErrNoRoom, l.Name(), len(l.Tags), rec.ClusterID)
	}
	if err := c.API(l.LB.Class).TagListener(elbclient.WithLoadBalancer(ctx, l.LB.ID), l.Listener.ID, []elbclient.Tag{tag}); err != nil {
		return fmt.Errorf("write the fleet record of cluster %s on %s: %w", rec.ClusterID, l.Name(), err)
	}
	return nil
}

// RemoveRecord deletes clusterID's record from l, if it has one.
func RemoveRecord(ctx context.Context, c elbclient.Client, l Listener, clusterID string) error {
	if _, ok := l.Records[clusterID]; !ok {
		return nil
	}
	if err := c.API(l.LB.Class).UntagListener(elbclient.WithLoadBalancer(ctx, l.LB.ID), l.Listener.ID, []string{fleetrecord.Key(clusterID)}); err != nil {
		return fmt.Errorf("remove the fleet record of cluster %s from %s: %w", clusterID, l.Name(), err)
	}
	return nil
}

// Removed says what RemoveOwner did on one listener.
type Removed struct {
	Listener      Listener
	Members       int  // members removed
	RecordRemoved bool // the owner's record was there and is gone
}

// RemoveOwner removes every member of l whose mark names clusterID, then clusterID's record.
// Members without that mark (VMs, other clusters') are never touched.
func RemoveOwner(ctx context.Context, c elbclient.Client, l Listener, clusterID string) (Removed, error) {
	out := Removed{Listener: l}
	if err := ownership.CheckClusterID(clusterID); err != nil {
		return out, err
	}
	api := c.API(l.LB.Class)
	ctx = elbclient.WithLoadBalancer(ctx, l.LB.ID)
	for part := range slices.Chunk(l.OwnedBy(clusterID), elbrules.MaxBatchMembers) {
		if err := api.DeleteMembers(ctx, l.Listener.DefaultPoolID, part); err != nil && !errors.Is(err, elbclient.ErrNotFound) {
			return out, fmt.Errorf("remove cluster %s's members of %s: %w", clusterID, l.Name(), err)
		}
		out.Members += len(part)
	}
	if _, ok := l.Records[clusterID]; ok {
		if err := RemoveRecord(ctx, c, l, clusterID); err != nil {
			return out, err
		}
		out.RecordRemoved = true
	}
	return out, nil
}

// Drain sets every member of l whose mark names clusterID to weight 0: the ELB sends them no new
// connection, open ones go on (decommission waits the deregistration delay after it). It
// returns how many it changed (those already at 0 are left alone).
func Drain(ctx context.Context, c elbclient.Client, l Listener, clusterID string) (int, error) {
	var ups []elbclient.WeightUpdate
	for _, m := range l.Members {
		if ref, _, ok := ownership.ParseMemberName(m.Name); ok && ref.ClusterID == clusterID && m.Weight != 0 {
			ups = append(ups, elbclient.WeightUpdate{MemberID: m.ID, Weight: 0})
		}
	}
	api := c.API(l.LB.Class)
	ctx = elbclient.WithLoadBalancer(ctx, l.LB.ID)
	for part := range slices.Chunk(ups, elbrules.MaxBatchMembers) {
		if err := api.UpdateMemberWeights(ctx, l.Listener.DefaultPoolID, part); err != nil {
			return 0, fmt.Errorf("drain cluster %s's members of %s: %w", clusterID, l.Name(), err)
		}
	}
	return len(ups), nil
}

// Decommission drains and removes everything cluster clusterID holds on every ELB of the project
// (T16): its members go to weight 0 on every listener first, stay for drain, then are removed
// with its records. Listeners and pools stay for the others. Idempotent: a second run finds
// nothing. It says what it does on out.
func Decommission(ctx context.Context, c elbclient.Client, clusterID string, drain time.Duration, out io.Writer) (members int, err error) {
	if err := ownership.CheckClusterID(clusterID); err != nil {
		return 0, err
	}
	held, err := Holdings(ctx, c, clusterID)
	if err != nil {
		return 0, err
	}
	if len(held) == 0 {
		fmt.Fprintf(out, "nothing of cluster %s is left on any ELB of the project\n", clusterID)
		return 0, nil
	}
	drained := 0
	for _, l := range held {
		n, err := Drain(ctx, c, l, clusterID)
		if err != nil {
			return 0, err
		}
		drained += n
		fmt.Fprintf(out, "%s: %d members of cluster %s set to weight 0\n", l.Name(), n, clusterID)
	}
	if drained > 0 && drain > 0 {
		fmt.Fprintf(out, "waiting %s (the deregistration delay) for open connections to end\n", drain)
		select {
		case <-time.After(drain):
		case <-ctx.Done():
			return 0, fmt.Errorf("stopped while draining (the members stay at weight 0; run decommission again to finish): %w", ctx.Err())
		}
	}
	for _, l := range held {
		res, err := RemoveOwner(ctx, c, l, clusterID)
		if err != nil {
			return members, fmt.Errorf("%w (run decommission again to finish)", err)
		}
		members += res.Members
		fmt.Fprintf(out, "%s: %d members removed, record removed: %t; the listener stays\n", l.Name(), res.Members, res.RecordRemoved)
	}
	fmt.Fprintf(out, "cluster %s decommissioned: %d members removed from %d listeners\n", clusterID, members, len(held))
	return members, nil
}

// Holdings returns the listeners of every ELB in the project where clusterID has members or a
// record (what decommission and reclaim act on).
func Holdings(ctx context.Context, c elbclient.Client, clusterID string) ([]Listener, error) {
	all, err := All(ctx, c)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(l Listener) bool {
		_, rec := l.Records[clusterID]
		return !rec && len(l.OwnedBy(clusterID)) == 0
	}), nil
}

// All reads every listener of every ELB in the project.
func All(ctx context.Context, c elbclient.Client) ([]Listener, error) {
	lbs, err := c.ListLoadBalancers(ctx)
	if err != nil {
		return nil, fmt.Errorf("list the ELBs: %w", err)
	}
	var out []Listener
	for _, lb := range lbs {
		ls, err := ReadLB(ctx, c, lb)
		if err != nil {
			return nil, err
		}
		out = append(out, ls...)
	}
	return out, nil
}

// Stale is one owner whose heartbeat is older than the TTL, on one listener.
type Stale struct {
	Listener Listener
	Record   fleetrecord.Record
	Members  []elbclient.Member // its members in the pool
}

// StaleOwners lists, per listener, the owners whose record is stale at now (T13).
func StaleOwners(ls []Listener, now time.Time, ttl time.Duration) []Stale {
	var out []Stale
	for _, l := range ls {
		ids := make([]string, 0, len(l.Records))
		for id := range l.Records {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			rec := l.Records[id]
			if !rec.Stale(now, ttl) {
				continue
			}
			s := Stale{Listener: l, Record: rec}
			for _, m := range l.Members {
				if Owner(m) == id {
					s.Members = append(s.Members, m)
				}
			}
			out = append(out, s)
		}
	}
	return out
}

// Live reports whether clusterID has a fresh record on any of ls (reclaim refuses it).
func Live(ls []Listener, clusterID string, now time.Time, ttl time.Duration) (Listener, bool) {
	for _, l := range ls {
		if rec, ok := l.Records[clusterID]; ok && !rec.Stale(now, ttl) {
			return l, true
		}
	}
	return Listener{}, false
}
