// Package config loads elbd's YAML configuration: who may call the API (credentials) and the
// address plan (VPCs and their subnets) that VIPs and members are checked against.
package config

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"sigs.k8s.io/yaml"
)

// Credential is one access key allowed to call the API, and the project it may act in.
type Credential struct {
	AccessKey string `json:"accessKey"`
	SecretKey string `json:"secretKey"`
	ProjectID string `json:"projectID"`
	// RateLimit, when set, overrides the top-level rateLimit for this key.
	RateLimit *RateLimit `json:"rateLimit,omitempty"`
}

// VPC is a virtual network: a CIDR and the subnets cut from it.
type VPC struct {
	ID      string   `json:"id"`
	CIDR    string   `json:"cidr"`
	Subnets []Subnet `json:"subnets"`
}

// Subnet is a subnet of a VPC. Its ID is what vip_subnet_cidr_id, subnet_cidr_id (v3) and
// vip_subnet_id, subnet_id (v2) refer to.
type Subnet struct {
	ID   string `json:"id"`
	CIDR string `json:"cidr"`

	// Filled by Validate.
	VPCID  string       `json:"-"`
	Prefix netip.Prefix `json:"-"`
}

// Config is the whole file. Keys beyond these are ignored.
type Config struct {
	Credentials []Credential `json:"credentials"`
	VPCs        []VPC        `json:"vpcs"`
	// Quotas apply to every project (keys as the quota API's fields, -1 unlimited); keys left
	// out keep the real cloud's defaults (DefaultQuotas).
	Quotas Quotas `json:"quotas"`
	// Projects holds per-project settings: a project's quotas override Quotas key by key.
	Projects []Project `json:"projects"`
	// RateLimit, when set, limits each access key to this request rate (E3); nil, the default,
	// sets no limit.
	RateLimit *RateLimit `json:"rateLimit"`
	// ClusterNames gives the clusters whose members elbd serves a name for people (cluster ID →
	// name); the web console shows it beside the ID (see clusters.go).
	ClusterNames map[string]string `json:"clusterNames"`
	// Faults, when set, turns on the test-only fault injector (F6); nil, the default, injects nothing.
	Faults *Faults `json:"faults"`
}

// Load reads and validates the YAML file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes and validates YAML config text.
func Parse(data []byte) (*Config, error) {
	var c Config
	if err := yaml.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// listedOnce reports a field that must be set and unique (field names it, where.key) when it
// is empty or its value is in seen; emptyHint, if any, follows "is empty", dupHint says what to do.
func listedOnce(add func(string, ...any), seen map[string]bool, field, value, emptyHint, dupHint string) {
	if value == "" {
		add("%s is empty%s", field, emptyHint)
	} else if seen[value] {
		add("%s %q appears twice; %s", field, value, dupHint)
	}
	seen[value] = true
}

// Validate checks every rule and reports all broken ones, each saying what to change.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	if len(c.Credentials) == 0 {
		add("credentials: at least one access key is needed, or nobody can call the API")
	}
	keys := map[string]bool{}
	for i, cr := range c.Credentials {
		where := fmt.Sprintf("credentials[%d]", i)
		listedOnce(add, keys, where+".accessKey", cr.AccessKey, "", "each access key must be listed once")
		if cr.SecretKey == "" {
			add("%s.secretKey is empty", where)
		}
		if cr.ProjectID == "" {
			add("%s.projectID is empty; set the project this key may act in", where)
		} else if strings.ContainsAny(cr.ProjectID, "/?#") {
			add("%s.projectID %q may not contain '/', '?' or '#'", where, cr.ProjectID)
		}
	}

	// VPC and subnet IDs share one namespace: claimID reports an empty or taken one.
	ids := map[string]string{}
	claimID := func(id, where string) {
		if id == "" {
			add("%s.id is empty", where)
		} else if prev, dup := ids[id]; dup {
			add("%s.id %q is already used by %s; IDs must be unique", where, id, prev)
		} else {
			ids[id] = where
		}
	}
	var seen []netip.Prefix
	for i := range c.VPCs {
		v := &c.VPCs[i]
		where := fmt.Sprintf("vpcs[%d]", i)
		claimID(v.ID, where)
		vp, err := parsePrefix(v.CIDR)
		if err != nil {
			add("%s.cidr: %v", where, err)
		}
		for j := range v.Subnets {
			s := &v.Subnets[j]
			sw := fmt.Sprintf("%s.subnets[%d]", where, j)
			claimID(s.ID, sw)
			sp, err := parsePrefix(s.CIDR)
			if err != nil {
				add("%s.cidr: %v", sw, err)
				continue
			}
			s.VPCID, s.Prefix = v.ID, sp
			if vp.IsValid() && (!vp.Contains(sp.Addr()) || sp.Bits() < vp.Bits()) {
				add("%s.cidr %s is not inside its VPC's cidr %s", sw, sp, vp)
			}
			for _, o := range seen {
				if o.Overlaps(sp) {
					add("%s.cidr %s overlaps subnet %s; subnets must not overlap", sw, sp, o)
				}
			}
			seen = append(seen, sp)
		}
	}
	c.validateProjects(add)
	c.validateRateLimits(add)
	c.validateClusterNames(add)
	c.validateFaults(add)
	return errors.Join(errs...)
}

func parsePrefix(s string) (netip.Prefix, error) {
	if s == "" {
		return netip.Prefix{}, errors.New("is empty; write an IPv4 CIDR such as 127.10.1.0/24")
	}
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("%q is not an IPv4 CIDR such as 127.10.1.0/24", s)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("%q has host bits set; did you mean %s?", s, p.Masked())
	}
	if p.Bits() > 30 {
		return netip.Prefix{}, fmt.Errorf("%q is too small to hold addresses; use /30 or larger", s)
	}
	return p, nil
}

// Network is the address plan taken from a validated Config.
func (c *Config) Network() *Network {
	n := &Network{byID: map[string]Subnet{}}
	for _, v := range c.VPCs {
		for _, s := range v.Subnets {
			n.byID[s.ID] = s
		}
	}
	return n
}

// Network answers questions about the configured subnets. It is immutable and safe for concurrent use.
type Network struct {
	byID map[string]Subnet
}

// NewNetwork builds a Network from subnets directly (their VPCID and Prefix must be set).
func NewNetwork(subnets ...Subnet) *Network {
	n := &Network{byID: map[string]Subnet{}}
	for _, s := range subnets {
		n.byID[s.ID] = s
	}
	return n
}

// Subnet returns the subnet with this ID.
func (n *Network) Subnet(id string) (Subnet, bool) {
	s, ok := n.byID[id]
	return s, ok
}

// AllocateVIP returns the first usable host address of the subnet that used does not hold. The
// network address, the first host (the gateway, as in a real VPC) and the broadcast address are
// never handed out.
func AllocateVIP(s Subnet, used func(netip.Addr) bool) (netip.Addr, error) {
	if !s.Prefix.IsValid() {
		return netip.Addr{}, fmt.Errorf("subnet %s has no valid CIDR", s.ID)
	}
	bcast := lastAddr(s.Prefix)
	for a := s.Prefix.Addr().Next().Next(); a.IsValid() && a.Less(bcast); a = a.Next() {
		if !used(a) {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("subnet %s (%s) has no free address left", s.ID, s.Prefix)
}

// UsableVIP reports whether a is an address AllocateVIP could hand out in s (not the network,
// gateway or broadcast address), so a requested vip_address is held to the same rule.
func UsableVIP(s Subnet, a netip.Addr) bool {
	if !s.Prefix.Contains(a) {
		return false
	}
	return s.Prefix.Addr().Next().Less(a) && a.Less(lastAddr(s.Prefix))
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
