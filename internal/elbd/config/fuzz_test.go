package config

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzParse (F4): any config file either loads into a configuration elbd can use (its network,
// quota plan and rate limits answer without panicking, and a VIP can be drawn from each subnet
// that has room) or is refused with a message; never a panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`
credentials:
  - {accessKey: AK1, secretKey: SK1, projectID: p1}
vpcs:
  - id: vpc-a
    cidr: 127.10.0.0/16
    subnets:
      - {id: subnet-a1, cidr: 127.10.1.0/24}
      - {id: subnet-tiny, cidr: 127.10.9.0/30}
`))
	f.Add([]byte(`
credentials:
  - accessKey: AK1
    secretKey: SK1
    projectID: p1
rateLimit:
  requestsPerSecond: 2.5
quotas: {loadbalancer: 10, member: 500}
projects:
  - id: p1
    quotas: {member: 3}
vpcs:
  - id: v
    cidr: 127.0.0.0/8
    subnets: [{id: s, cidr: 127.1.0.0/16}]
`))
	f.Add([]byte("credentials: []\nvpcs:\n  - id: v\n    cidr: 127.0.0.1/8\n"))
	f.Add([]byte("{"))
	f.Add([]byte("vpcs: [{id: v, cidr: '::1/128', subnets: [{id: s, cidr: '::1/128'}]}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data)
		if err != nil {
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatalf("Parse(%q) refused with an empty message", data)
			}
			return
		}
		_ = cfg.QuotaPlan()
		for _, c := range cfg.Credentials {
			_ = cfg.RateLimitFor(c.AccessKey)
		}
		_ = cfg.Network()
		for _, v := range cfg.VPCs {
			for _, s := range v.Subnets {
				if a, err := AllocateVIP(s, func(netip.Addr) bool { return false }); err == nil && !UsableVIP(s, a) {
					t.Fatalf("AllocateVIP(%+v) = %s, which UsableVIP refuses", s, a)
				}
			}
		}
	})
}
