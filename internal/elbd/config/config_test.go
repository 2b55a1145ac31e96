package config

import (
	"net/netip"
	"strings"
	"testing"
)

const good = `
credentials:
  - accessKey: AK1
    secretKey: SK1
    projectID: p1
vpcs:
  - id: vpc-a
    cidr: 127.10.0.0/16
    subnets:
      - id: subnet-a1
        cidr: 127.10.1.0/24
`

func TestParseGood(t *testing.T) {
	c, err := Parse([]byte(good + "extra: ignored\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Credentials) != 1 || c.Credentials[0] != (Credential{AccessKey: "AK1", SecretKey: "SK1", ProjectID: "p1"}) {
		t.Errorf("credentials %+v", c.Credentials)
	}
	s, ok := c.Network().Subnet("subnet-a1")
	if !ok || s.VPCID != "vpc-a" || s.Prefix != netip.MustParsePrefix("127.10.1.0/24") {
		t.Errorf("subnet %+v %v", s, ok)
	}
	if _, ok := c.Network().Subnet("vpc-a"); ok {
		t.Error("a VPC ID is not a subnet")
	}
}

func TestValidationErrors(t *testing.T) {
	for _, c := range []struct {
		name, yaml string
		want       []string
	}{
		{"not YAML", "credentials: [", []string{"not valid YAML"}},
		{"no credentials", "vpcs: []", []string{"at least one access key"}},
		{"empty fields", "credentials:\n  - accessKey: ''\n", []string{"credentials[0].accessKey is empty", "credentials[0].secretKey is empty", "credentials[0].projectID is empty"}},
		{"duplicate key", "credentials:\n  - {accessKey: A, secretKey: S, projectID: p}\n  - {accessKey: A, secretKey: T, projectID: q}\n", []string{`credentials[1].accessKey "A" appears twice`}},
		{"bad project", "credentials:\n  - {accessKey: A, secretKey: S, projectID: 'p/1'}\n", []string{"may not contain '/'"}},
		{"bad cidrs", good + "  - id: vpc-b\n    cidr: banana\n    subnets:\n      - id: s\n        cidr: 10.0.0.1/24\n      - {id: t, cidr: ''}\n      - {id: u, cidr: '10.0.0.0/31'}\n",
			[]string{`vpcs[1].cidr: "banana" is not an IPv4 CIDR`, "vpcs[1].subnets[0].cidr: \"10.0.0.1/24\" has host bits set; did you mean 10.0.0.0/24?", "vpcs[1].subnets[1].cidr: is empty", "too small"}},
		{"subnet outside VPC", good + "  - id: vpc-b\n    cidr: 127.20.0.0/16\n    subnets:\n      - {id: s, cidr: 127.30.0.0/24}\n", []string{"127.30.0.0/24 is not inside its VPC's cidr 127.20.0.0/16"}},
		{"overlap and duplicate IDs", good + "  - id: vpc-b\n    cidr: 127.10.0.0/16\n    subnets:\n      - {id: subnet-a1, cidr: 127.10.1.128/25}\n", []string{`"subnet-a1" is already used`, "overlaps subnet 127.10.1.0/24"}},
		{"IPv6", "credentials:\n  - {accessKey: A, secretKey: S, projectID: p}\nvpcs:\n  - {id: v, cidr: 'fd00::/64'}\n", []string{"not an IPv4 CIDR"}},
		{"missing ids", "credentials:\n  - {accessKey: A, secretKey: S, projectID: p}\nvpcs:\n  - cidr: 127.1.0.0/16\n    subnets:\n      - cidr: 127.1.1.0/24\n", []string{"vpcs[0].id is empty", "vpcs[0].subnets[0].id is empty"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.yaml))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestAllocateVIP(t *testing.T) {
	s := Subnet{ID: "s", Prefix: netip.MustParsePrefix("127.10.1.0/29")} // .0 net, .1 gw, .7 bcast
	used := map[netip.Addr]bool{}
	var got []string
	for {
		a, err := AllocateVIP(s, func(a netip.Addr) bool { return used[a] })
		if err != nil {
			if !strings.Contains(err.Error(), "no free address") {
				t.Fatal(err)
			}
			break
		}
		used[a] = true
		got = append(got, a.String())
	}
	if strings.Join(got, " ") != "127.10.1.2 127.10.1.3 127.10.1.4 127.10.1.5 127.10.1.6" {
		t.Errorf("allocated %v", got)
	}
	for addr, ok := range map[string]bool{"127.10.1.0": false, "127.10.1.1": false, "127.10.1.2": true, "127.10.1.6": true, "127.10.1.7": false, "127.10.2.2": false} {
		if UsableVIP(s, netip.MustParseAddr(addr)) != ok {
			t.Errorf("UsableVIP(%s) = %v", addr, !ok)
		}
	}
}

func TestQuotas(t *testing.T) {
	c, err := Parse([]byte(good + "quotas:\n  member: 10\n  pool: -1\nprojects:\n  - id: p1\n    quotas:\n      member: 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	plan := c.QuotaPlan()
	if q := plan.For("p1"); q["member"] != 3 || q["pool"] != -1 || q["loadbalancer"] != 50 {
		t.Errorf("p1: member %d pool %d loadbalancer %d; want 3 (its own), -1 (quotas:), 50 (default)", q["member"], q["pool"], q["loadbalancer"])
	}
	if q := plan.For("p2"); q["member"] != 10 || len(q) != len(DefaultQuotas) {
		t.Errorf("p2: member %d, %d keys; want 10 and every key", q["member"], len(q))
	}
	if DefaultQuotas["member"] != 500 {
		t.Error("the defaults were changed through a plan")
	}
	_, err = Parse([]byte(good + "quotas:\n  members: 10\n  pool: -2\nprojects:\n  - id: p1\n  - id: p1\n    quotas:\n      listener: -3\n  - quotas: {}\n"))
	for _, want := range []string{"quotas.members is not a quota", "quotas.pool is -2", "projects[1].id \"p1\" appears twice", "projects[1].quotas.listener is -3", "projects[2].id is empty"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
}

func TestRateLimits(t *testing.T) {
	c, err := Parse([]byte(good + "rateLimit:\n  requestsPerSecond: 2.5\n"))
	if err != nil {
		t.Fatal(err)
	}
	if rl := c.RateLimitFor("AK1"); rl == nil || rl.RequestsPerSecond != 2.5 || rl.BurstOrDefault() != 3 {
		t.Errorf("AK1's rate %+v; want the top-level 2.5/s with burst 3", rl)
	}
	c, err = Parse([]byte(good))
	if err != nil || c.RateLimitFor("AK1") != nil {
		t.Errorf("without rateLimit: %v %+v; want no limit", err, c.RateLimitFor("AK1"))
	}
	_, err = Parse([]byte(`
rateLimit:
  requestsPerSecond: 0
credentials:
  - accessKey: AK1
    secretKey: SK1
    projectID: p1
    rateLimit:
      requestsPerSecond: 1
      burst: -1
`))
	for _, want := range []string{"rateLimit.requestsPerSecond is 0", "credentials[0].rateLimit.burst is -1"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
}
