package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/ownership"
	"github.com/fleetlb/fleetlb/internal/controller/model"
)

// observed is one listener as read from the ELB, with its pool, monitor and members.
type observed struct {
	listener   elbclient.Listener
	mark       ownership.Mark
	marked     bool
	pool       *elbclient.Pool // nil: the listener has no default pool
	poolMark   ownership.Mark
	poolMarked bool
	monitor    *elbclient.HealthMonitor // nil: none (or not read)
	members    []elbclient.Member
	knownAs    string // set when only the pool is known (a resync): how to name it in messages
}

// creator describes who made a listener, for messages.
func (o *observed) creator() string {
	if o.marked {
		return "Service " + o.mark.Namespace + "/" + o.mark.Service + " of cluster " + o.mark.ClusterID
	}
	return "someone on the ELB (no fleetlb mark)"
}

func (o *observed) String() string {
	if o.knownAs != "" {
		return o.knownAs
	}
	return fmt.Sprintf("listener %s/%d (%s)", o.listener.Protocol, o.listener.Port, o.listener.ID)
}

// owns reports whether member m was made by this cluster for Service ref (any port).
func owns(ref model.ServiceRef, m elbclient.Member) bool {
	r, _, ok := ownership.ParseMemberName(m.Name)
	return ok && r == ref
}

// observe reads a listener's pool and members; withMonitor also reads the health monitor.
func observe(ctx context.Context, api elbclient.API, l elbclient.Listener, withMonitor bool) (*observed, error) {
	o := &observed{listener: l}
	o.mark, o.marked = ownership.ParseMark(l.Description)
	if l.DefaultPoolID == "" {
		return o, nil
	}
	pool, err := api.GetPool(ctx, l.DefaultPoolID)
	if errors.Is(err, elbclient.ErrNotFound) {
		return o, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read pool %s of %s: %w", l.DefaultPoolID, o, err)
	}
	o.pool = pool
	o.poolMark, o.poolMarked = ownership.ParseMark(pool.Description)
	if o.members, err = api.ListMembers(ctx, pool.ID); err != nil {
		return nil, fmt.Errorf("list members of pool %s: %w", pool.ID, err)
	}
	if withMonitor && pool.HealthMonitorID != "" {
		hm, err := api.GetHealthMonitor(ctx, pool.HealthMonitorID)
		if err != nil && !errors.Is(err, elbclient.ErrNotFound) {
			return nil, fmt.Errorf("read health monitor %s of pool %s: %w", pool.HealthMonitorID, pool.ID, err)
		}
		o.monitor = hm
	}
	return o, nil
}

// portPlan is one desired listener and what the ELB has for it (obs nil: nothing yet).
type portPlan struct {
	want model.Listener
	obs  *observed
}

// Apply makes the ELB hold desired: listeners (created when absent), and exactly this cluster's
// desired members for this Service on each port. Listeners on the desired ports and on
// desired.PreviousPorts that hold this cluster's members of the Service but are no longer desired
// (a port dropped, TCP switched to UDP) are released member-only, whatever desired.Recycle says:
// cascade is for deleting the Service only (C1).
//
// A port refused while reading (a *Refusal: R6, R9, R11) is not written, and nothing new is made
// nor any old port released then; the ports already holding the Service's members still follow
// its Pods. Each port is
// applied on its own (C2): one port's failure (a refused batch add, a quota) does not stop the
// others, nor the removals and weight changes of its own pool, which go first; the errors are
// joined.
func (d *Deployer) Apply(ctx context.Context, desired model.Desired) (res Result, err error) {
	var writes atomic.Int64
	ctx = elbclient.WithWriteCounter(ctx, &writes)
	defer func() { res.Writes = int(writes.Load()) }()

	if r := validateDesired(desired); r != nil {
		return res, r
	}
	placed, err := d.placeKnown(ctx, &desired) // members' subnets (C7) on the known path too
	if err != nil {
		return res, err
	}
	if placed {
		if done, err := d.applyKnown(ctx, desired, &res); done {
			return res, err
		}
	}
	lb, err := d.loadBalancer(ctx, desired)
	if err != nil {
		return res, err
	}
	res.VIP = lb.VIP
	ctx = elbclient.WithLoadBalancer(ctx, lb.ID) // a busy 409 is waited out (C5)
	if err := d.placeMembers(ctx, lb, &desired); err != nil {
		return res, err
	}
	api := d.client.API(lb.Class)

	// One filtered list call per port (C6): the desired ports and those bound before.
	onPort := map[int32][]elbclient.Listener{}
	for _, port := range lookedAtPorts(desired) {
		ls, err := api.ListListenersOnPort(ctx, lb.ID, port)
		if err != nil {
			return res, fmt.Errorf("list listeners on port %d of ELB %s: %w", port, lb.ID, err)
		}
		onPort[port] = ls
	}

	// Read and check every port before the first write.
	plans := make([]portPlan, 0, len(desired.Listeners))
	var errs []error
	for _, want := range desired.Listeners {
		p, err := d.planPort(ctx, api, lb, desired, want, onPort[want.Port])
		var r *Refusal
		if errors.As(err, &r) {
			errs = append(errs, err)
			continue
		}
		if err != nil {
			return res, err
		}
		plans = append(plans, p)
	}
	if len(errs) > 0 {
		// A refused port holds back no port the Service is already bound to (C2): those keep
		// following its Pods. Nothing new is made (no listener, no first member) until the
		// Service is fixed.
		plans = slices.DeleteFunc(plans, func(p portPlan) bool {
			return p.obs == nil || !slices.ContainsFunc(p.obs.members, func(m elbclient.Member) bool { return owns(desired.Service, m) })
		})
	}
	var stale []*observed
	if len(errs) == 0 {
		// A refused Service releases no port it no longer has: a port moved onto a refused one
		// keeps serving where it was until the move can be made, as a refused elb.id does.
		var err error
		if stale, err = d.staleListeners(ctx, api, desired, onPort); err != nil {
			return res, err
		}
	}

	d.forget(desired.Service)
	for _, p := range plans {
		o, err := d.applyPort(ctx, api, lb, desired, p, &res)
		var race *listenerRace
		if errors.As(err, &race) {
			// Another cluster created the listener between our read and our write: read again
			// and attach to it, with the same checks as any existing listener.
			d.opts.Logger.Info("listener appeared concurrently, attaching", "elb", lb.ID, "port", p.want.Port)
			if p, err = d.replanPort(ctx, api, lb, desired, p.want); err == nil {
				o, err = d.applyPort(ctx, api, lb, desired, p, &res)
			}
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		res.ListenerPorts = append(res.ListenerPorts, p.want.Port)
		d.remember(desired, lb, p.want, o, res.Warnings)
	}
	slices.Sort(res.ListenerPorts)
	res.ListenerPorts = slices.Compact(res.ListenerPorts)
	for _, o := range stale {
		if err := d.releaseListener(ctx, api, desired.Service, model.RecycleMemberOnly, desired.DeregistrationDelay, o, &res); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		d.forget(desired.Service)
	}
	return res, errors.Join(errs...)
}

// lookedAtPorts are the ports whose listeners Apply reads: the desired ones and those the
// Service was bound to before, ascending, each once.
func lookedAtPorts(desired model.Desired) []int32 {
	var ports []int32
	for _, l := range desired.Listeners {
		ports = append(ports, l.Port)
	}
	ports = append(ports, desired.PreviousPorts...)
	slices.Sort(ports)
	return slices.Compact(ports)
}

// transport is the transport a listener protocol receives on: listeners of one ELB port must
// differ in it (services/elb/v3/model/model_create_listener_option.go, protocol_port: "QUIC和UDP
// 监听器端口不能重复。TCP、HTTP、HTTPS监听器之间端口不能重复"), so TCP and UDP share a port.
func transport(protocol string) string {
	switch strings.ToUpper(protocol) {
	case "UDP", "QUIC":
		return "UDP"
	}
	return "TCP"
}

// planPort finds the listener for want among the port's listeners and refuses what must not be
// touched (R6, R9, R11).
func (d *Deployer) planPort(ctx context.Context, api elbclient.API, lb *elbclient.LoadBalancer, desired model.Desired, want model.Listener, listeners []elbclient.Listener) (portPlan, error) {
	p := portPlan{want: want}
	var match *elbclient.Listener
	for i, l := range listeners {
		if l.Port != want.Port {
			continue
		}
		if !strings.EqualFold(l.Protocol, want.Protocol) {
			if transport(l.Protocol) == transport(want.Protocol) {
				return p, refuse(ReasonProtocolConflict, "port %d of ELB %s already has a %s listener (%s), but the Service asks for %s; change the Service port or its protocol, or remove that listener from the ELB",
					want.Port, lb.ID, l.Protocol, l.ID, want.Protocol)
			}
			continue // TCP and UDP listeners on one port are two listeners (C11)
		}
		match = &listeners[i]
	}
	if match == nil {
		return p, nil
	}
	o, err := observe(ctx, api, *match, true)
	if err != nil {
		return p, err
	}
	if (o.marked && !o.mark.MultiCluster) || (o.poolMarked && !o.poolMark.MultiCluster) {
		owner := o.mark
		if !o.marked {
			owner = o.poolMark
		}
		return p, refuse(ReasonListenerNotShared, "%s of ELB %s belongs to Service %s/%s of cluster %s, which is not multi-cluster; only listeners of Services with %s: 'true' (or made by hand) can be shared, so use another port or ELB, or set %s: 'true' on that Service",
			o, lb.ID, owner.Namespace, owner.Service, owner.ClusterID, model.AnnotationMultiCluster, model.AnnotationMultiCluster)
	}
	if o.pool != nil {
		if desired.MultiVPC && o.pool.Type == "instance" {
			return p, refuse(ReasonMultiVPCInvalid, "pool %s of %s accepts only instance-type (same-VPC) members, but %s adds IP-type members; remove %s or use another port", o.pool.ID, o, model.AnnotationMultiVPC, model.AnnotationMultiVPC)
		}
		if desired.MultiVPC && !strings.EqualFold(o.pool.Protocol, "TCP") {
			return p, refuse(ReasonMultiVPCInvalid, "pool %s of %s is %s, but %s needs a TCP backend group; remove %s or use another port", o.pool.ID, o, o.pool.Protocol, model.AnnotationMultiVPC, model.AnnotationMultiVPC)
		}
		if !desired.MultiVPC && o.pool.Type == "ip" {
			return p, refuse(ReasonMultiVPCInvalid, "pool %s of %s accepts only IP-type members; set %s: 'true' to add this cluster's members as IP-type members", o.pool.ID, o, model.AnnotationMultiVPC)
		}
	}
	p.obs = o
	return p, nil
}

// listenerRace: creating a listener failed with 409, most likely because another cluster created
// one on the same port first.
type listenerRace struct{ err error }

func (r *listenerRace) Error() string { return r.err.Error() }
func (r *listenerRace) Unwrap() error { return r.err }

// replanPort reads the listeners again and plans want against what is there now.
func (d *Deployer) replanPort(ctx context.Context, api elbclient.API, lb *elbclient.LoadBalancer, desired model.Desired, want model.Listener) (portPlan, error) {
	listeners, err := api.ListListenersOnPort(ctx, lb.ID, want.Port)
	if err != nil {
		return portPlan{}, fmt.Errorf("list listeners on port %d of ELB %s: %w", want.Port, lb.ID, err)
	}
	p, err := d.planPort(ctx, api, lb, desired, want, listeners)
	if err == nil && p.obs == nil {
		return p, fmt.Errorf("ELB %s refused a %s listener on port %d as a conflict, but has none there; will retry", lb.ID, want.Protocol, want.Port)
	}
	return p, err
}

// staleListeners are the listeners on the looked-at ports that the Service no longer wants and
// that still hold this cluster's members of the Service, or were created by it.
func (d *Deployer) staleListeners(ctx context.Context, api elbclient.API, desired model.Desired, onPort map[int32][]elbclient.Listener) ([]*observed, error) {
	var out []*observed
	for _, port := range lookedAtPorts(desired) {
		for _, l := range onPort[port] {
			if wanted(desired, l) {
				continue
			}
			o, err := observe(ctx, api, l, false)
			if err != nil {
				return nil, err
			}
			if o.marked && o.mark.IsService(desired.Service) || slices.ContainsFunc(o.members, func(m elbclient.Member) bool { return owns(desired.Service, m) }) {
				out = append(out, o)
			}
		}
	}
	return out, nil
}

func wanted(desired model.Desired, l elbclient.Listener) bool {
	for _, w := range desired.Listeners {
		if w.Port == l.Port && strings.EqualFold(w.Protocol, l.Protocol) {
			return true
		}
	}
	return false
}

func (d *Deployer) applyPort(ctx context.Context, api elbclient.API, lb *elbclient.LoadBalancer, desired model.Desired, p portPlan, res *Result) (*observed, error) {
	ref := desired.Service
	mark := ownership.FormatMark(ownership.MarkFor(ref))
	o := p.obs
	if o == nil {
		l, err := api.CreateListener(ctx, elbclient.ListenerSpec{
			LoadBalancerID: lb.ID,
			Name:           resourceName(ref, p.want.Port),
			Description:    mark,
			Protocol:       p.want.Protocol,
			Port:           p.want.Port,
		})
		if err != nil {
			err = fmt.Errorf("create %s listener on port %d of ELB %s: %w", p.want.Protocol, p.want.Port, lb.ID, err)
			if errors.Is(err, elbclient.ErrConflict) {
				return nil, &listenerRace{err}
			}
			return nil, err
		}
		d.opts.Logger.Info("created listener", "elb", lb.ID, "listener", l.ID, "port", l.Port, "protocol", l.Protocol)
		res.ListenersCreated++
		o = &observed{listener: *l, mark: ownership.MarkFor(ref), marked: true}
	}
	if o.pool == nil {
		pool, err := api.CreatePool(ctx, elbclient.PoolSpec{
			ListenerID:  o.listener.ID,
			Name:        resourceName(ref, p.want.Port),
			Description: mark,
			Protocol:    p.want.Protocol,
			Algorithm:   algorithm(p.want.Pool),

			ConnectionDrain: connectionDrain(lb.Class, desired.DeregistrationDelay),
		})
		if err != nil {
			return nil, fmt.Errorf("create pool for %s: %w", o, err)
		}
		d.opts.Logger.Info("created pool", "elb", lb.ID, "listener", o.listener.ID, "pool", pool.ID)
		o.pool, o.poolMark, o.poolMarked = pool, ownership.MarkFor(ref), true
	}
	// The Service that created the pool keeps it as it asks (C11): algorithm and health check
	// follow its annotations, and a monitor is created when missing (also when an earlier Apply
	// stopped between pool and monitor). Anyone else's pool keeps its configuration (R5).
	if o.poolMarked && o.poolMark.IsService(ref) {
		if err := d.syncPoolSettings(ctx, api, ref, p.want, o); err != nil {
			return nil, err
		}
	} else if diffs := configDiffs(p.want, o); len(diffs) > 0 {
		res.Warnings = append(res.Warnings, Warning{Reason: WarnConfigDiffers, Message: fmt.Sprintf(
			"%s keeps the configuration of its creator, %s (R5): %s; this Service's wishes are not applied — align the Service's annotations or change the pool on the ELB",
			o, o.creator(), strings.Join(diffs, "; "))})
	}
	if w := sourceIPWarning(o.String(), o.pool.Algorithm, ref, desired.Weight, p.want, o.members); w != nil {
		res.Warnings = append(res.Warnings, *w) // C10
	}
	return o, d.syncMembers(ctx, api, lb.Class, ref, p.want, desired.DeregistrationDelay, o, res)
}

// syncPoolSettings makes the creator's pool use the algorithm and health check its Service asks
// for (C11). A health check the Service turns off is left in place: a pool is never left without
// the monitor it has (the members would then count as healthy whatever their state).
func (d *Deployer) syncPoolSettings(ctx context.Context, api elbclient.API, ref model.ServiceRef, want model.Listener, o *observed) error {
	if alg := algorithm(want.Pool); !strings.EqualFold(o.pool.Algorithm, alg) {
		if err := api.UpdatePoolAlgorithm(ctx, o.pool.ID, alg); err != nil {
			return fmt.Errorf("change the algorithm of pool %s (%s) to %s: %w", o.pool.ID, o, alg, err)
		}
		d.opts.Logger.Info("changed pool algorithm", "pool", o.pool.ID, "algorithm", alg)
		o.pool.Algorithm = alg
	}
	hm := want.Pool.HealthMonitor
	if hm == nil {
		return nil
	}
	spec := elbclient.HealthMonitorSpec{PoolID: o.pool.ID, Name: resourceName(ref, want.Port),
		Type: hm.Type, Delay: hm.Delay, Timeout: hm.Timeout, MaxRetries: hm.MaxRetries, URLPath: hm.URLPath}
	switch {
	case o.pool.HealthMonitorID == "" || o.monitor == nil:
		created, err := api.CreateHealthMonitor(ctx, spec)
		if err != nil {
			return fmt.Errorf("create health monitor for pool %s: %w", o.pool.ID, err)
		}
		o.pool.HealthMonitorID, o.monitor = created.ID, created
	case !sameMonitor(hm, o.monitor):
		if err := api.UpdateHealthMonitor(ctx, o.monitor.ID, spec); err != nil {
			return fmt.Errorf("change health monitor %s of pool %s: %w", o.monitor.ID, o.pool.ID, err)
		}
		d.opts.Logger.Info("changed health monitor", "pool", o.pool.ID, "monitor", o.monitor.ID)
		o.monitor.Type, o.monitor.Delay, o.monitor.Timeout, o.monitor.MaxRetries, o.monitor.URLPath = hm.Type, hm.Delay, hm.Timeout, hm.MaxRetries, hm.URLPath
	}
	return nil
}

func sameMonitor(w *model.HealthMonitor, got *elbclient.HealthMonitor) bool {
	return strings.EqualFold(w.Type, got.Type) && w.Delay == got.Delay && w.Timeout == got.Timeout && w.MaxRetries == got.MaxRetries &&
		(!strings.EqualFold(w.Type, "HTTP") || w.URLPath == got.URLPath)
}

// configDiffs lists how the pool differs from what the Service would have created.
func configDiffs(want model.Listener, o *observed) []string {
	var out []string
	if got, w := o.pool.Algorithm, algorithm(want.Pool); !strings.EqualFold(got, w) {
		out = append(out, fmt.Sprintf("algorithm is %s, this Service asks for %s", got, w))
	}
	if !strings.EqualFold(o.pool.Protocol, want.Protocol) {
		out = append(out, fmt.Sprintf("pool protocol is %s, this Service asks for %s", o.pool.Protocol, want.Protocol))
	}
	w, got := want.Pool.HealthMonitor, o.monitor
	switch {
	case w == nil && got != nil:
		out = append(out, fmt.Sprintf("the pool has a %s health check, this Service asks for none", got.Type))
	case w != nil && got == nil:
		out = append(out, fmt.Sprintf("the pool has no health check, this Service asks for %s", describeMonitor(w.Type, w.Delay, w.Timeout, w.MaxRetries, w.URLPath)))
	case w != nil && got != nil:
		if !sameMonitor(w, got) {
			out = append(out, fmt.Sprintf("health check is %s, this Service asks for %s",
				describeMonitor(got.Type, got.Delay, got.Timeout, got.MaxRetries, got.URLPath),
				describeMonitor(w.Type, w.Delay, w.Timeout, w.MaxRetries, w.URLPath)))
		}
	}
	return out
}

func describeMonitor(typ string, delay, timeout, retries int32, path string) string {
	s := fmt.Sprintf("%s every %ds, timeout %ds, %d retries", typ, delay, timeout, retries)
	if strings.EqualFold(typ, "HTTP") {
		s += ", path " + path
	}
	return s
}

func algorithm(p model.Pool) string {
	if p.Algorithm == "" {
		return model.DefaultAlgorithm
	}
	return p.Algorithm
}

// resourceName is a listener's or pool's name: for people; the description carries the mark.
func resourceName(ref model.ServiceRef, port int32) string {
	n := fmt.Sprintf("fleetlb-%s-%s-%d", ref.Namespace, ref.Name, port)
	if len(n) > 255 {
		n = n[:255]
	}
	return n
}
