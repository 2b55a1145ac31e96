package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/ownership"
	"github.com/fleetlb/fleetlb/internal/controller/model"
)

// Wanted says whether a Service of this cluster still wants its members on the listener
// protocol/port of ELB elbID.
type Wanted func(ref model.ServiceRef, elbID string, port int32, protocol string) bool

// holding is one listener where a Service of this cluster has members, or which it created.
type holding struct {
	lb  elbclient.LoadBalancer
	o   *observed
	ref model.ServiceRef
}

// Sweep finds, on every ELB of the project, the members named with clusterID (and the listeners
// this cluster's Services created) that no Service wants any more, and releases them member-only
// through the same diff as every Apply (C3): a Service deleted while the controller was down, its
// finalizer removed by hand; a port removed. Members of other cluster IDs and members without a
// fleetlb name are never touched. wanted is asked after the ELBs were read, so that a Service
// that bound meanwhile is seen by it.
func (d *Deployer) Sweep(ctx context.Context, clusterID string, wanted func(ctx context.Context) (Wanted, error)) (res Result, err error) {
	if err := ownership.CheckClusterID(clusterID); err != nil {
		return res, err
	}
	held, err := d.holdings(ctx, clusterID)
	if err != nil {
		return res, err
	}
	if len(held) == 0 {
		return res, nil
	}
	want, err := wanted(ctx)
	if err != nil {
		return res, err
	}
	var errs []error
	for _, h := range held {
		if want(h.ref, h.lb.ID, h.o.listener.Port, strings.ToUpper(h.o.listener.Protocol)) {
			continue
		}
		d.opts.Logger.Info("releasing members no Service wants", "elb", h.lb.ID, "listener", h.o.listener.ID, "port", h.o.listener.Port,
			"service", h.ref.Namespace+"/"+h.ref.Name)
		ctx := elbclient.WithLoadBalancer(ctx, h.lb.ID) // a busy 409 is waited out (C5)
		if err := d.releaseListener(ctx, d.client.API(h.lb.Class), h.ref, model.RecycleMemberOnly, d.opts.DeregistrationDelay, h.o, &res); err != nil {
			errs = append(errs, fmt.Errorf("ELB %s: %w", h.lb.ID, err))
		}
	}
	return res, errors.Join(errs...)
}

// membersOfLoadBalancer is implemented by the v3 API: every member of an ELB in one paged call.
type membersOfLoadBalancer interface {
	MembersOfLoadBalancer(ctx context.Context, lbID string) (map[string][]elbclient.Member, error)
}

// holdings reads every ELB's listeners and members: one list of ELBs, then per ELB one list of
// listeners and one list of all its members (v3), or one per pool (v2).
func (d *Deployer) holdings(ctx context.Context, clusterID string) ([]holding, error) {
	lbs, err := d.client.ListLoadBalancers(ctx)
	if err != nil {
		return nil, fmt.Errorf("list ELBs: %w", err)
	}
	var out []holding
	for _, lb := range lbs {
		api := d.client.API(lb.Class)
		listeners, err := api.ListListeners(ctx, lb.ID)
		if errors.Is(err, elbclient.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("list listeners of ELB %s: %w", lb.ID, err)
		}
		var byPool map[string][]elbclient.Member
		if all, ok := api.(membersOfLoadBalancer); ok && len(listeners) > 0 {
			if byPool, err = all.MembersOfLoadBalancer(ctx, lb.ID); err != nil {
				return nil, fmt.Errorf("list the members of ELB %s: %w", lb.ID, err)
			}
		}
		for _, l := range listeners {
			o := &observed{listener: l}
			o.mark, o.marked = ownership.ParseMark(l.Description)
			if byPool != nil && l.DefaultPoolID != "" {
				o.members, o.pool = byPool[l.DefaultPoolID], &elbclient.Pool{ID: l.DefaultPoolID}
			} else if l.DefaultPoolID != "" {
				ms, err := api.ListMembers(ctx, l.DefaultPoolID)
				if err := ignoreNotFound(err); err != nil {
					return nil, fmt.Errorf("list members of pool %s (%s): %w", l.DefaultPoolID, o, err)
				}
				if err == nil {
					o.members = ms
					o.pool = &elbclient.Pool{ID: l.DefaultPoolID}
				}
			}
			refs := map[model.ServiceRef]bool{}
			if o.marked && o.mark.ClusterID == clusterID {
				refs[model.ServiceRef{ClusterID: clusterID, Namespace: o.mark.Namespace, Name: o.mark.Service}] = true
			}
			for _, m := range o.members {
				if ref, _, ok := ownership.ParseMemberName(m.Name); ok && ref.ClusterID == clusterID {
					refs[ref] = true
				}
			}
			for ref := range refs {
				out = append(out, holding{lb: lb, o: o, ref: ref})
			}
		}
	}
	return out, nil
}

// AdoptClusterID renames, on every ELB of the project, what cluster oldID owns to newID (C4):
// members named fleetlb/<oldID>/... become fleetlb/<newID>/... (renamed in place: same address,
// weight and health, no traffic lost), and listener and pool marks naming oldID name newID. It
// is idempotent: run again after an interruption, it finishes the job.
func (d *Deployer) AdoptClusterID(ctx context.Context, oldID, newID string) (res Result, err error) {
	for _, id := range []string{oldID, newID} {
		if err := ownership.CheckClusterID(id); err != nil {
			return res, err
		}
	}
	held, err := d.holdings(ctx, oldID)
	if err != nil {
		return res, err
	}
	done := map[string]bool{} // listener IDs already renamed (one holding per Service)
	for _, h := range held {
		if done[h.o.listener.ID] {
			continue
		}
		done[h.o.listener.ID] = true
		ctx := elbclient.WithLoadBalancer(ctx, h.lb.ID) // a busy 409 is waited out (C5)
		api := d.client.API(h.lb.Class)
		var renames []elbclient.MemberRename
		for _, m := range h.o.members {
			if ref, port, ok := ownership.ParseMemberName(m.Name); ok && ref.ClusterID == oldID {
				ref.ClusterID = newID
				renames = append(renames, elbclient.MemberRename{MemberID: m.ID, Name: ownership.MemberName(ref, port)})
			}
		}
		for _, part := range chunks(renames) {
			if err := api.RenameMembers(ctx, h.o.pool.ID, part); err != nil {
				return res, fmt.Errorf("rename members of pool %s (%s) on ELB %s: %w", h.o.pool.ID, h.o, h.lb.ID, err)
			}
			res.MembersUpdated += len(part)
		}
		if h.o.marked && h.o.mark.ClusterID == oldID {
			m := h.o.mark
			m.ClusterID = newID
			if err := api.UpdateListenerDescription(ctx, h.o.listener.ID, ownership.FormatMark(m)); err != nil {
				return res, fmt.Errorf("re-mark %s on ELB %s: %w", h.o, h.lb.ID, err)
			}
		}
		if h.o.pool != nil {
			p, err := api.GetPool(ctx, h.o.pool.ID)
			if err := ignoreNotFound(err); err != nil {
				return res, fmt.Errorf("read pool %s (%s): %w", h.o.pool.ID, h.o, err)
			}
			if pm, ok := ownership.ParseMark(descriptionOf(p)); ok && pm.ClusterID == oldID {
				pm.ClusterID = newID
				if err := api.UpdatePoolDescription(ctx, p.ID, ownership.FormatMark(pm)); err != nil {
					return res, fmt.Errorf("re-mark pool %s (%s): %w", p.ID, h.o, err)
				}
			}
		}
	}
	d.mu.Lock()
	clear(d.known)
	d.mu.Unlock()
	return res, nil
}

func descriptionOf(p *elbclient.Pool) string {
	if p == nil {
		return ""
	}
	return p.Description
}

// Owns reports whether any ELB of the project holds a member named with clusterID or a listener
// marked as created by it.
func (d *Deployer) Owns(ctx context.Context, clusterID string) (bool, error) {
	if err := ownership.CheckClusterID(clusterID); err != nil {
		return false, err
	}
	held, err := d.holdings(ctx, clusterID)
	return len(held) > 0, err
}
