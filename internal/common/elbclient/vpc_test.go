package elbclient_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/elbclient/elbtest"
)

// C7: elbd serves the VPC API's list of subnets (services/vpc/v2 ListSubnets) from its
// configured VPCs; the configured ID is the neutron_subnet_id, the one members take.
func TestC7ListSubnetsFromElbdVPCs(t *testing.T) {
	h, _ := elbtest.Handler(t, `
credentials:
  - {accessKey: AK-VPC, secretKey: SK-vpc-secret, projectID: p1}
vpcs:
  - id: vpc-a
    cidr: 127.10.0.0/16
    subnets:
      - {id: subnet-a1, cidr: 127.10.1.0/24}
      - {id: subnet-a2, cidr: 127.10.2.0/24}
  - id: vpc-b
    cidr: 127.20.0.0/16
    subnets:
      - {id: subnet-b1, cidr: 127.20.1.0/24}
`)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := elbclient.New(elbclient.Config{Endpoint: srv.URL, ProjectID: "p1", AK: "AK-VPC", SK: "SK-vpc-secret"})
	if err != nil {
		t.Fatal(err)
	}
	list := func(vpc string) string {
		ss, err := c.ListSubnets(context.Background(), vpc)
		if err != nil {
			t.Fatalf("ListSubnets(%q): %v", vpc, err)
		}
		var out []string
		for _, s := range ss {
			if s.ID == "" || s.ID == s.NeutronSubnetID {
				t.Errorf("subnet %+v: the VPC API's id must be its own, not the neutron_subnet_id", s)
			}
			out = append(out, fmt.Sprintf("%s %s %s", s.VPCID, s.NeutronSubnetID, s.CIDR))
		}
		sort.Strings(out)
		return strings.Join(out, "\n")
	}
	if got, want := list("vpc-a"), "vpc-a subnet-a1 127.10.1.0/24\nvpc-a subnet-a2 127.10.2.0/24"; got != want {
		t.Errorf("vpc_id=vpc-a:\n%s\nwant:\n%s", got, want)
	}
	if got := list(""); strings.Count(got, "\n") != 2 || !strings.Contains(got, "vpc-b subnet-b1 127.20.1.0/24") {
		t.Errorf("all subnets:\n%s", got)
	}
	if got := list("vpc-none"); got != "" {
		t.Errorf("an unknown VPC has subnets:\n%s", got)
	}
	bad, _ := elbclient.New(elbclient.Config{Endpoint: srv.URL, ProjectID: "p1", AK: "AK-VPC", SK: "wrong", Retry: elbclient.Retry{Attempts: 1}})
	if _, err := bad.ListSubnets(context.Background(), ""); err == nil {
		t.Error("a wrong secret key listed subnets")
	}
	if got := elbclient.VPCEndpoint("https://elb.cn-north-4.myhuaweicloud.com"); got != "https://vpc.cn-north-4.myhuaweicloud.com" {
		t.Errorf("VPC endpoint of the real ELB's: %s", got)
	}
}
