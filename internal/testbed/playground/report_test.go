package playground

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/fleetview"
)

func TestSplit(t *testing.T) {
	owners := Owners{"uid-a": "a"}
	members := []Member{
		{Member: elbclient.Member{Name: "fleetlb/uid-a/default/nginx/80", Address: "127.1.0.1", Port: 80, Weight: 27}, Status: "ONLINE"},
		{Member: elbclient.Member{Name: "fleetlb/uid-a/default/nginx/80", Address: "127.1.0.2", Port: 80, Weight: 27}, Status: "ONLINE"},
		{Member: elbclient.Member{Name: "fleetlb/uid-x/default/nginx/80", Address: "127.2.0.1", Port: 31000, Weight: 20}, Status: "ONLINE"},
		{Member: elbclient.Member{Name: "vm-1", Address: "127.3.0.1", Port: 80, Weight: 10}, Status: "ONLINE"},
		{Member: elbclient.Member{Name: "vm-2", Address: "127.3.0.2", Port: 80, Weight: 10}, Status: "OFFLINE"}, // does not count
		{Member: elbclient.Member{Name: "", Address: "127.3.0.3", Port: 80, Weight: 0}, Status: "ONLINE"},       // drained
	}
	tally := Tally{Sent: 100, ByBackend: map[string]int{"a/a-node-1/p1": 40, "a/a-node-2/p2": 30, "vm-1": 30}}
	rows := Split(members, owners, map[string]int{"a": 50, "vm-1": 10}, tally)
	byOwner := map[string]Row{}
	for _, r := range rows {
		byOwner[r.Label()] = r
	}
	if len(rows) != 5 {
		t.Fatalf("rows %+v, want a, uid-x, vm-1, vm-2, 127.3.0.3:80", rows)
	}
	check := func(owner string, members, eff int, expected, measured float64) {
		t.Helper()
		r := byOwner[owner]
		if r.Members != members || r.Effective != eff || math.Abs(r.Expected-expected) > 1e-9 || math.Abs(r.Measured-measured) > 1e-9 {
			t.Errorf("%s: %+v, want members %d effective %d expected %.3f measured %.3f", owner, r, members, eff, expected, measured)
		}
	}
	check("a", 2, 54, 54.0/84, 0.7)
	check("uid-x", 1, 20, 20.0/84, 0)
	check("vm-1", 1, 10, 10.0/84, 0.3)
	check("vm-2", 1, 0, 0, 0)
	check("127.3.0.3:80", 1, 0, 0, 0)
	if byOwner["a"].Requested != 50 || byOwner["vm-2"].Requested != 10 || byOwner["vm-2"].RequestedFrom != fleetview.RequestedCarried {
		t.Errorf("requested weights %+v", rows)
	}
	var buf bytes.Buffer
	WriteSplit(&buf, rows)
	WriteMembers(&buf, members, owners)
	for _, want := range []string{"64.3%", "70.0%", "127.3.0.1:80", "OFFLINE", "IP-type"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestOwnerOfIdentity(t *testing.T) {
	for id, want := range map[string]string{"a/a-node-1/nginx-1": "a", "vm-1": "vm-1"} {
		if got := OwnerOfIdentity(id); got != want {
			t.Errorf("OwnerOfIdentity(%q) = %q, want %q", id, got, want)
		}
	}
}
