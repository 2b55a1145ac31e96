package fleetrecord

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fleetlb/fleetlb/internal/common/fleetview"
	"github.com/fleetlb/fleetlb/internal/common/ownership"
)

func TestRecordRoundTripWithinTheTagRules(t *testing.T) {
	now := time.Unix(1_800_000_000, 0).UTC()
	for _, id := range []string{"a", "kube-7f3c", strings.Repeat("x", 64), "odd;id:with%and*<>\\,|chars", strings.Repeat("*", 64)} {
		r := Record{ClusterID: id, Weight: 80, Heartbeat: now, InstallID: NewInstallID()}
		tag, err := Encode(r)
		if err != nil {
			t.Fatalf("Encode(%q): %v", id, err)
		}
		if n := len([]rune(tag.Key)); n > MaxKeyLen {
			t.Errorf("key %q is %d characters; the API allows %d", tag.Key, n, MaxKeyLen)
		}
		if n := len([]rune(tag.Value)); n > MaxValueLen {
			t.Errorf("value is %d characters; the API allows %d", n, MaxValueLen)
		}
		if i := strings.IndexAny(tag.Key+tag.Value, forbidden); i >= 0 {
			t.Errorf("tag %+v holds a character the API forbids", tag)
		}
		got, ok := Decode(tag)
		if !ok || got != r {
			t.Errorf("Decode(Encode(%+v)) = %+v, %v", r, got, ok)
		}
	}
}

func TestDecodeIgnoresForeignTags(t *testing.T) {
	good, _ := Encode(Record{ClusterID: "a", Weight: 20, Heartbeat: time.Unix(100, 0), InstallID: "abc"})
	for _, tag := range []Tag{
		{Key: "env", Value: "prod"},
		{Key: good.Key, Value: "v2;c:a;w:20;t:100;i:abc"},   // another version
		{Key: good.Key, Value: "v1;c:b;w:20;t:100;i:abc"},   // cluster does not hash to the key
		{Key: good.Key, Value: "v1;c:a;w:200;t:100;i:abc"},  // weight out of range
		{Key: good.Key, Value: "v1;c:a;w:20;i:abc"},         // no heartbeat
		{Key: good.Key, Value: "v1;c:a;w:20;t:100;i:ABC!"},  // bad install ID
		{Key: good.Key, Value: "v1;c:a%2;w:20;t:100;i:abc"}, // broken escape
	} {
		if r, ok := Decode(tag); ok {
			t.Errorf("Decode(%+v) = %+v, want ignored", tag, r)
		}
	}
	// A later version's extra field is ignored, not a reason to drop the record.
	if _, ok := Decode(Tag{Key: good.Key, Value: good.Value + ";z:new"}); !ok {
		t.Error("an unknown field dropped the record")
	}
	recs := Records([]Tag{{Key: "env", Value: "prod"}, good})
	if len(recs) != 1 || recs["a"].Weight != 20 {
		t.Errorf("Records = %+v", recs)
	}
}

func TestEncodeRefusesWhatCannotBeATag(t *testing.T) {
	for _, r := range []Record{
		{ClusterID: "", Weight: 1, InstallID: "a"},
		{ClusterID: "a", Weight: 101, InstallID: "a"},
		{ClusterID: "a", Weight: 1, InstallID: ""},
		{ClusterID: "a", Weight: 1, InstallID: "has/slash"},
	} {
		if _, err := Encode(r); err == nil {
			t.Errorf("Encode(%+v) accepted", r)
		}
	}
}

// Past 20 tags there is no room for a 21st owner, but an owner already there can still refresh.
func TestRoomPastTwentyOwners(t *testing.T) {
	var tags []Tag
	for i := range MaxTagsPerObject {
		tag, _ := Encode(Record{ClusterID: "c" + string(rune('a'+i)), Weight: 1, InstallID: "x"})
		tags = append(tags, tag)
	}
	if Room(tags, "late") {
		t.Error("a 21st owner has room on a listener with 20 tags")
	}
	if !Room(tags, "ca") {
		t.Error("an owner with a record cannot refresh it on a full listener")
	}
	if !Room(tags[:19], "late") {
		t.Error("no room with 19 tags")
	}
}

// The seed's example: 80:20 over 3 and 150 Pods gives 81:150, 35:65 (R2's ceilings).
func TestJudgeTheSeedDistortion(t *testing.T) {
	now := time.Unix(10_000, 0)
	recs := map[string]Record{
		"a": {ClusterID: "a", Weight: 80, Heartbeat: now.Add(-time.Minute), InstallID: "i1"},
		"b": {ClusterID: "b", Weight: 20, Heartbeat: now.Add(-time.Minute), InstallID: "i2"},
	}
	var ms []fleetview.Member
	for i := range 3 {
		ms = append(ms, member("a", i, 27)) // ceil(80/3)
	}
	for i := range 150 {
		ms = append(ms, member("b", i, 1)) // ceil(20/150)
	}
	ms = append(ms, fleetview.Member{Name: "vm-1", Weight: 0}) // a VM at weight 0
	owners := Judge(ms, recs, nil, now, DefaultTTL)
	if len(owners) != 3 || owners[0].Owner != "a" || owners[1].Owner != "b" || owners[2].Owner != fleetview.Manual {
		t.Fatalf("owners = %+v", owners)
	}
	a, b := owners[0], owners[1]
	if a.Effective != 81 || b.Effective != 150 || a.Requested != 80 || b.Requested != 20 {
		t.Fatalf("a = %+v, b = %+v", a, b)
	}
	if int(100*a.Expected+0.5) != 35 || int(100*b.Expected+0.5) != 65 || a.RequestedShare != 0.8 || b.RequestedShare != 0.2 {
		t.Errorf("shares a %.3f/%.3f b %.3f/%.3f, want effective 35:65, requested 80:20", a.Expected, a.RequestedShare, b.Expected, b.RequestedShare)
	}
	if !a.Off() || !b.Off() || owners[2].Off() {
		t.Error("a 45 pp difference is not reported, or the VM is judged")
	}
	adv := Advice(owners)
	for _, want := range []string{"cluster a (requested 80, effective 81 over 3 members): 1, 2, 4, 5, 8, 10, 16, 20, 40 or 80 ready replicas", "cluster b (requested 20, effective 150 over 150 members): 1, 2, 4, 5, 10 or 20"} {
		if !strings.Contains(adv, want) {
			t.Errorf("advice %q lacks %q", adv, want)
		}
	}
	if !strings.Contains(a.Line(), "a: requested 80 (80.0%), effective 81 (35.1%), 3 members") {
		t.Errorf("line %q", a.Line())
	}
}

func member(cluster string, i, w int) fleetview.Member {
	return fleetview.Member{ID: fmt.Sprintf("%s-%d", cluster, i), Name: ownership.MemberName(ownership.ServiceRef{ClusterID: cluster, Namespace: "ns", Name: "svc"}, 80), Weight: w}
}

func TestJudgeMarksStaleAndUnknownOwners(t *testing.T) {
	now := time.Unix(10_000, 0)
	recs := map[string]Record{
		"live": {ClusterID: "live", Weight: 50, Heartbeat: now.Add(-time.Minute), InstallID: "i"},
		"dead": {ClusterID: "dead", Weight: 50, Heartbeat: now.Add(-11 * time.Minute), InstallID: "j"},
		"gone": {ClusterID: "gone", Weight: 10, Heartbeat: now.Add(-time.Hour), InstallID: "k"},
	}
	ms := []fleetview.Member{member("live", 0, 50), member("dead", 0, 50), member("norecord", 0, 5)}
	owners := Judge(ms, recs, nil, now, DefaultTTL)
	get := func(o string) Owner {
		for _, r := range owners {
			if r.Owner == o {
				return r
			}
		}
		t.Fatalf("no owner %q in %+v", o, owners)
		return Owner{}
	}
	if get("live").Stale || !get("dead").Stale || !get("gone").Stale {
		t.Errorf("staleness wrong: %+v", owners)
	}
	if nr := get("norecord"); nr.Recorded || nr.Off() || !strings.Contains(nr.Line(), "unknown (no record)") {
		t.Errorf("owner without record: %+v %q", nr, nr.Line())
	}
	if g := get("gone"); g.Members != 0 || g.RequestedShare != 0 || !strings.Contains(g.Line(), "STALE since") {
		t.Errorf("record without members: %+v", g)
	}
	// The owner without a record counts at what its members carry: live asks for 50 of 105.
	if l := get("live"); int(l.RequestedShare*1000) != 476 || l.Off() {
		t.Errorf("live: %+v", l)
	}
}
