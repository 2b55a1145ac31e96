package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Quotas maps quota keys (the field names of the quota API) to limits; -1 is unlimited.
type Quotas map[string]int

// Unlimited is the quota value that sets no limit, as in the quota API.
const Unlimited = -1

// DefaultQuotas are the real cloud's default quotas per project, keyed exactly like the fields of
// the SDK's services/elb/v3/model/model_quota.go (ShowQuota) and the quota_key values of
// model_quota_info.go (ListQuotaDetails). The numbers are the user guide's "Quotas and Constraints"
// (ELB resource quotas: 50 load balancers, 100 listeners, 500 forwarding policies, 500 pools,
// 120 certificates, 500 members, 50 listeners per load balancer, 100 forwarding policies per
// listener; other quotas: 10 conditions per policy, 5 pools per policy, 500 members per pool,
// 50 listeners per pool, 50 IP address groups, 50 listeners per IP address group, 300 IP addresses
// per group) and the API reference's ShowQuota example (healthmonitor -1). Keys that neither
// document gives a number for are -1.
var DefaultQuotas = Quotas{
	"loadbalancer":                   50,
	"certificate":                    120,
	"listener":                       100,
	"l7policy":                       500,
	"condition_per_policy":           10,
	"pool":                           500,
	"healthmonitor":                  Unlimited,
	"member":                         500,
	"members_per_pool":               500,
	"listeners_per_pool":             50,
	"ipgroup":                        50,
	"ipgroup_bindings":               50,
	"ipgroup_max_length":             300,
	"ipgroups_per_listener":          Unlimited,
	"security_policy":                Unlimited,
	"listeners_per_loadbalancer":     50,
	"pools_per_l7policy":             5,
	"l7policies_per_listener":        100,
	"free_instance_members_per_pool": Unlimited,
	"free_instance_listeners_per_loadbalancer": Unlimited,
}

// QuotaKeys are the quota keys in a stable (sorted) order.
func QuotaKeys() []string { return slices.Sorted(maps.Keys(DefaultQuotas)) }

// Project is a per-project section of the configuration.
type Project struct {
	ID string `json:"id"`
	// Quotas overrides the top-level quotas for this project, key by key.
	Quotas Quotas `json:"quotas"`
}

// validateQuotas checks that every key is a quota key and every value is -1 or more.
func validateQuotas(where string, q Quotas, add func(string, ...any)) {
	for _, k := range slices.Sorted(maps.Keys(q)) {
		v := q[k]
		if _, ok := DefaultQuotas[k]; !ok {
			add("%s.%s is not a quota; the quota keys are %s", where, k, strings.Join(QuotaKeys(), ", "))
		} else if v < Unlimited {
			add("%s.%s is %d; a quota is -1 (unlimited) or a count of 0 or more", where, k, v)
		}
	}
}

// QuotaPlan answers each project's quotas: the defaults, overridden by the top-level quotas:
// section, overridden by the project's own. It is immutable and safe for concurrent use.
type QuotaPlan struct {
	all     Quotas
	project map[string]Quotas
}

// NewQuotaPlan is the plan of all (applying to every project) and per-project overrides; keys
// left out keep their defaults.
func NewQuotaPlan(all Quotas, perProject map[string]Quotas) *QuotaPlan {
	p := &QuotaPlan{all: merge(DefaultQuotas, all), project: map[string]Quotas{}}
	for id, q := range perProject {
		p.project[id] = merge(p.all, q)
	}
	return p
}

func merge(base, over Quotas) Quotas {
	out := Quotas{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

// For returns the project's quotas, every key set. The caller must not modify the map.
func (p *QuotaPlan) For(projectID string) Quotas {
	if p == nil {
		return DefaultQuotas
	}
	if q, ok := p.project[projectID]; ok {
		return q
	}
	return p.all
}

// QuotaPlan is the configuration's quotas.
func (c *Config) QuotaPlan() *QuotaPlan {
	per := map[string]Quotas{}
	for _, pr := range c.Projects {
		per[pr.ID] = pr.Quotas
	}
	return NewQuotaPlan(c.Quotas, per)
}

// validateProjects checks the quotas: and projects: sections.
func (c *Config) validateProjects(add func(string, ...any)) {
	validateQuotas("quotas", c.Quotas, add)
	seen := map[string]bool{}
	for i, pr := range c.Projects {
		where := fmt.Sprintf("projects[%d]", i)
		listedOnce(add, seen, where+".id", pr.ID, "; set the project ID the section is about", "list each project once")
		validateQuotas(where+".quotas", pr.Quotas, add)
	}
}
