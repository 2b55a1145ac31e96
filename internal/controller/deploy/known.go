package deploy

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/controller/model"
)

// What an Apply learnt about a Service's listeners, so that the next Apply of the same shape (a
// resync, a weight or endpoint change) reads only each port's members: one read per port, and no
// write when nothing changed (C6). Everything else (the ELB, the listeners, pool settings) is read
// again when the Service's shape changes, after any error, after a release, and at the latest
// after Options.Reread.

type knownKey struct {
	svc      model.ServiceRef
	elbID    string
	port     int32
	protocol string
}

type knownPort struct {
	class    elbrules.Class
	multiVPC bool
	pool     model.Pool // the pool settings applied
	vip      string
	poolID   string
	what     string    // "listener TCP/80 (id)", for messages
	algo     string    // the pool's lb_algorithm (C10's SOURCE_IP warning)
	warnings []Warning // R5 warnings seen when read
	at       time.Time
}

func keyOf(desired model.Desired, l model.Listener) knownKey {
	return knownKey{svc: desired.Service, elbID: desired.ELBID, port: l.Port, protocol: strings.ToUpper(l.Protocol)}
}

// remember records a port Apply just brought in line.
func (d *Deployer) remember(desired model.Desired, lb *elbclient.LoadBalancer, want model.Listener, o *observed, warnings []Warning) {
	if o == nil || o.pool == nil {
		return
	}
	var own []Warning
	for _, w := range warnings {
		if w.Reason == WarnConfigDiffers && strings.Contains(w.Message, o.String()) {
			own = append(own, w)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.known[keyOf(desired, want)] = knownPort{class: lb.Class, multiVPC: desired.MultiVPC, pool: want.Pool, vip: lb.VIP,
		poolID: o.pool.ID, what: o.String(), algo: o.pool.Algorithm, warnings: own, at: d.now()}
}

// forget drops what is known about a Service's listeners (all ELBs).
func (d *Deployer) forget(ref model.ServiceRef) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k := range d.known {
		if k.svc == ref {
			delete(d.known, k)
		}
	}
}

// applyKnown applies desired when every port is known with the same shape: it reads each
// port's members and writes only the differences. done is false when the full path must run
// (nothing was written then).
func (d *Deployer) applyKnown(ctx context.Context, desired model.Desired, res *Result) (done bool, err error) {
	ports, ok := d.knownPorts(desired)
	if !ok {
		return false, nil
	}
	api := d.client.API(ports[0].class)
	have := make([][]elbclient.Member, len(ports))
	for i, k := range ports {
		ms, err := api.ListMembers(ctx, k.poolID)
		if err != nil {
			// Gone (deleted by hand) or unreadable: read everything again.
			d.forget(desired.Service)
			if errors.Is(err, elbclient.ErrNotFound) {
				return false, nil
			}
			return true, err
		}
		have[i] = ms
	}
	res.VIP = ports[0].vip
	var errs []error
	for i, k := range ports {
		want := desired.Listeners[i]
		o := &observed{pool: &elbclient.Pool{ID: k.poolID}, members: have[i], knownAs: k.what}
		res.Warnings = append(res.Warnings, k.warnings...)
		if w := sourceIPWarning(k.what, k.algo, desired.Service, desired.Weight, want, have[i]); w != nil {
			res.Warnings = append(res.Warnings, *w) // C10
		}
		if err := d.syncMembers(ctx, api, k.class, desired.Service, want, desired.DeregistrationDelay, o, res); err != nil {
			errs = append(errs, err)
			continue
		}
		res.ListenerPorts = append(res.ListenerPorts, want.Port)
	}
	slices.Sort(res.ListenerPorts)
	res.ListenerPorts = slices.Compact(res.ListenerPorts)
	if len(errs) > 0 {
		d.forget(desired.Service)
	}
	return true, errors.Join(errs...)
}

// knownPorts returns the known state of every desired port, in desired.Listeners' order, when the
// Service's shape is unchanged: the same ELB, class, multivpc, pool settings and set of ports, no
// earlier port to release, and nothing older than Options.Reread.
func (d *Deployer) knownPorts(desired model.Desired) ([]knownPort, bool) {
	if len(desired.Listeners) == 0 {
		return nil, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for k := range d.known {
		if k.svc == desired.Service {
			n++
		}
	}
	if n != len(desired.Listeners) {
		return nil, false
	}
	for _, p := range desired.PreviousPorts {
		if !slices.ContainsFunc(desired.Listeners, func(l model.Listener) bool { return l.Port == p }) {
			return nil, false
		}
	}
	out := make([]knownPort, 0, len(desired.Listeners))
	for _, l := range desired.Listeners {
		k, ok := d.known[keyOf(desired, l)]
		if !ok || k.class != desired.Class || k.multiVPC != desired.MultiVPC || !reflect.DeepEqual(k.pool, l.Pool) ||
			d.now().Sub(k.at) > d.opts.Reread {
			return nil, false
		}
		out = append(out, k)
	}
	return out, true
}
