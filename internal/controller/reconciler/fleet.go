package reconciler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/fleetops"
	"github.com/fleetlb/fleetlb/internal/common/fleetrecord"
	"github.com/fleetlb/fleetlb/internal/common/fleetview"
	"github.com/fleetlb/fleetlb/internal/controller/model"
)

// The fleet (T10–T15): on every listener its Services use, the controller keeps this cluster's
// record (requested weight, heartbeat, install ID) in a listener tag, refreshed on change and
// every heartbeat period; from the records and the pool it writes the fleet view on the Service
// (model.AnnotationFleetView) and warns when this cluster's share is off; it stops changing
// members on an ELB where another live install records the same cluster ID; and, when asked
// (--reclaim-stale-after), removes the members of owners whose heartbeat stopped.

// Event reasons of the fleet.
const (
	ReasonFleetShareOff      = "FleetShareDiffers"
	ReasonFleetRecordNoRoom  = "FleetRecordNoRoom"
	ReasonFleetRecordFailed  = "FleetRecordFailed"
	ReasonClusterIDCollision = "ClusterIDCollision"
	ReasonStaleOwnerReclaim  = "StaleOwnerReclaimed"
)

// InstallIDKeyFor is the key of ConfigMap kube-system/fleetlb-cluster-id holding the install ID
// of the controller serving class ("" = none), beside its cluster ID.
func InstallIDKeyFor(class string) string {
	return "install-" + ClusterIDKeyFor(class)
}

// ResolveInstallID returns this install's ID, made once (fleetrecord.NewInstallID) and recorded
// in the cluster-ID ConfigMap (which ResolveClusterID has written). A cluster restored from
// another's etcd backup carries the same ID: see T15.
func ResolveInstallID(ctx context.Context, cs kubernetes.Interface, key string) (string, error) {
	cms := cs.CoreV1().ConfigMaps(metav1.NamespaceSystem)
	for attempt := 0; ; attempt++ {
		cm, err := cms.Get(ctx, ClusterIDConfigMap, metav1.GetOptions{})
		if err != nil {
			return "", fmt.Errorf("read the install ID (ConfigMap kube-system/%s): %w", ClusterIDConfigMap, err)
		}
		if id := cm.Data[key]; id != "" {
			return id, nil
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		id := fleetrecord.NewInstallID()
		cm.Data[key] = id
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) && attempt < 5 {
			continue // another replica wrote meanwhile: take its ID
		}
		if err != nil {
			return "", fmt.Errorf("record the install ID in ConfigMap kube-system/%s: %w", ClusterIDConfigMap, err)
		}
		return id, nil
	}
}

// Fleet keeps this cluster's records and judges the fleet. nil: no records (union ELBs only,
// or tests of other things).
type Fleet struct {
	ELB       elbclient.Client
	ClusterID string
	InstallID string
	// Heartbeat is how often the records are refreshed (--fleet-heartbeat); TTL how old a
	// heartbeat may be before its owner is stale (--fleet-stale-after); ReclaimAfter, when > 0,
	// removes the members of owners stale for that long (--reclaim-stale-after).
	Heartbeat, TTL, ReclaimAfter time.Duration
	Now                          func() time.Time

	collisions *prometheus.GaugeVec // fleetlb_fleet_cluster_id_collision{elb}
	noRoom     *prometheus.GaugeVec // fleetlb_fleet_record_missing{namespace,service,port}
	reclaimed  prometheus.Counter   // fleetlb_fleet_stale_members_reclaimed_total

	mu sync.Mutex
	// beats: listener ID → when this cluster's record was last written there, with what weight.
	// The heartbeat is per listener (F12): Services of this cluster that share a listener
	// refresh its record once per period between them, not once each.
	beats map[string]beat
	// serves: Service → the listeners its records were last written on, with its weight and
	// ports then; a Service whose listeners all had their heartbeat reads nothing (due).
	serves  map[types.NamespacedName]serving
	wrote   map[string]string // listener ID → the record (tag value) this process last wrote there
	foreign map[string]sawFor // ELB ID → the last fresh record of another install of our cluster ID
}

type beat struct {
	at     time.Time
	weight int
}

type serving struct {
	listeners []string
	weight    int
	ports     string
}

type sawFor struct {
	at      time.Time
	install string
	// same: the other writer has this install's own ID (a copy of this cluster: restored from
	// its etcd backup, ConfigMap included, or a second replica without --leader-elect).
	same bool
}

// NewFleet returns f with its metrics registered on reg (nil: none) and defaults filled.
func NewFleet(f *Fleet, reg prometheus.Registerer) *Fleet {
	if f.Heartbeat <= 0 {
		f.Heartbeat = fleetrecord.DefaultHeartbeat
	}
	if f.TTL <= 0 {
		f.TTL = fleetrecord.DefaultTTL
	}
	if f.Now == nil {
		f.Now = time.Now
	}
	f.collisions = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "fleetlb_fleet_cluster_id_collision",
		Help: "1 while another live install records this cluster's ID on the ELB: member changes there are stopped (T15)."}, []string{"elb"})
	f.noRoom = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "fleetlb_fleet_record_missing",
		Help: "1 when this cluster's fleet record could not be written on a Service port's listener (20 tags already, T11)."}, []string{"namespace", "service", "port"})
	f.reclaimed = prometheus.NewCounter(prometheus.CounterOpts{Name: "fleetlb_fleet_stale_members_reclaimed_total",
		Help: "Members of stale owners removed by --reclaim-stale-after (T14)."})
	if reg != nil {
		f.collisions = register(reg, f.collisions)
		f.noRoom = register(reg, f.noRoom)
		f.reclaimed = register(reg, f.reclaimed)
	}
	f.beats, f.serves, f.wrote, f.foreign = map[string]beat{}, map[types.NamespacedName]serving{}, map[string]string{}, map[string]sawFor{}
	return f
}

// collided returns the other writer seen recording our cluster ID on elbID within the TTL; ok
// is false when there was none.
func (f *Fleet) collided(elbID string) (sawFor, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.foreign[elbID]
	if ok && f.Now().Sub(s.at) > f.TTL {
		delete(f.foreign, elbID)
		f.collisions.DeleteLabelValues(elbID)
		return sawFor{}, false
	}
	return s, ok
}

// due reports whether the Service's records need reading and writing: never written, its weight
// or ports changed, or the heartbeat period passed on one of its listeners (whichever Service
// of this cluster wrote there last).
func (f *Fleet) due(key types.NamespacedName, d model.Desired) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.serves[key]
	if !ok || s.weight != d.Weight || s.ports != portsKey(d) {
		return true
	}
	return slices.ContainsFunc(s.listeners, func(id string) bool { return f.beatDue(id, d.Weight) })
}

// beatDue: the record on listener id is older than the heartbeat period, was written with
// another weight, or was never written by this process. f.mu is held.
func (f *Fleet) beatDue(id string, weight int) bool {
	b, ok := f.beats[id]
	return !ok || b.weight != weight || f.Now().Sub(b.at) >= f.Heartbeat
}

// fresh reports whether this cluster's record on l is this process's last write there, at
// weight, within the heartbeat period: then it needs no write (F12).
func (f *Fleet) fresh(l fleetops.Listener, weight int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	last, wrote := f.wrote[l.Listener.ID]
	return wrote && l.Tag(f.ClusterID) == last && !f.beatDue(l.Listener.ID, weight)
}

func portsKey(d model.Desired) string {
	var ps []string
	for _, l := range d.Listeners {
		ps = append(ps, l.Protocol+"/"+strconv.Itoa(int(l.Port)))
	}
	return strings.Join(ps, ",")
}

func ports(d model.Desired) []int32 {
	var out []int32
	for _, l := range d.Listeners {
		out = append(out, l.Port)
	}
	return slices.Compact(out)
}

// ours keeps the listeners of d's ports with d's protocols.
func ours(ls []fleetops.Listener, d model.Desired) []fleetops.Listener {
	return slices.DeleteFunc(ls, func(l fleetops.Listener) bool {
		return !slices.ContainsFunc(d.Listeners, func(w model.Listener) bool {
			return w.Port == l.Listener.Port && strings.EqualFold(w.Protocol, l.Listener.Protocol)
		})
	})
}

// look reads the Service's listeners and notes a fresh record of our cluster ID written by
// another install (T15): one with another install ID, or, where this process wrote its record,
// one it did not write (a copy of this cluster with the same install ID). It returns nil when the
// records are not due.
func (f *Fleet) look(ctx context.Context, key types.NamespacedName, d model.Desired) ([]fleetops.Listener, error) {
	if !f.due(key, d) {
		return nil, nil
	}
	ls, err := fleetops.Read(ctx, f.ELB, d.ELBID, ports(d)...)
	if errors.Is(err, elbclient.ErrNotFound) {
		return nil, nil // Apply says it
	}
	if err != nil {
		return nil, err
	}
	ls = ours(ls, d)
	now := f.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range ls {
		rec, ok := l.Records[f.ClusterID]
		if !ok || rec.Stale(now, f.TTL) {
			continue
		}
		last, wrote := f.wrote[l.Listener.ID]
		switch {
		case rec.InstallID != f.InstallID:
			f.foreign[d.ELBID] = sawFor{at: now, install: rec.InstallID}
		case wrote && l.Tag(f.ClusterID) != last:
			f.foreign[d.ELBID] = sawFor{at: now, install: rec.InstallID, same: true}
		default:
			continue
		}
		f.collisions.WithLabelValues(d.ELBID).Set(1)
	}
	return ls, nil
}

// record writes this cluster's record on each listener and returns the fleet view, one line per
// port, and the notices to raise.
func (f *Fleet) record(ctx context.Context, key types.NamespacedName, d model.Desired, ls []fleetops.Listener) (view string, warnings []notice) {
	now := f.Now()
	var lines []string
	complete := true
	var ids []string
	for _, l := range ls {
		ids = append(ids, l.Listener.ID)
		rec := fleetrecord.Record{ClusterID: f.ClusterID, Weight: d.Weight, Heartbeat: now, InstallID: f.InstallID}
		port := strconv.Itoa(int(l.Listener.Port))
		var err error
		stands := f.fresh(l, d.Weight)
		if stands {
			// Another Service of this cluster on this listener refreshed the record within the
			// period: it stands (F12).
			rec = l.Records[f.ClusterID]
		} else {
			err = fleetops.Write(ctx, f.ELB, l, rec)
		}
		switch {
		case errors.Is(err, fleetops.ErrNoRoom):
			f.noRoom.WithLabelValues(key.Namespace, key.Name, port).Set(1)
			f.mu.Lock()
			f.beats[l.Listener.ID] = beat{at: now, weight: d.Weight} // tried again next period
			f.mu.Unlock()
			warnings = append(warnings, notice{ReasonFleetRecordNoRoom, "Heartbeat", err.Error()})
		case err != nil:
			complete = false
			warnings = append(warnings, notice{ReasonFleetRecordFailed, "Heartbeat", err.Error() + "; retried at the next heartbeat"})
		default:
			f.noRoom.DeleteLabelValues(key.Namespace, key.Name, port)
			f.mu.Lock()
			tag, _ := fleetrecord.Encode(rec) // Write encoded it
			f.wrote[l.Listener.ID] = tag.Value
			if !stands {
				f.beats[l.Listener.ID] = beat{at: now, weight: d.Weight}
			}
			f.mu.Unlock()
			if l.Records == nil {
				l.Records = map[string]fleetrecord.Record{}
			}
			l.Records[f.ClusterID] = rec
		}
		owners := l.Judge(nil, now, f.TTL)
		var parts []string
		for _, o := range owners {
			parts = append(parts, o.Line())
		}
		line := fmt.Sprintf("%s/%d: %s", l.Listener.Protocol, l.Listener.Port, strings.Join(parts, "; "))
		lines = append(lines, line)
		for _, o := range owners {
			if o.Owner == f.ClusterID && o.Off() {
				warnings = append(warnings, notice{ReasonFleetShareOff, "Heartbeat", fmt.Sprintf(
					"this cluster asked for %s of the pool's traffic (weight %d) but its members' weights give %s, more than %.0f pp off (the integer ceilings of the weight rules). %s. Replica counts that fix it: %s",
					fleetview.Percent(o.RequestedShare), o.Requested, fleetview.Percent(o.Expected), 100*fleetrecord.Tolerance, line, fleetrecord.Advice(owners))})
			}
		}
	}
	if complete {
		f.mu.Lock()
		f.serves[key] = serving{listeners: ids, weight: d.Weight, ports: portsKey(d)}
		f.mu.Unlock()
	}
	if len(lines) == 0 {
		return "", warnings
	}
	return "as of " + now.UTC().Format(time.RFC3339) + "\n" + strings.Join(lines, "\n"), warnings
}

// sameView reports whether two fleet views say the same but for their "as of" line: the
// annotation is rewritten only when the view changes (F12), not on every heartbeat, so that an
// idle cluster makes no Kubernetes write; its "as of" is when the view took its present form.
func sameView(a, b string) bool {
	_, ra, okA := strings.Cut(a, "\n")
	_, rb, okB := strings.Cut(b, "\n")
	return okA && okB && ra == rb
}

// reclaim removes the members and records of owners stale for longer than ReclaimAfter on ls
// (T14). Never this cluster's, never a member without an owner mark.
func (f *Fleet) reclaim(ctx context.Context, ls []fleetops.Listener) (done []string, err error) {
	if f.ReclaimAfter <= 0 {
		return nil, nil
	}
	for _, s := range fleetops.StaleOwners(ls, f.Now(), f.ReclaimAfter) {
		if s.Record.ClusterID == f.ClusterID {
			continue
		}
		res, err := fleetops.RemoveOwner(ctx, f.ELB, s.Listener, s.Record.ClusterID)
		f.reclaimed.Add(float64(res.Members))
		if err != nil {
			return done, err
		}
		done = append(done, fmt.Sprintf("%s: cluster %s (last heartbeat %s): %d members and its record removed",
			s.Listener.Name(), s.Record.ClusterID, s.Record.Heartbeat.UTC().Format(time.RFC3339), res.Members))
	}
	return done, nil
}

// release removes this cluster's record from the listeners of d's ports where it has no member
// left (the Service was released), best effort.
func (f *Fleet) release(ctx context.Context, key types.NamespacedName, d model.Desired) error {
	f.mu.Lock()
	delete(f.serves, key)
	f.mu.Unlock()
	ls, err := fleetops.Read(ctx, f.ELB, d.ELBID, ports(d)...)
	if errors.Is(err, elbclient.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, l := range ours(ls, d) {
		if len(l.OwnedBy(f.ClusterID)) > 0 {
			continue // another Service of this cluster still serves there
		}
		if err := fleetops.RemoveRecord(ctx, f.ELB, l, f.ClusterID); err != nil {
			return err
		}
	}
	return nil
}

// fleetBefore runs before Apply: it reads the records when due and, when another live install
// records our cluster ID on the ELB (then nothing may be applied), says so.
func (r *Reconciler) fleetBefore(ctx context.Context, svc *corev1.Service, d model.Desired) (ls []fleetops.Listener, collision string) {
	if r.Fleet == nil {
		return nil, ""
	}
	key := types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}
	ls, err := r.Fleet.look(ctx, key, d)
	if err != nil {
		r.warnOnce(svc, "fleet", notice{ReasonFleetRecordFailed, "Heartbeat", "reading the fleet records failed, retried at the next heartbeat: " + err.Error()})
		ls = nil
	}
	other, ok := r.Fleet.collided(d.ELBID)
	if !ok {
		return ls, ""
	}
	if ls != nil {
		// Keep the heartbeat, so that the other install sees the collision too; nothing else.
		_, _ = r.Fleet.record(ctx, key, d, ls)
	}
	return ls, r.collisionMessage(d.ELBID, other)
}

// collisionMessage says what two installs with one cluster ID must do.
func (r *Reconciler) collisionMessage(elbID string, other sawFor) string {
	who := fmt.Sprintf("another live install (install ID %s) records this cluster's ID %q on ELB %s, beside this one (install ID %s): two clusters run with the same cluster ID (one restored from the other's etcd backup, or the same --cluster-id given twice)",
		other.install, r.Settings.ClusterID, elbID, r.Fleet.InstallID)
	if other.same {
		who = fmt.Sprintf("another controller writes this cluster's record (cluster ID %q, install ID %s) on ELB %s besides this one: a copy of this cluster runs (restored from its etcd backup, ConfigMap kube-system/%s included), or two replicas run without --leader-elect",
			r.Settings.ClusterID, r.Fleet.InstallID, elbID, ClusterIDConfigMap)
	}
	return who + fmt.Sprintf(". Both stop changing members on that ELB, and nothing is removed, until one of them gets its own ID: restart one with --cluster-id NEW --adopt-cluster-id %s (its members are renamed in place). It clears by itself once the other's heartbeat is older than --fleet-stale-after", r.Settings.ClusterID)
}

// fleetAfter runs after a successful Apply: it writes the records, reclaims stale owners when
// asked, and returns the view for the Service's annotation ("" = leave it).
func (r *Reconciler) fleetAfter(ctx context.Context, svc *corev1.Service, d model.Desired, ls []fleetops.Listener, wrote bool) string {
	if r.Fleet == nil || ls == nil {
		return ""
	}
	key := types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}
	if wrote {
		// Apply changed the pool (or made the listener): judge what is there now.
		fresh, err := fleetops.Read(ctx, r.Fleet.ELB, d.ELBID, ports(d)...)
		if err == nil {
			ls = ours(fresh, d)
		}
	}
	done, err := r.Fleet.reclaim(ctx, ls)
	for _, msg := range done {
		r.event(svc, corev1.EventTypeNormal, ReasonStaleOwnerReclaim, "Reclaim", "%s (--reclaim-stale-after %s)", msg, r.Fleet.ReclaimAfter)
	}
	if err != nil {
		r.event(svc, corev1.EventTypeWarning, ReasonStaleOwnerReclaim, "Reclaim", "removing a stale owner's members failed, retried at the next heartbeat: %v", err)
	}
	if len(done) > 0 {
		if fresh, err := fleetops.Read(ctx, r.Fleet.ELB, d.ELBID, ports(d)...); err == nil {
			ls = ours(fresh, d)
		}
	}
	view, warnings := r.Fleet.record(ctx, key, d, ls)
	r.warnOnce(svc, "fleet", warnings...)
	return view
}

// releaseRecord removes this cluster's record from the released ELB's listeners of the
// Service's ports where it has no member left; a failure is only logged (the record goes stale).
func (r *Reconciler) releaseRecord(ctx context.Context, svc *corev1.Service, elbID string) {
	if r.Fleet == nil {
		return
	}
	d := model.Desired{ELBID: elbID, Listeners: serviceListeners(svc)}
	if err := r.Fleet.release(ctx, types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}, d); err != nil {
		r.Log.Info("could not remove this cluster's fleet record; it goes stale", "elb", elbID, "error", err)
	}
}

// serviceListeners are the listeners of the Service's ports, without members.
func serviceListeners(svc *corev1.Service) []model.Listener {
	var out []model.Listener
	for _, p := range svc.Spec.Ports {
		if proto, err := model.ListenerProtocol(p); err == nil {
			out = append(out, model.Listener{Port: p.Port, Protocol: proto})
		}
	}
	return out
}

// validateFleet checks the fleet's durations: a TTL of at least three heartbeats (else a live
// owner looks stale between two), and a reclaim no sooner than the TTL.
func (o *Options) validateFleet() error {
	hb, ttl := orDefault(o.FleetHeartbeat, fleetrecord.DefaultHeartbeat), orDefault(o.FleetStaleAfter, fleetrecord.DefaultTTL)
	switch {
	case o.FleetHeartbeat < 0 || o.FleetStaleAfter < 0 || o.ReclaimStaleAfter < 0:
		return fmt.Errorf("--fleet-heartbeat, --fleet-stale-after and --reclaim-stale-after must not be negative")
	case ttl < 3*hb:
		return fmt.Errorf("--fleet-stale-after (%s) must be at least three --fleet-heartbeat periods (%s): a live cluster would look stale between two heartbeats", ttl, 3*hb)
	case o.ReclaimStaleAfter > 0 && o.ReclaimStaleAfter < ttl:
		return fmt.Errorf("--reclaim-stale-after (%s) must be at least --fleet-stale-after (%s): only owners already stale are reclaimed", o.ReclaimStaleAfter, ttl)
	}
	return nil
}
