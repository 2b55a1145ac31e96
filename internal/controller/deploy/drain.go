package deploy

import (
	"time"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/elbrules"
)

// Drain before removal (T1). A member this cluster no longer wants keeps weight 0 for the
// Service's deregistration delay, so that no new connection reaches it while those in flight end,
// and is removed after. When each drain began is kept here, by member ID: the ELB's member has no
// field for it (services/elb/v3/model/model_member.go: name, weight, address, ... only), and its
// name is the ownership mark (R13). A controller that restarts finds such members again (ours,
// unwanted, weight 0) and gives them a full delay from then: a drain can last longer, never less.

// drainClock is the drain state of the members in have, for one plan.
func (d *Deployer) drainClock(delay time.Duration, have []elbclient.Member) drainClock {
	dc := drainClock{delay: delay, now: d.now(), started: map[string]time.Time{}}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, m := range have {
		if t, ok := d.drains[m.ID]; ok {
			dc.started[m.ID] = t
		}
	}
	return dc
}

// noteDrains records the drains of a plan that was carried out: the members of have that drain
// keep their start, the others (wanted again, removed) are forgotten.
func (d *Deployer) noteDrains(have []elbclient.Member, draining map[string]time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, m := range have {
		if t, ok := draining[m.ID]; ok {
			d.drains[m.ID] = t
		} else {
			delete(d.drains, m.ID)
		}
	}
}

// connectionDrain is the connection_drain timeout (seconds) of a pool a Service with this
// deregistration delay creates (T3): a dedicated ELB's pool keeps a removed member's established
// connections that long, then closes them; the delay rounded up into the API's 10-4000 s
// (services/elb/v3/model/model_connection_drain.go). 0 (off) for no delay, and on a shared ELB,
// whose pools have no connection_drain.
func connectionDrain(class elbrules.Class, delay time.Duration) int32 {
	if class != elbrules.ClassPerformance || delay <= 0 {
		return 0
	}
	secs := int((delay + time.Second - 1) / time.Second)
	return int32(min(max(secs, elbrules.ConnectionDrainTimeout.Min), elbrules.ConnectionDrainTimeout.Max))
}
