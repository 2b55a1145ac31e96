package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/common/ownership"
	"github.com/fleetlb/fleetlb/internal/controller/model"
)

// memberPlan is the member writes that take a pool from what it has to what this cluster wants.
type memberPlan struct {
	add    []elbclient.MemberSpec
	update []elbclient.WeightUpdate
	remove []string
	// readd are members whose subnet must change: the ELB cannot change it in place, so the old
	// member goes first and the new one is added after.
	readd    []elbclient.MemberSpec
	warnings []Warning
	// draining are this cluster's members no longer wanted that stay, at weight 0, until their
	// drain ends (T1), with when it began; drainWait is the shortest time left of any of them.
	draining  map[string]time.Time
	drainWait time.Duration
}

// drainClock says how members no longer wanted leave a pool (T1): they go to weight 0 and stay
// delay after the drain began (started, by member ID; a member not in it begins now), then they
// are removed. A delay of 0 removes them at once.
type drainClock struct {
	delay   time.Duration
	now     time.Time
	started map[string]time.Time
}

// retire plans the exit of member m, which this cluster no longer wants: weight 0 while its
// drain lasts, removal once it is over.
func (p *memberPlan) retire(m elbclient.Member, dc drainClock) {
	if dc.delay <= 0 {
		p.remove = append(p.remove, m.ID)
		return
	}
	start, ok := dc.started[m.ID]
	if !ok || start.After(dc.now) {
		start = dc.now // first seen unwanted (or by a controller that restarted): a full drain
	}
	left := start.Add(dc.delay).Sub(dc.now)
	if left <= 0 {
		p.remove = append(p.remove, m.ID)
		return
	}
	if p.draining == nil {
		p.draining = map[string]time.Time{}
	}
	p.draining[m.ID] = start
	if m.Weight != 0 {
		p.update = append(p.update, elbclient.WeightUpdate{MemberID: m.ID, Weight: 0})
	}
	if p.drainWait == 0 || left < p.drainWait {
		p.drainWait = left
	}
}

func memberKey(addr string, port int32) string { return addr + "|" + strconv.Itoa(int(port)) }

// diffMembers plans the writes for this cluster's members of ref on port in a pool holding have.
// Only members named ownership.MemberName(ref, port) (or named for ref on another port) are ever changed;
// those no longer wanted drain first (dc, T1).
func diffMembers(ref model.ServiceRef, port int32, class elbrules.Class, poolID string, want []model.Member, have []elbclient.Member, dc drainClock) memberPlan {
	var p memberPlan
	name := ownership.MemberName(ref, port)
	ours := map[string][]elbclient.Member{}
	others := map[string]elbclient.Member{}
	for _, m := range have {
		switch {
		case m.Name == name:
			k := memberKey(m.Address, m.Port)
			ours[k] = append(ours[k], m)
		case owns(ref, m):
			// Ours, but named for another port of the Service: it does not belong in this pool.
			p.retire(m, dc)
		default:
			others[memberKey(m.Address, m.Port)] = m
		}
	}
	seen := map[string]bool{}
	for _, w := range want {
		k := memberKey(w.Address, w.Port)
		if seen[k] {
			continue
		}
		seen[k] = true
		spec := elbclient.MemberSpec{Name: name, Address: w.Address, Port: w.Port, Weight: w.Weight, SubnetID: w.SubnetID}
		cur := ours[k]
		if len(cur) == 0 {
			if o, taken := others[k]; taken {
				p.warnings = append(p.warnings, Warning{Reason: WarnAddressTaken, Message: fmt.Sprintf(
					"backend %s:%d is already in pool %s as member %q (%s), which this cluster does not own; it is left alone and not added again",
					w.Address, w.Port, poolID, o.Name, o.ID)})
				continue
			}
			p.add = append(p.add, spec)
			continue
		}
		keep := cur[0]
		for _, extra := range cur[1:] {
			p.remove = append(p.remove, extra.ID)
		}
		if subnetChanged(class, w.SubnetID, keep.SubnetID) {
			p.remove = append(p.remove, keep.ID)
			p.readd = append(p.readd, spec)
			continue
		}
		if keep.Weight != w.Weight {
			p.update = append(p.update, elbclient.WeightUpdate{MemberID: keep.ID, Weight: w.Weight})
		}
	}
	for k, cur := range ours {
		if !seen[k] {
			for _, m := range cur {
				p.retire(m, dc)
			}
		}
	}
	slices.Sort(p.remove)
	return p
}

// subnetChanged: on union the client fills in the ELB's subnet when want is "", so "" matches any.
func subnetChanged(class elbrules.Class, want, have string) bool {
	if want == "" {
		return class == elbrules.ClassPerformance && have != ""
	}
	return want != have
}

// syncMembers makes this cluster's members in o's pool match want.Members. After an ambiguous
// failure, or when the ELB says a member already existed, it re-reads the pool and plans again, so
// a retry never adds a member twice. Releasing a port is the same call with no members wanted.
//
// Members no longer wanted drain for delay first (T1): weight 0, removed once the delay since
// they were first seen unwanted has passed. res.Draining and res.DrainWait say what still
// drains and when to come back.
func (d *Deployer) syncMembers(ctx context.Context, api elbclient.API, class elbrules.Class, ref model.ServiceRef, want model.Listener, delay time.Duration, o *observed, res *Result) error {
	have := o.members
	poolID := o.pool.ID
	for attempt := 1; ; attempt++ {
		plan := diffMembers(ref, want.Port, class, poolID, want.Members, have, d.drainClock(delay, have))
		again, err := d.execMembers(ctx, api, poolID, plan, res)
		if err == nil && (!again || attempt >= d.opts.Attempts) {
			res.Warnings = append(res.Warnings, plan.warnings...)
			d.noteDrains(have, plan.draining)
			res.noteDrain(len(plan.draining), plan.drainWait)
			res.noteHealth(have, ownership.MemberName(ref, want.Port))
			return nil
		}
		if err != nil {
			if q := d.quotaRefusal(ctx, err, o, plan, have); q != nil {
				res.Warnings = append(res.Warnings, plan.warnings...)
				return q
			}
			if !(elbclient.Retryable(err) || errors.Is(err, elbclient.ErrNotFound)) || attempt >= d.opts.Attempts {
				return fmt.Errorf("update members of pool %s (%s): %w", poolID, o, err)
			}
			d.opts.Logger.Info("member write failed, re-reading the pool before retrying", "pool", poolID, "attempt", attempt, "error", err.Error())
			if err := elbclient.Sleep(ctx, d.opts.Backoff<<(attempt-1)); err != nil {
				return err
			}
		}
		if have, err = api.ListMembers(ctx, poolID); err != nil {
			return fmt.Errorf("list members of pool %s: %w", poolID, err)
		}
	}
}

// chunks cuts xs into runs of at most elbrules.MaxBatchMembers.
func chunks[T any](xs []T) [][]T {
	var out [][]T
	for len(xs) > 0 {
		n := min(len(xs), elbrules.MaxBatchMembers)
		out = append(out, xs[:n])
		xs = xs[n:]
	}
	return out
}

// execMembers runs plan: removals and weight changes first, then additions (C2), so that an
// addition the ELB refuses (quota, subnet, busy) never holds back a removal or a weight change;
// each call names at most elbrules.MaxBatchMembers members. again reports that the ELB said some added
// member already existed, so the pool should be read again.
func (d *Deployer) execMembers(ctx context.Context, api elbclient.API, poolID string, plan memberPlan, res *Result) (again bool, err error) {
	for _, ids := range chunks(plan.remove) {
		if err := api.DeleteMembers(ctx, poolID, ids); err != nil {
			return again, err
		}
		res.MembersRemoved += len(ids)
		d.opts.Logger.Info("removed members", "pool", poolID, "count", len(ids))
	}
	for _, ups := range chunks(plan.update) {
		if err := api.UpdateMemberWeights(ctx, poolID, ups); err != nil {
			return again, err
		}
		res.MembersUpdated += len(ups)
		d.opts.Logger.Info("updated member weights", "pool", poolID, "count", len(ups))
	}
	for _, specs := range chunks(append(slices.Clip(plan.readd), plan.add...)) {
		added, err := api.AddMembers(ctx, poolID, specs)
		if err != nil {
			return again, err
		}
		for _, a := range added {
			if a.Existed {
				again = true
				continue
			}
			res.MembersAdded++
		}
		d.opts.Logger.Info("added members", "pool", poolID, "count", len(specs))
	}
	return again, nil
}

func ignoreNotFound(err error) error {
	if errors.Is(err, elbclient.ErrNotFound) {
		return nil
	}
	return err
}

// releaseListener removes this Service's binding to one listener per policy (package doc).
// member-only applies an empty desired state to the pool through the same diff as every Apply.
// Under member-only, this cluster's members drain for delay first (T1): until then the listener
// stays and res.Draining counts them.
func (d *Deployer) releaseListener(ctx context.Context, api elbclient.API, ref model.ServiceRef, policy model.RecyclePolicy, delay time.Duration, o *observed, res *Result) error {
	d.forget(ref)
	if policy == model.RecycleCascade {
		if o.marked && !o.mark.MultiCluster && !o.mark.IsService(ref) {
			res.Warnings = append(res.Warnings, Warning{Reason: WarnListenerSkipped, Message: fmt.Sprintf(
				"%s belongs to %s, which is not multi-cluster; cascade does not remove it", o, o.creator())})
			return nil
		}
		return d.deleteListener(ctx, api, o, true, res)
	}
	if o.pool != nil {
		// No members wanted on this port: the diff removes this cluster's members of the Service
		// (named for any of its ports), and nothing else.
		empty := model.Listener{Port: o.listener.Port, Protocol: o.listener.Protocol}
		draining := res.Draining
		if err := d.syncMembers(ctx, api, "", ref, empty, delay, o, res); err != nil {
			return fmt.Errorf("release this cluster's members from %s: %w", o, err)
		}
		if res.Draining > draining {
			return nil // the listener waits for the drain to end (T1)
		}
	}
	// The listener's creator removes it with its pool (whoever created the pool in a race), but
	// only while nobody else has a member in it.
	if !o.marked || !o.mark.IsService(ref) {
		return nil
	}
	return d.deleteListener(ctx, api, o, false, res)
}

// deleteListener removes the members (force only), the monitor, the pool and the listener, in
// that order (each step may be refused by an ELB while the next one still depends on it).
// Not-found is success. Without force (member-only), the pool is read first and anything found in
// it (another cluster attached meanwhile) leaves the whole listener in place: no member is ever
// deleted then. A pool that cannot be deleted after its monitor was gets the monitor back: a
// release never leaves a pool without its health check (C11).
func (d *Deployer) deleteListener(ctx context.Context, api elbclient.API, o *observed, force bool, res *Result) error {
	if o.pool != nil {
		// Read again: the pool may have got a monitor or members since it was observed.
		pool, err := api.GetPool(ctx, o.pool.ID)
		if err := ignoreNotFound(err); err != nil {
			return fmt.Errorf("read pool %s of %s: %w", o.pool.ID, o, err)
		}
		if pool == nil {
			o.pool = nil
		} else {
			o.pool = pool
		}
	}
	if o.pool != nil {
		members, err := api.ListMembers(ctx, o.pool.ID)
		if err := ignoreNotFound(err); err != nil {
			return fmt.Errorf("list members of pool %s: %w", o.pool.ID, err)
		}
		if !force && len(members) > 0 {
			return nil
		}
		if len(members) > 0 {
			ids := make([]string, len(members))
			for i, m := range members {
				ids[i] = m.ID
			}
			for _, part := range chunks(ids) {
				if err := ignoreNotFound(api.DeleteMembers(ctx, o.pool.ID, part)); err != nil {
					return fmt.Errorf("delete members of pool %s (%s): %w", o.pool.ID, o, err)
				}
			}
			res.MembersRemoved += len(ids)
		}
		var monitor *elbclient.HealthMonitor
		if o.pool.HealthMonitorID != "" {
			hm, err := api.GetHealthMonitor(ctx, o.pool.HealthMonitorID)
			if err := ignoreNotFound(err); err != nil {
				return fmt.Errorf("read health monitor %s of %s: %w", o.pool.HealthMonitorID, o, err)
			}
			if hm != nil {
				if err := ignoreNotFound(api.DeleteHealthMonitor(ctx, hm.ID)); err != nil {
					return fmt.Errorf("delete health monitor %s of %s: %w", hm.ID, o, err)
				}
				monitor = hm
			}
		}
		if err := ignoreNotFound(api.DeletePool(ctx, o.pool.ID)); err != nil {
			if monitor != nil {
				_, rerr := api.CreateHealthMonitor(ctx, elbclient.HealthMonitorSpec{PoolID: o.pool.ID, Name: o.pool.Name,
					Type: monitor.Type, Delay: monitor.Delay, Timeout: monitor.Timeout, MaxRetries: monitor.MaxRetries, URLPath: monitor.URLPath})
				if rerr != nil {
					return fmt.Errorf("delete pool %s of %s: %w; its health monitor could not be restored either: %v", o.pool.ID, o, err, rerr)
				}
			}
			if !force && errors.Is(err, elbclient.ErrConflict) {
				// Someone attached between our read and the delete: the listener stays theirs.
				d.opts.Logger.Info("pool in use again, listener kept", "pool", o.pool.ID, "error", err.Error())
				return nil
			}
			return fmt.Errorf("delete pool %s of %s: %w", o.pool.ID, o, err)
		}
	}
	if err := ignoreNotFound(api.DeleteListener(ctx, o.listener.ID)); err != nil {
		return fmt.Errorf("delete %s: %w", o, err)
	}
	res.ListenersDeleted++
	d.opts.Logger.Info("deleted listener", "listener", o.listener.ID, "port", o.listener.Port, "pool", poolIDOf(o))
	return nil
}

func poolIDOf(o *observed) string {
	if o.pool == nil {
		return ""
	}
	return o.pool.ID
}

// Release removes this Service's binding per desired.Recycle (see the package doc): the listeners
// this Service created or holds members in. desired needs Service, ELBID and Recycle; listeners
// and members are ignored. An unknown ELB is nothing to release.
func (d *Deployer) Release(ctx context.Context, desired model.Desired) (res Result, err error) {
	var writes atomic.Int64
	ctx = elbclient.WithWriteCounter(ctx, &writes)
	defer func() { res.Writes = int(writes.Load()) }()

	if r := validateRef(desired.Service); r != nil {
		return res, r
	}
	switch desired.Recycle {
	case "", model.RecycleMemberOnly, model.RecycleCascade:
	default:
		return res, refuse(ReasonInvalidDesired, "%s is %q; set %q (default) or %q", model.AnnotationRecyclePolicy, desired.Recycle, model.RecycleMemberOnly, model.RecycleCascade)
	}
	if desired.ELBID == "" {
		return res, nil
	}
	lb, err := d.client.GetLoadBalancer(ctx, desired.ELBID)
	if errors.Is(err, elbclient.ErrNotFound) {
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("read ELB %s: %w", desired.ELBID, err)
	}
	res.VIP = lb.VIP
	ctx = elbclient.WithLoadBalancer(ctx, lb.ID) // a busy 409 is waited out (C5)
	api := d.client.API(lb.Class)
	listeners, err := api.ListListeners(ctx, lb.ID)
	if err != nil {
		return res, fmt.Errorf("list listeners of ELB %s: %w", lb.ID, err)
	}
	var targets []*observed
	for _, l := range listeners {
		o, err := observe(ctx, api, l, false)
		if err != nil {
			return res, err
		}
		// Only the ELB says what the Service is bound to: a listener it created, or one holding
		// its members (also under cascade, which then takes the whole listener). A port match
		// alone is no proof: a Service whose Apply was refused, or whose bound ELB was edited,
		// never attached there, and cascade must not wipe other clusters' or VMs' listeners.
		if o.marked && o.mark.IsService(desired.Service) ||
			slices.ContainsFunc(o.members, func(m elbclient.Member) bool { return owns(desired.Service, m) }) {
			targets = append(targets, o)
		}
	}
	for _, o := range targets {
		// Cascade reclaims the Service's listeners, those on its ports. One it created but left
		// by an edit (a port changed or dropped) is others' now: member-only there (C1).
		policy := desired.Recycle
		if !wanted(desired, o.listener) {
			policy = model.RecycleMemberOnly
		}
		if err := d.releaseListener(ctx, api, desired.Service, policy, desired.DeregistrationDelay, o, &res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// SharedListeners is a read-only check for a Service WITHOUT multicluster that names an ELB
// (kubernetes.io/elb.id): it returns those of ports that land on a listener fleetlb marks
// multi-cluster, or whose pool holds fleetlb members (R6), so that the controller reports the
// conflict instead of letting the Service take the listener over. An unknown ELB returns (nil, nil).
func (d *Deployer) SharedListeners(ctx context.Context, elbID string, ports []int32) ([]SharedListener, error) {
	if elbID == "" || len(ports) == 0 {
		return nil, nil
	}
	lb, err := d.client.GetLoadBalancer(ctx, elbID)
	if errors.Is(err, elbclient.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read ELB %s: %w", elbID, err)
	}
	api := d.client.API(lb.Class)
	listeners, err := api.ListListeners(ctx, lb.ID)
	if err != nil {
		return nil, fmt.Errorf("list listeners of ELB %s: %w", lb.ID, err)
	}
	var out []SharedListener
	for _, l := range listeners {
		if !slices.Contains(ports, l.Port) {
			continue
		}
		mark, marked := ownership.ParseMark(l.Description)
		if marked && !mark.MultiCluster {
			continue
		}
		s := SharedListener{Port: l.Port, Protocol: l.Protocol, ListenerID: l.ID}
		if marked {
			s.Creator = mark.Creator()
			out = append(out, s)
			continue
		}
		o, err := observe(ctx, api, l, false)
		if err != nil {
			return nil, err
		}
		var holders []string
		for _, m := range o.members {
			if r, _, ok := ownership.ParseMemberName(m.Name); ok && !slices.Contains(holders, r.ClusterID) {
				holders = append(holders, r.ClusterID)
			}
		}
		if len(holders) > 0 {
			s.Creator = "made on the ELB; members of cluster(s) " + strings.Join(holders, ", ")
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b SharedListener) int { return int(a.Port - b.Port) })
	return out, nil
}
