package fleetview

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/fleetlb/fleetlb/internal/common/ownership"
)

func name(cluster string) string {
	return ownership.MemberName(ownership.ServiceRef{ClusterID: cluster, Namespace: "shop", Name: "web"}, 80)
}

// A pool shared by two clusters and three hand-added VMs (one drained, one failing its check).
func pool() []Member {
	return []Member{
		{ID: "a1", Name: name("uid-a"), Address: "10.0.0.1", Port: 30080, Weight: 40, SubnetID: "s1", Status: "ONLINE"},
		{ID: "a2", Name: name("uid-a"), Address: "10.0.0.2", Port: 30080, Weight: 40, SubnetID: "s1", Status: "ONLINE"},
		{ID: "b1", Name: name("uid-b"), Address: "10.1.0.1", Port: 31000, Weight: 20, Status: "OFFLINE"},
		{ID: "b2", Name: name("uid-b"), Address: "10.1.0.2", Port: 31000, Weight: 20, Status: "ONLINE"},
		{ID: "v1", Name: "vm-1", Address: "10.2.0.1", Port: 80, Weight: 20, Status: "NO_MONITOR"},
		{ID: "v2", Name: "vm-2", Address: "10.2.0.2", Port: 80, Weight: 0, Status: "ONLINE"},
		{ID: "v3", Name: "", Address: "10.2.0.3", Port: 80, Weight: 10, Status: "OFFLINE"},
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestBuildGroupsByOwner(t *testing.T) {
	v := Build(pool(), Options{Names: map[string]string{"uid-a": "a"}, Requested: map[string]int{"uid-a": 80}})
	if len(v.Rows) != 3 {
		t.Fatalf("rows %+v, want uid-a, uid-b, manual", v.Rows)
	}
	a, b, m := v.Rows[0], v.Rows[1], v.Rows[2]
	// Effective: a 80, b 20 (b1 is OFFLINE), manual 20 (vm-2 drained, v3 OFFLINE); total 120.
	if v.TotalEffective != 120 {
		t.Errorf("total effective %d, want 120", v.TotalEffective)
	}
	if a.Owner != "uid-a" || a.Label() != "a" || !a.Cluster || a.Members != 2 || a.Effective != 80 || !near(a.Expected, 80.0/120) ||
		a.Requested != 80 || a.RequestedFrom != RequestedGiven || a.Health.String() != "2 online" {
		t.Errorf("cluster a: %+v", a)
	}
	if b.Owner != "uid-b" || b.Label() != "uid-b" || b.Members != 2 || b.Effective != 20 || b.Carried != 40 ||
		b.Requested != 40 || b.RequestedFrom != RequestedCarried || b.Health.String() != "1 online, 1 offline" {
		t.Errorf("cluster b: %+v", b)
	}
	if m.Owner != Manual || m.Cluster || m.Members != 3 || m.Effective != 20 || !near(m.Expected, 20.0/120) ||
		m.Health.String() != "1 online, 1 offline, 1 no monitor" {
		t.Errorf("manual: %+v", m)
	}
	if v.Measured {
		t.Error("a view without counts says it is measured")
	}
}

func TestBuildMeasuredShares(t *testing.T) {
	v := Build(pool(), Options{MemberCounts: map[string]float64{"a1": 30, "a2": 30, "b2": 15, "v1": 25}})
	if !v.Measured || v.TotalCount != 100 {
		t.Fatalf("measured %v total %v", v.Measured, v.TotalCount)
	}
	for i, want := range []float64{0.6, 0.15, 0.25} {
		if !near(v.Rows[i].Measured, want) {
			t.Errorf("%s measured %.3f, want %.3f", v.Rows[i].Owner, v.Rows[i].Measured, want)
		}
	}
}

func TestBuildManualByMemberAndOwnerCounts(t *testing.T) {
	v := Build(pool(), Options{ManualByMember: true, OwnerCounts: map[string]float64{"uid-a": 7, "vm-1": 3}})
	var owners []string
	for _, r := range v.Rows {
		owners = append(owners, r.Owner)
	}
	if got := strings.Join(owners, ","); got != "uid-a,uid-b,10.2.0.3:80,vm-1,vm-2" {
		t.Errorf("owners %s", got)
	}
	if !near(v.Rows[0].Measured, 0.7) || !near(v.Rows[3].Measured, 0.3) {
		t.Errorf("measured %+v", v.Rows)
	}
}

func TestBuildEmptyAndAllDrained(t *testing.T) {
	if v := Build(nil, Options{}); len(v.Rows) != 0 || v.TotalEffective != 0 {
		t.Errorf("empty pool: %+v", v)
	}
	v := Build([]Member{{ID: "x", Name: "vm", Weight: 0, Status: "ONLINE"}}, Options{})
	if len(v.Rows) != 1 || v.Rows[0].Expected != 0 {
		t.Errorf("drained pool: %+v", v)
	}
}

func TestCountDelta(t *testing.T) {
	d := CountDelta(map[string]float64{"a": 10, "b": 50}, map[string]float64{"a": 15, "b": 5, "c": 2})
	if d["a"] != 5 || d["b"] != 5 || d["c"] != 2 {
		t.Errorf("delta %v; want a 5, b 5 (restarted: counts from zero), c 2 (new)", d)
	}
}

func TestWrite(t *testing.T) {
	var buf bytes.Buffer
	v := Build(pool(), Options{Names: map[string]string{"uid-a": "a"}, Requested: map[string]int{"uid-a": 80}})
	if err := Write(&buf, v); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"OWNER", "EXPECTED SHARE", "66.7%", "40*", "manual", "1 online, 1 offline", "* no weight recorded"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "MEASURED") {
		t.Errorf("unmeasured table shows measured columns:\n%s", out)
	}
	buf.Reset()
	_ = Write(&buf, Build(pool(), Options{MemberCounts: map[string]float64{"a1": 1}}))
	if !strings.Contains(buf.String(), "MEASURED SHARE") || !strings.Contains(buf.String(), "100.0%") {
		t.Errorf("measured table:\n%s", buf.String())
	}
	buf.Reset()
	_ = WriteMembers(&buf, pool(), Options{Names: map[string]string{"uid-a": "a"}})
	for _, want := range []string{"a  ", "10.2.0.3:80", "IP-type", "subnet s1", "manual"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("members lack %q:\n%s", want, buf.String())
		}
	}
}

// TestStaleOwnerIsMarked: an owner whose record is stale (T13) is marked in its label and row.
func TestStaleOwnerIsMarked(t *testing.T) {
	v := Build([]Member{
		{ID: "1", Name: ownership.MemberName(ownership.ServiceRef{ClusterID: "gone", Namespace: "ns", Name: "s"}, 80), Weight: 10},
		{ID: "2", Name: ownership.MemberName(ownership.ServiceRef{ClusterID: "live", Namespace: "ns", Name: "s"}, 80), Weight: 10},
	}, Options{Stale: map[string]bool{"gone": true}})
	got := map[string]string{}
	for _, r := range v.Rows {
		got[r.Owner] = r.Label()
		if r.Stale != (r.Owner == "gone") {
			t.Errorf("%s: Stale %t", r.Owner, r.Stale)
		}
	}
	if got["gone"] != "gone (stale)" || got["live"] != "live" {
		t.Errorf("labels %v; want gone (stale) and live", got)
	}
}
