package deploy

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/controller/model"
)

// Each member in its own subnet (issue "safe on a real cloud", C7). On a real ELB an
// instance-type member must be in a subnet of the ELB's VPC, and a cluster's nodes (and Pods,
// with VPC addresses) often span several subnets. A member without a subnet from --subnet-id gets
// the subnet whose cidr holds its address, found through the VPC API (ListSubnets with the ELB's
// vpc_id, services/vpc/v2/model/model_list_subnets_request.go); the member's subnet_cidr_id takes
// that subnet's neutron_subnet_id (model_subnet.go; v3 model_batch_create_members_option.go
// subnet_cidr_id: "the IPv4 subnet ID ... neutron_subnet_id"). The subnets are cached per VPC.

// SubnetLister lists the subnets of a VPC ("" for all the project's): elbclient.SDK.ListSubnets.
type SubnetLister interface {
	ListSubnets(ctx context.Context, vpcID string) ([]elbclient.Subnet, error)
}

// ReasonMemberSubnet: a member's address is in no subnet of the ELB's VPC.
const ReasonMemberSubnet = "MemberSubnetNotFound"

// Subnet cache timing: a VPC's subnets are read again after subnetTTL, or sooner (at most once
// per subnetMissWait) when an address is in none of them: a subnet added since.
const (
	subnetTTL      = 10 * time.Minute
	subnetMissWait = 30 * time.Second
)

type subnetCache struct {
	mu    sync.Mutex
	byVPC map[string]cachedSubnets
}

type cachedSubnets struct {
	subnets []parsedSubnet
	at      time.Time
}

type parsedSubnet struct {
	elbclient.Subnet
	prefix netip.Prefix
}

// subnets of vpcID, read through the cache; fresh forces a read unless the last one is younger
// than subnetMissWait.
func (d *Deployer) subnets(ctx context.Context, vpcID string, fresh bool) ([]parsedSubnet, error) {
	c := &d.subnetCache
	c.mu.Lock()
	got, ok := c.byVPC[vpcID]
	c.mu.Unlock()
	age := time.Since(got.at)
	if ok && age < subnetTTL && (!fresh || age < subnetMissWait) {
		return got.subnets, nil
	}
	list, err := d.opts.Subnets.ListSubnets(ctx, vpcID)
	if err != nil {
		return nil, fmt.Errorf("list the subnets of VPC %s (VPC API, for the members' subnets): %w", vpcID, err)
	}
	var ps []parsedSubnet
	for _, s := range list {
		if p, err := netip.ParsePrefix(s.CIDR); err == nil && s.NeutronSubnetID != "" {
			ps = append(ps, parsedSubnet{Subnet: s, prefix: p.Masked()})
		}
	}
	c.mu.Lock()
	if c.byVPC == nil {
		c.byVPC = map[string]cachedSubnets{}
	}
	c.byVPC[vpcID] = cachedSubnets{subnets: ps, at: time.Now()}
	c.mu.Unlock()
	return ps, nil
}

// subnetOf is the neutron_subnet_id of the narrowest subnet holding addr, or "".
func subnetOf(subnets []parsedSubnet, addr netip.Addr) string {
	best, bits := "", -1
	for _, s := range subnets {
		if s.prefix.Contains(addr) && s.prefix.Bits() > bits {
			best, bits = s.NeutronSubnetID, s.prefix.Bits()
		}
	}
	return best
}

// vpcOf is the ELB's VPC: its vpc_id, or (a shared ELB read through v2) the VPC of its VIP subnet.
func (d *Deployer) vpcOf(ctx context.Context, lb *elbclient.LoadBalancer) (string, error) {
	if lb.VPCID != "" {
		return lb.VPCID, nil
	}
	all, err := d.subnets(ctx, "", false)
	if err != nil {
		return "", err
	}
	for _, s := range all {
		if s.NeutronSubnetID == lb.SubnetID || s.ID == lb.SubnetID {
			return s.VPCID, nil
		}
	}
	return "", fmt.Errorf("ELB %s: its VIP subnet %s is in no VPC the VPC API lists; pass --subnet-id", lb.ID, lb.SubnetID)
}

// placeMembers gives every instance-type member of desired that has no subnet (no --subnet-id)
// the subnet its address is in (C7). Without a SubnetLister nothing changes. An address in no
// subnet of the ELB's VPC is refused, naming it, before anything is written.
func (d *Deployer) placeMembers(ctx context.Context, lb *elbclient.LoadBalancer, desired *model.Desired) error {
	if desired.MultiVPC || !unplaced(*desired) {
		return nil
	}
	if d.opts.Subnets == nil {
		if lb.Class == elbrules.ClassUnion {
			return nil // the v2 client puts them in the ELB's VIP subnet
		}
		// Without a subnet a dedicated ELB would make them IP-type members: never silently.
		return refuse(ReasonMemberSubnet, "members of this cluster need a subnet (instance-type members): start the controller with --subnet-id, or set %s: 'true' on a dedicated ELB for IP-type members", model.AnnotationMultiVPC)
	}
	vpcID, err := d.vpcOf(ctx, lb)
	if err != nil {
		return err
	}
	d.vpcByELB.Store(lb.ID, vpcID)
	return d.placeIn(ctx, vpcID, lb.ID, desired)
}

// placeKnown places desired's members on the VPC learnt for its ELB by an earlier Apply, so that
// an Apply of known ports (applyKnown) writes members with their subnets too. ok is false when
// members are left without a subnet (the ELB's VPC is not known yet): the full Apply must run.
func (d *Deployer) placeKnown(ctx context.Context, desired *model.Desired) (ok bool, err error) {
	if desired.MultiVPC || d.opts.Subnets == nil || !unplaced(*desired) {
		return true, nil
	}
	vpcID, known := d.vpcByELB.Load(desired.ELBID)
	if !known {
		return false, nil
	}
	return true, d.placeIn(ctx, vpcID.(string), desired.ELBID, desired)
}

// unplaced: some member of desired has no subnet yet.
func unplaced(desired model.Desired) bool {
	for _, l := range desired.Listeners {
		for _, m := range l.Members {
			if m.SubnetID == "" {
				return true
			}
		}
	}
	return false
}

// placeIn places desired's members without a subnet in the subnets of VPC vpcID.
func (d *Deployer) placeIn(ctx context.Context, vpcID, elbID string, desired *model.Desired) error {
	var subnets []parsedSubnet
	loaded := false
	var missing []string
	desired.Listeners = slices.Clone(desired.Listeners) // the caller's Desired stays as it was
	for li := range desired.Listeners {
		ms := slices.Clone(desired.Listeners[li].Members)
		desired.Listeners[li].Members = ms
		for mi := range ms {
			m := &ms[mi]
			if m.SubnetID != "" {
				continue
			}
			addr, err := netip.ParseAddr(m.Address)
			if err != nil {
				continue // validateDesired names it
			}
			if !loaded {
				if subnets, err = d.subnets(ctx, vpcID, false); err != nil {
					return err
				}
				loaded = true
			}
			if m.SubnetID = subnetOf(subnets, addr); m.SubnetID == "" {
				// A subnet made since the last read: read again (rate-limited by the cache).
				if subnets, err = d.subnets(ctx, vpcID, true); err != nil {
					return err
				}
				m.SubnetID = subnetOf(subnets, addr)
			}
			if m.SubnetID == "" {
				who := m.Address
				if m.NodeName != "" {
					who += " (node " + m.NodeName + ")"
				}
				missing = append(missing, who)
			}
		}
	}
	if len(missing) > 0 {
		return refuse(ReasonMemberSubnet, "member address(es) %s are in no subnet of VPC %s, the VPC of ELB %s, so the ELB cannot reach them as instance-type members; put the nodes in a subnet of that VPC, set %s: 'true' for IP-type (cross-VPC) members on a dedicated ELB, or start the controller with --subnet-id",
			strings.Join(missing, ", "), vpcID, elbID, model.AnnotationMultiVPC)
	}
	return nil
}
