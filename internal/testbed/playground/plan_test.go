package playground

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fleetlb/fleetlb/internal/elbd/config"
)

func TestPlanSameVPC(t *testing.T) {
	p, err := NewPlan(224, []ClusterSpec{{Name: "a", PodNetwork: PodNetworkVPC}, {Name: "b", PodNetwork: PodNetworkOverlay}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.VPCs) != 2 || len(p.VPCs[1].Subnets) != 0 {
		t.Fatalf("VPCs %+v, want vpc-1 with every subnet and an empty vpc-2 (S1: both clusters in the ELBs' VPC)", p.VPCs)
	}
	a, _ := p.Cluster("a")
	b, _ := p.Cluster("b")
	if a.Subnet.CIDR != "127.225.0.0/16" || b.Subnet.CIDR != "127.226.0.0/16" || b.Subnet.VPCID != "vpc-1" {
		t.Errorf("subnets a %+v b %+v", a.Subnet, b.Subnet)
	}
	if p.VMAddress(2).String() != "127.224.1.12" {
		t.Errorf("VMAddress(2) = %s", p.VMAddress(2))
	}
	checkPlan(t, p)
}

func TestPlanSeparateVPCs(t *testing.T) {
	specs, err := ParseClusters("a,b", "", true)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(192, specs)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := p.Cluster("b")
	if len(p.VPCs) != 2 || b.Subnet.VPCID != "vpc-2" || b.Subnet.CIDR != "127.210.0.0/16" {
		t.Fatalf("b %+v, VPCs %d; want b in vpc-2 at 127.210.0.0/16", b, len(p.VPCs))
	}
	checkPlan(t, p)
}

// checkPlan proves what members rely on: every cluster's node and pod ranges
// are inside its subnet, and elbd accepts the generated configuration.
func checkPlan(t *testing.T, p Plan) {
	t.Helper()
	for _, c := range p.Clusters {
		sub := netip.MustParsePrefix(c.Subnet.CIDR)
		for _, r := range []string{c.NodeCIDR, c.PodCIDR, c.ServiceCIDR} {
			rp := netip.MustParsePrefix(r)
			if !sub.Contains(rp.Addr()) || rp.Bits() < sub.Bits() {
				t.Errorf("cluster %s range %s is not inside its subnet %s", c.Name, r, sub)
			}
		}
	}
	creds, err := NewCredentials()
	if err != nil {
		t.Fatal(err)
	}
	y, err := ELBDConfig(p, creds)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(y)
	if err != nil {
		t.Fatalf("elbd rejects the generated config: %v\n%s", err, y)
	}
	for _, c := range p.Clusters {
		s, ok := cfg.Network().Subnet(c.Subnet.ID)
		if !ok || s.VPCID != c.Subnet.VPCID {
			t.Errorf("elbd config: subnet %s = %+v, %v", c.Subnet.ID, s, ok)
		}
	}
}

func TestPlanErrors(t *testing.T) {
	for _, tc := range []struct {
		base  int
		specs []ClusterSpec
		want  string
	}{
		{100, []ClusterSpec{{Name: "a"}}, "multiple of 32"},
		{224, nil, "at least one"},
		{224, []ClusterSpec{{Name: "A"}}, "DNS label"},
		{224, []ClusterSpec{{Name: "a"}, {Name: "a"}}, "named twice"},
		{224, []ClusterSpec{{Name: "a"}, {Name: "vm"}}, "choose another name"},
		{224, []ClusterSpec{{Name: "elb"}}, "choose another name"},
		{224, []ClusterSpec{{Name: "a", PodNetwork: "flat"}}, "use vpc or overlay"},
		{224, []ClusterSpec{{Name: "a", VPC: 3}}, "use 1"},
	} {
		if _, err := NewPlan(tc.base, tc.specs); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewPlan(%d, %+v) = %v, want an error with %q", tc.base, tc.specs, err, tc.want)
		}
	}
}

func TestParseClusters(t *testing.T) {
	specs, err := ParseClusters("a,b,c", "a=overlay,c=vpc", false)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, s := range specs {
		got = append(got, s.Name+"="+s.PodNetwork)
	}
	if strings.Join(got, ",") != "a=overlay,b=overlay,c=vpc" {
		t.Errorf("got %v", got)
	}
	for _, tc := range []struct{ names, nets, want string }{
		{"a,,b", "", "empty name"},
		{"a,b", "a:vpc", "name=vpc"},
		{"a,b", "a=flat", "use vpc or overlay"},
		{"a,b", "z=vpc", "not in --clusters"},
		{"a,b", "a=vpc,a=overlay", "names cluster \"a\" twice"},
	} {
		if _, err := ParseClusters(tc.names, tc.nets, false); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseClusters(%q, %q) = %v, want %q", tc.names, tc.nets, err, tc.want)
		}
	}
}

func TestEnvRender(t *testing.T) {
	p, _ := NewPlan(224, []ClusterSpec{{Name: "a"}, {Name: "my-b"}})
	e := Env{Endpoint: "http://127.0.0.1:9", ConsoleURL: "http://127.0.0.1:10/", Credentials: Credentials{"AK", "s'k", "proj"}, Plan: p,
		PerformanceELBID: "pid", UnionELBID: "uid", PerformanceELBVIP: "127.224.0.2", UnionELBVIP: "127.224.0.3",
		Kubeconfigs: map[string]string{"a": "/d/a.kubeconfig"}}
	out := string(e.Render())
	for _, want := range []string{
		"export ELB_ENDPOINT=http://127.0.0.1:9\n", "export ELBD_CONSOLE_URL=http://127.0.0.1:10/\n", `export HUAWEICLOUD_SDK_SK='s'\''k'` + "\n",
		"export PERFORMANCE_ELB_VIP=127.224.0.2\n", "export UNION_ELB_ID=uid\n",
		"export SUBNET_MY_B_ID=subnet-my-b\n", "export SUBNET_MY_B_CIDR=127.226.0.0/16\n", "export VPC_1_CIDR=127.224.0.0/12\n",
		"export KUBECONFIG_A=/d/a.kubeconfig\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("elb.env lacks %q:\n%s", want, out)
		}
	}
}

// TestEnvSourcedByShell sources elb.env with a real shell and checks that
// every variable the issue names arrives unchanged, even values with
// spaces, quotes and dollars (a state directory may have them).
func TestEnvSourcedByShell(t *testing.T) {
	p, _ := NewPlan(224, []ClusterSpec{{Name: "a"}, {Name: "b"}})
	e := Env{Endpoint: "http://127.0.0.1:9", Credentials: Credentials{"AK1", `s'k $HOME "x"`, "proj"}, Plan: p,
		PerformanceELBID: "pid", UnionELBID: "uid", PerformanceELBVIP: "127.224.0.2", UnionELBVIP: "127.224.0.3",
		Kubeconfigs: map[string]string{"a": "/my state/a.kubeconfig", "b": "/d/b.kubeconfig"}}
	path := filepath.Join(t.TempDir(), "elb.env")
	if err := os.WriteFile(path, e.Render(), 0o600); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, kv := range e.Vars() {
		want[kv[0]] = kv[1]
	}
	for _, k := range []string{"ELB_ENDPOINT", "HUAWEICLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK", "HUAWEICLOUD_SDK_PROJECT_ID",
		"PERFORMANCE_ELB_ID", "UNION_ELB_ID", "PERFORMANCE_ELB_VIP", "UNION_ELB_VIP",
		"VPC_1_ID", "VPC_1_CIDR", "VPC_2_ID", "VPC_2_CIDR", "SUBNET_ELB_ID", "SUBNET_ELB_CIDR", "SUBNET_VM_ID", "SUBNET_VM_CIDR",
		"SUBNET_A_ID", "SUBNET_A_CIDR", "SUBNET_B_ID", "SUBNET_B_CIDR", "KUBECONFIG_A"} {
		if _, ok := want[k]; !ok {
			t.Errorf("elb.env has no %s", k)
		}
	}
	out, err := exec.Command("/bin/sh", "-c", `set -eu; . "$1"; env -0`, "sh", path).Output()
	if err != nil {
		t.Fatalf("sh cannot source elb.env: %v\n%s", err, e.Render())
	}
	got := map[string]string{}
	for _, kv := range strings.Split(string(out), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			got[k] = v
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("after sourcing elb.env, %s=%q, want %q", k, got[k], v)
		}
	}
}
