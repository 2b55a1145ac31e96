package fleetrecord

import (
	"strings"
	"testing"
	"time"
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
func TestViewOfTheSeedDistortion(t *testing.T) {
	now := time.Unix(10_000, 0)
	recs := map[string]Record{
		"a": {ClusterID: "a", Weight: 80, Heartbeat: now.Add(-time.Minute), InstallID: "i1"},
		"b": {ClusterID: "b", Weight: 20, Heartbeat: now.Add(-time.Minute), InstallID: "i2"},
	}
	var ms []Member
	for range 3 {
		ms = append(ms, Member{Owner: "a", Weight: 27}) // ceil(80/3)
	}
	for range 150 {
		ms = append(ms, Member{Owner: "b", Weight: 1}) // ceil(20/150)
	}
	ms = append(ms, Member{Owner: "", Weight: 0}) // a VM at weight 0
	rows := View(recs, ms, now, DefaultTTL)
	if len(rows) != 3 || rows[0].Owner != "a" || rows[1].Owner != "b" || rows[2].Owner != "" {
		t.Fatalf("rows = %+v", rows)
	}
	a, b := rows[0], rows[1]
	if a.Effective != 81 || b.Effective != 150 || a.Requested != 80 || b.Requested != 20 {
		t.Fatalf("a = %+v, b = %+v", a, b)
	}
	if int(a.EffectiveShare+0.5) != 35 || int(b.EffectiveShare+0.5) != 65 || a.ExpectedShare != 80 || b.ExpectedShare != 20 {
		t.Errorf("shares a %.1f/%.1f b %.1f/%.1f, want effective 35:65, expected 80:20", a.EffectiveShare, a.ExpectedShare, b.EffectiveShare, b.ExpectedShare)
	}
	if !a.Off() || !b.Off() {
		t.Error("a 45 pp difference is not reported")
	}
	adv := Advice(rows)
	for _, want := range []string{"cluster a (requested 80, effective 81 over 3 members): 1, 2, 4, 5, 8, 10, 16, 20, 40 or 80 ready replicas", "cluster b (requested 20, effective 150 over 150 members): 1, 2, 4, 5, 10 or 20"} {
		if !strings.Contains(adv, want) {
			t.Errorf("advice %q lacks %q", adv, want)
		}
	}
	if !strings.Contains(a.Line(), "a: requested 80 (80.0%), effective 81 (35.1%), 3 members") {
		t.Errorf("line %q", a.Line())
	}
}

func TestViewMarksStaleAndUnknownOwners(t *testing.T) {
	now := time.Unix(10_000, 0)
	recs := map[string]Record{
		"live": {ClusterID: "live", Weight: 50, Heartbeat: now.Add(-time.Minute), InstallID: "i"},
		"dead": {ClusterID: "dead", Weight: 50, Heartbeat: now.Add(-11 * time.Minute), InstallID: "j"},
		"gone": {ClusterID: "gone", Weight: 10, Heartbeat: now.Add(-time.Hour), InstallID: "k"},
	}
	ms := []Member{{Owner: "live", Weight: 50}, {Owner: "dead", Weight: 50}, {Owner: "norecord", Weight: 5}}
	rows := View(recs, ms, now, DefaultTTL)
	get := func(o string) Row {
		for _, r := range rows {
			if r.Owner == o {
				return r
			}
		}
		t.Fatalf("no row for %q in %+v", o, rows)
		return Row{}
	}
	if get("live").Stale || !get("dead").Stale || !get("gone").Stale {
		t.Errorf("staleness wrong: %+v", rows)
	}
	if nr := get("norecord"); !nr.Unknown() || nr.Off() || !strings.Contains(nr.Line(), "unknown (no record)") {
		t.Errorf("owner without record: %+v %q", nr, nr.Line())
	}
	if g := get("gone"); g.Members != 0 || g.ExpectedShare != 0 {
		t.Errorf("record without members: %+v", g)
	}
	// The owner without a record counts at its effective weight: live expects 50 of 105.
	if l := get("live"); int(l.ExpectedShare*10) != 476 || l.Off() {
		t.Errorf("live: %+v", l)
	}
}
