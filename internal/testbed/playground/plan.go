// Package playground starts a whole fleetlb set-up on one machine: elbd (as a
// child process) with a generated address plan, a dedicated ("performance")
// and a shared ("union") ELB created through the official SDK, real
// Kubernetes clusters (package localk8s) whose nodes and pods live inside
// their VPC's subnets, and one fleetlb-controller process per cluster. It
// also holds what the demo and the end-to-end tests both need: real HTTP
// traffic through a VIP, the pool's members with their owners, and the
// expected-versus-measured split.
package playground

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// Pod network modes, as fleetlb-controller's --pod-network spells them.
const (
	PodNetworkVPC     = "vpc"
	PodNetworkOverlay = "overlay"
)

// ClusterSpec describes one cluster of the playground.
type ClusterSpec struct {
	// Name is a lowercase DNS label, e.g. "a".
	Name string
	// PodNetwork is PodNetworkVPC (pods have VPC addresses: pass-through
	// members) or PodNetworkOverlay (node-port members).
	PodNetwork string
	// VPC is 1 (the ELBs' VPC) or 2 (another VPC: S2).
	VPC int
}

// Subnet is one subnet of the generated address plan.
type Subnet struct {
	ID    string
	CIDR  string
	VPCID string
}

// VPC is one VPC of the generated address plan.
type VPC struct {
	ID      string
	CIDR    string
	Subnets []Subnet
}

// ClusterPlan is where one cluster lives: its subnet holds its node and pod
// ranges, so that members the controller adds validate against the subnet.
type ClusterPlan struct {
	ClusterSpec
	Subnet      Subnet
	NodeCIDR    string
	PodCIDR     string
	ServiceCIDR string
}

// Plan is the address plan of a playground: every range is on loopback.
//
// With base octet B (a multiple of 32): VPC 1 is 127.B.0.0/12 and VPC 2 is
// 127.(B+16).0.0/12. VPC 1 holds the ELB subnet 127.B.0.0/24 (VIPs), the VM
// subnet 127.B.1.0/24 and, for the i-th cluster (from 1) in VPC 1, the
// subnet 127.(B+i).0.0/16; a cluster in VPC 2 gets 127.(B+16+i).0.0/16.
// Inside a cluster's /16: nodes .1.0/24, pods .64.0/18, services .128.0/20.
type Plan struct {
	Base      int
	VPCs      []VPC
	ELBSubnet Subnet
	VMSubnet  Subnet
	Clusters  []ClusterPlan
}

// DefaultBase is the address base of `fleetlb-local up`: 127.224.0.0/11.
const DefaultBase = 224

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$`)

// NewPlan lays out VPCs, subnets and cluster ranges. It checks the cluster
// list and says what to change.
func NewPlan(base int, clusters []ClusterSpec) (Plan, error) {
	if base < 32 || base > 224 || base%32 != 0 {
		return Plan{}, fmt.Errorf("address base %d: use a multiple of 32 from 32 to 224 (127.<base>.0.0/11 holds the playground)", base)
	}
	if len(clusters) == 0 {
		return Plan{}, fmt.Errorf("no clusters: name at least one (e.g. --clusters a,b)")
	}
	if len(clusters) > 15 {
		return Plan{}, fmt.Errorf("%d clusters: at most 15 fit the address plan", len(clusters))
	}
	p := Plan{Base: base}
	vpc1 := VPC{ID: "vpc-1", CIDR: fmt.Sprintf("127.%d.0.0/12", base)}
	vpc2 := VPC{ID: "vpc-2", CIDR: fmt.Sprintf("127.%d.0.0/12", base+16)}
	p.ELBSubnet = Subnet{ID: "subnet-elb", CIDR: fmt.Sprintf("127.%d.0.0/24", base), VPCID: vpc1.ID}
	p.VMSubnet = Subnet{ID: "subnet-vm", CIDR: fmt.Sprintf("127.%d.1.0/24", base), VPCID: vpc1.ID}
	vpc1.Subnets = append(vpc1.Subnets, p.ELBSubnet, p.VMSubnet)
	seen := map[string]bool{}
	for i, c := range clusters {
		if !dnsLabel.MatchString(c.Name) {
			return Plan{}, fmt.Errorf("cluster name %q: use a lowercase DNS label of at most 32 characters (e.g. a)", c.Name)
		}
		if c.Name == "elb" || c.Name == "vm" {
			// subnet-<name> would clash with the ELB or VM subnet.
			return Plan{}, fmt.Errorf("cluster name %q is taken by the playground's subnet-%s; choose another name", c.Name, c.Name)
		}
		if seen[c.Name] {
			return Plan{}, fmt.Errorf("cluster %q is named twice", c.Name)
		}
		seen[c.Name] = true
		if c.PodNetwork == "" {
			c.PodNetwork = PodNetworkOverlay
		}
		if c.PodNetwork != PodNetworkVPC && c.PodNetwork != PodNetworkOverlay {
			return Plan{}, fmt.Errorf("cluster %s: pod network %q: use vpc or overlay", c.Name, c.PodNetwork)
		}
		if c.VPC == 0 {
			c.VPC = 1
		}
		octet := base + i + 1
		vpc := &vpc1
		switch c.VPC {
		case 1:
		case 2:
			octet += 16
			vpc = &vpc2
		default:
			return Plan{}, fmt.Errorf("cluster %s: VPC %d: use 1 (the ELBs' VPC) or 2", c.Name, c.VPC)
		}
		s := Subnet{ID: "subnet-" + c.Name, CIDR: fmt.Sprintf("127.%d.0.0/16", octet), VPCID: vpc.ID}
		vpc.Subnets = append(vpc.Subnets, s)
		p.Clusters = append(p.Clusters, ClusterPlan{
			ClusterSpec: c,
			Subnet:      s,
			NodeCIDR:    fmt.Sprintf("127.%d.1.0/24", octet),
			PodCIDR:     fmt.Sprintf("127.%d.64.0/18", octet),
			ServiceCIDR: fmt.Sprintf("127.%d.128.0/20", octet),
		})
	}
	// vpc-2 is always declared, so that elb.env names both VPCs; it has
	// subnets only when a cluster lives there (S2).
	p.VPCs = append(p.VPCs, vpc1, vpc2)
	return p, nil
}

// Cluster returns the plan of the named cluster.
func (p Plan) Cluster(name string) (ClusterPlan, bool) {
	for _, c := range p.Clusters {
		if c.Name == name {
			return c, true
		}
	}
	return ClusterPlan{}, false
}

// VMAddress is the address of the n-th VM (from 1) in the VM subnet: .11, .12, …
func (p Plan) VMAddress(n int) netip.Addr {
	a := netip.MustParsePrefix(p.VMSubnet.CIDR).Addr().As4()
	a[3] = byte(10 + n)
	return netip.AddrFrom4(a)
}

// ParseClusters reads --clusters a,b and --pod-network a=vpc,b=overlay.
// Without a pod network for it, the first cluster is vpc and every other one
// overlay, so the default pair shows both weight rules. With separateVPCs
// every cluster but the first is in VPC 2 (S2).
func ParseClusters(names, podNetworks string, separateVPCs bool) ([]ClusterSpec, error) {
	var specs []ClusterSpec
	for i, n := range strings.Split(names, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			return nil, fmt.Errorf("--clusters %q has an empty name; write names like a,b", names)
		}
		s := ClusterSpec{Name: n, PodNetwork: PodNetworkOverlay, VPC: 1}
		if i == 0 {
			s.PodNetwork = PodNetworkVPC
		} else if separateVPCs {
			s.VPC = 2
		}
		specs = append(specs, s)
	}
	if strings.TrimSpace(podNetworks) == "" {
		return specs, nil
	}
	given := map[string]bool{}
	for _, kv := range strings.Split(podNetworks, ",") {
		name, mode, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return nil, fmt.Errorf("--pod-network %q: write name=vpc or name=overlay, comma-separated (e.g. a=vpc,b=overlay)", kv)
		}
		if given[name] {
			return nil, fmt.Errorf("--pod-network %s names cluster %q twice; give each cluster one mode", podNetworks, name)
		}
		given[name] = true
		if mode != PodNetworkVPC && mode != PodNetworkOverlay {
			return nil, fmt.Errorf("--pod-network %s: mode %q: use vpc or overlay", kv, mode)
		}
		found := false
		for i := range specs {
			if specs[i].Name == name {
				specs[i].PodNetwork, found = mode, true
			}
		}
		if !found {
			return nil, fmt.Errorf("--pod-network names cluster %q, which is not in --clusters %s", name, names)
		}
	}
	return specs, nil
}
