// Package deploy applies one Service's desired ELB state (model.Desired) to an ELB as a diff, touching
// only what this cluster owns.
//
// Rules (R5–R11, R13):
//
//   - Validate first, write after. The ELB must exist and be of the Service's class; multivpc needs
//     a performance ELB with IP-type backends and TCP; a listener on the port with another protocol,
//     or one owned by a Service without multicluster, is refused. All ports are checked before any
//     write, so a refused Service makes nothing new (a *Refusal is returned); only the ports that
//     already hold its members keep following its Pods (C2).
//   - Ownership lives on the ELB. Members this cluster creates are named
//     fleetlb/<cluster-id>/<namespace>/<service>/<port>; listeners and pools fleetlb creates carry
//     a mark in their description (see internal/common/ownership). A listener without any mark (made by hand, S3)
//     is attached to. A member without this cluster's mark for this Service is never changed or
//     removed.
//   - The listener and pool keep the configuration of their first creator (R5): when this Service
//     wants another algorithm or health check, Apply returns a Warning and changes nothing there.
//   - Writes are diffs: an Apply that finds everything in place makes zero write calls. Removals
//     and weight changes go before additions, each batch call names at most elbrules.MaxBatchMembers
//     members, and each port is applied on its own, so one refused addition (quota, subnet,
//     busy) holds back nothing else (C2). After an ambiguous failure (409, 5xx, timeout) the pool
//     is read again before anything is re-added, so retries never create duplicates.
//   - Few calls (C6): the listeners are found with the list filters (one call per port); a
//     Service applied again in the same shape reads only its ports' members (known.go).
//
// Release (Service deleted) and ports the Service no longer has:
//
//   - Releasing is applying an empty desired state through the same member diff: this cluster's
//     members of the Service go, nothing else.
//   - member-only (the default, and always for a port dropped or switched to another protocol,
//     C1): when the pool is then empty AND the listener was created by this very Service (its
//     mark names this cluster and Service), the health monitor, pool and listener are removed
//     too: nobody else uses them, and leaving them would keep the port taken. A listener made by
//     hand, or created by another cluster or Service, is always left in place.
//   - cascade, only when the Service is deleted: removes the listener, its pool, its health monitor
//     and all members, whoever owns them, but never a listener owned by a Service without
//     multicluster (R6). It applies to the listeners on the Service's ports that the ELB shows
//     this Service bound to (created by it, or holding its members): a Service that never got a
//     member into a listener does not reclaim it, and a listener it created but left by an edit
//     (a port changed or dropped) is released member-only.
//   - Not-found during deletion counts as success.
package deploy

import (
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
)

// Options tune a Deployer.
type Options struct {
	// Logger receives one line per write. Zero value: discard.
	Logger logr.Logger
	// Attempts is how many times a member write is tried when the ELB answers 409/429/5xx or
	// times out; the pool is re-read between attempts. Default 3.
	Attempts int
	// Subnets finds each instance-type member's subnet by its address when the desired state
	// names none (no --subnet-id, C7): the VPC API's ListSubnets (elbclient.SDK). nil leaves
	// such members without a subnet.
	Subnets SubnetLister
	// Backoff is the pause before the second attempt; it doubles for each further attempt.
	// Default 200ms.
	Backoff time.Duration
	// Reread is how long what an Apply learnt about a Service's listeners and pools is trusted: a
	// resync within it reads only each port's members (C6). Default 30 minutes.
	Reread time.Duration
	// DeregistrationDelay is the drain of the members the sweep releases (C3, T1): no Service
	// names one for them. 0 removes them at once.
	DeregistrationDelay time.Duration
}

// Deployer applies desired states through one elbclient.Client. It is safe for concurrent use by
// several reconciles (of different Services).
type Deployer struct {
	client elbclient.Client
	opts   Options
	now    func() time.Time

	mu     sync.Mutex
	known  map[knownKey]knownPort
	drains map[string]time.Time // member ID → when its drain began (T1); see drain.go

	subnetCache subnetCache
	vpcByELB    sync.Map // ELB ID → its VPC ID, learnt by placeMembers (C7)
}

// New returns a Deployer.
func New(client elbclient.Client, opts Options) *Deployer {
	if opts.Attempts <= 0 {
		opts.Attempts = 3
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 200 * time.Millisecond
	}
	if opts.Reread <= 0 {
		opts.Reread = 30 * time.Minute
	}
	if opts.Logger.GetSink() == nil {
		opts.Logger = logr.Discard()
	}
	return &Deployer{client: client, opts: opts, now: time.Now, known: map[knownKey]knownPort{}, drains: map[string]time.Time{}}
}

// Result says what an Apply or Release did and saw.
type Result struct {
	// VIP is the ELB's VIP address (status.loadBalancer.ingress).
	VIP string
	// ListenerPorts are the desired ports whose listener exists after Apply (for the
	// kubernetes.io/elb.listener-port write-back), ascending.
	ListenerPorts []int32
	// Warnings are things the user should know that did not stop the Apply (R5 differences,
	// an address already in the pool under another owner, ...). One Event each.
	Warnings []Warning
	// Writes is the number of write calls made to the ELB.
	Writes int
	// MembersAdded, MembersUpdated, MembersRemoved count this cluster's member changes.
	MembersAdded, MembersUpdated, MembersRemoved int
	// ListenersCreated and ListenersDeleted count listener changes.
	ListenersCreated, ListenersDeleted int
	// Draining counts this cluster's members no longer wanted that stay at weight 0 until their
	// drain ends (T1); DrainWait is when the first of them is due for removal: reconcile again
	// then. A Release with Draining > 0 is not finished.
	Draining  int
	DrainWait time.Duration
	// Online is, by member address, whether every member of this cluster's Service at that
	// address was serving when its pool was read (ONLINE, or NO_MONITOR on a pool without a
	// health check; services/elb/v3/model/model_member.go operating_status): the readiness
	// gate opens on it (T5). A member added by this call is not in it yet.
	Online map[string]bool
}

// noteHealth records the health of the members named name in have (Online).
func (r *Result) noteHealth(have []elbclient.Member, name string) {
	for _, m := range have {
		if m.Name != name {
			continue
		}
		if r.Online == nil {
			r.Online = map[string]bool{}
		}
		up := m.OperatingStatus == "ONLINE" || m.OperatingStatus == "NO_MONITOR"
		if prev, seen := r.Online[m.Address]; seen {
			up = up && prev
		}
		r.Online[m.Address] = up
	}
}

// AddDrains counts o's draining members in r too.
func (r *Result) AddDrains(o Result) { r.noteDrain(o.Draining, o.DrainWait) }

// noteDrain adds n members draining, the first due in wait.
func (r *Result) noteDrain(n int, wait time.Duration) {
	if n == 0 {
		return
	}
	r.Draining += n
	if r.DrainWait == 0 || wait < r.DrainWait {
		r.DrainWait = wait
	}
}

// Warning is a condition worth an Event of type Warning.
type Warning struct {
	Reason  string // CamelCase, for the Event reason
	Message string
}

func (w Warning) String() string { return w.Reason + ": " + w.Message }

// Refusal is a conflict the user must fix (an annotation, the ELB). When Apply returns a
// *Refusal of its checks, nothing new was made (only ports already holding the Service's members
// were kept in line); a refusal of the ELB's while writing (a member
// quota, ReasonMemberQuota) stopped only the additions of that port. Reason is CamelCase for Events and conditions; Message names
// the annotation or resource and what to change.
type Refusal struct {
	Reason  string
	Message string
}

func (r *Refusal) Error() string { return r.Reason + ": " + r.Message }

// Refusal reasons.
const (
	ReasonELBNotFound       = "ELBNotFound"       // R10
	ReasonELBClassMismatch  = "ELBClassMismatch"  // kubernetes.io/elb.class vs the ELB's type
	ReasonMultiVPCInvalid   = "MultiVPCInvalid"   // R11
	ReasonProtocolConflict  = "ProtocolConflict"  // R9
	ReasonListenerNotShared = "ListenerNotShared" // R6
	ReasonInvalidDesired    = "InvalidSpec"       // weight out of range, unknown recycle policy, ...
)

// Warning reasons.
const (
	WarnConfigDiffers   = "ListenerConfigFromCreator" // R5
	WarnAddressTaken    = "MemberAddressTaken"        // address:port in the pool under another name
	WarnListenerSkipped = "ListenerNotReleased"       // release left a listener it may not remove
)

// SharedListener is a listener on the ELB that fleetlb marks multi-cluster.
type SharedListener struct {
	Port       int32
	Protocol   string
	ListenerID string
	// Creator is "<cluster-id>/<namespace>/<service>" of the Service that created it.
	Creator string
}

func (s SharedListener) String() string {
	return fmt.Sprintf("%s/%d (listener %s, created by %s)", s.Protocol, s.Port, s.ListenerID, s.Creator)
}
