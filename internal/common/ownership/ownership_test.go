package ownership

import (
	"strings"
	"testing"
)

func TestMarkRoundTrip(t *testing.T) {
	for _, m := range []Mark{
		{MultiCluster: true, ClusterID: "9f1c2d3e-0000-4a4b-8c8d-123456789abc", Namespace: "shop", Service: "web"},
		{MultiCluster: false, ClusterID: "c1", Namespace: "a", Service: "b"},
	} {
		s := FormatMark(m)
		got, ok := ParseMark(s)
		if !ok || got != m {
			t.Errorf("ParseMark(%q) = %+v, %v; want %+v", s, got, ok, m)
		}
	}
	if got := FormatMark(MarkFor(ServiceRef{ClusterID: "c1", Namespace: "ns", Name: "svc"})); got != "fleetlb/v1 multicluster=true cluster=c1 service=ns/svc" {
		t.Errorf("FormatMark = %q", got)
	}
}

func TestParseMarkRejectsForeignDescriptions(t *testing.T) {
	for _, s := range []string{
		"", "made by hand for the VMs", "fleetlb/v1", "fleetlb/v1 multicluster=yes cluster=a service=b/c",
		"fleetlb/v1 multicluster=true service=b/c", "fleetlb/v1 multicluster=true cluster=a service=bc",
		"fleetlb/v1 multicluster=true cluster=a", "fleetlb/v2 multicluster=true cluster=a service=b/c",
		"fleetlb/v1 multicluster=true cluster= service=b/c", "fleetlb/v1 multicluster",
	} {
		if m, ok := ParseMark(s); ok {
			t.Errorf("ParseMark(%q) = %+v, want no mark", s, m)
		}
	}
	// Later versions may add fields.
	if m, ok := ParseMark("fleetlb/v1 multicluster=true cluster=a service=b/c extra=1"); !ok || m.ClusterID != "a" {
		t.Errorf("unknown field broke parsing: %+v %v", m, ok)
	}
}

func TestMemberNameRoundTrip(t *testing.T) {
	ref := ServiceRef{ClusterID: "9f1c2d3e-0000-4a4b-8c8d-123456789abc", Namespace: "shop", Name: "web"}
	name := MemberName(ref, 80)
	if name != "fleetlb/9f1c2d3e-0000-4a4b-8c8d-123456789abc/shop/web/80" {
		t.Fatalf("MemberName = %q", name)
	}
	got, port, ok := ParseMemberName(name)
	if !ok || got != ref || port != 80 {
		t.Fatalf("ParseMemberName = %+v %d %v", got, port, ok)
	}
	for _, s := range []string{"vm-1", "", "fleetlb/", "fleetlb/a/b/c", "fleetlb/a/b/c/0", "fleetlb/a/b/c/70000", "fleetlb/a//c/80", "fleetlb/a/b/c/80/x", "fleetlb/a/b/c/http"} {
		if r, p, ok := ParseMemberName(s); ok {
			t.Errorf("ParseMemberName(%q) = %+v %d, want not ours", s, r, p)
		}
	}
}

func TestMarksFitTheELBLimits(t *testing.T) {
	ref := ServiceRef{ClusterID: strings.Repeat("c", MaxClusterIDLen), Namespace: strings.Repeat("n", 63), Name: strings.Repeat("s", 63)}
	if n := len(MemberName(ref, 65535)); n > 255 {
		t.Errorf("member name is %d characters, the ELB allows 255", n)
	}
	if n := len(FormatMark(MarkFor(ref))); n > 255 {
		t.Errorf("description is %d characters, the ELB allows 255", n)
	}
	if msg := ClusterIDProblem(strings.Repeat("c", MaxClusterIDLen+1)); msg == "" {
		t.Error("an over-long cluster ID was accepted")
	}
	for _, bad := range []string{"", "a/b", "a b", "a=b"} {
		if ClusterIDProblem(bad) == "" {
			t.Errorf("cluster ID %q was accepted", bad)
		}
	}
}
