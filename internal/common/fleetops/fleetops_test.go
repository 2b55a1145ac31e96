package fleetops

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/elbclient/elbtest"
	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/common/fleetrecord"
	"github.com/fleetlb/fleetlb/internal/common/fleetview"
	"github.com/fleetlb/fleetlb/internal/common/ownership"
	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// sharedListener serves elbd over HTTP and makes a dedicated ELB with a hand-made TCP/80 listener
// holding a VM, members of clusters a (2) and b (1); the client talks to it through the SDK.
func sharedListener(t *testing.T) (*elbclient.SDK, string) {
	t.Helper()
	return listenerOf(t, store.FamilyV3, elbrules.ClassPerformance)
}

// listenerOf is sharedListener on an ELB of family (v3 dedicated, v2 shared).
func listenerOf(t *testing.T, family store.Family, class elbrules.Class) (*elbclient.SDK, string) {
	t.Helper()
	h, st := elbtest.Handler(t, elbdtest.Config)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := elbclient.New(elbclient.Config{Endpoint: srv.URL, ProjectID: "p1", AK: "AK1", SK: "SK1-secret", QPS: 1000, Burst: 1000})
	if err != nil {
		t.Fatal(err)
	}
	lb, err := st.CreateLoadBalancer(store.Scope{Family: family, ProjectID: "p1"},
		store.LoadBalancer{Name: "shared", VIPSubnetID: "subnet-a1", AdminStateUp: true})
	if err != nil {
		t.Fatal(err)
	}
	member := func(cluster string, i int) elbclient.MemberSpec {
		return elbclient.MemberSpec{Name: ownership.MemberName(ownership.ServiceRef{ClusterID: cluster, Namespace: "shop", Name: "web"}, 80),
			Address: fmt.Sprintf("127.10.1.%d", 10+i), Port: 8080, Weight: 50, SubnetID: "subnet-a1"}
	}
	elbtest.HandMade(t, c.API(class), elbclient.ListenerSpec{LoadBalancerID: lb.ID, Name: "web", Protocol: "TCP", Port: 80}, "web",
		elbclient.MemberSpec{Name: "vm-1", Address: "127.10.1.2", Port: 8080, Weight: 10, SubnetID: "subnet-a1"},
		member("a", 1), member("a", 2), member("b", 3))
	return c, lb.ID
}

func read(t *testing.T, c elbclient.Client, lbID string) Listener {
	t.Helper()
	ls, err := Read(context.Background(), c, lbID, 80)
	if err != nil || len(ls) != 1 {
		t.Fatalf("Read = %v, %v", ls, err)
	}
	return ls[0]
}

// T10, T13: records written and read through the SDK's tag calls on elbd; a stale owner is found
// and removed with its record; the VM and the live owner keep every member.
func TestRecordsStaleOwnersAndRemoval(t *testing.T) {
	ctx := context.Background()
	c, lbID := sharedListener(t)
	now := time.Now().Truncate(time.Second)
	l := read(t, c, lbID)
	for _, r := range []fleetrecord.Record{
		{ClusterID: "a", Weight: 80, Heartbeat: now, InstallID: "aaa"},
		{ClusterID: "b", Weight: 20, Heartbeat: now.Add(-time.Hour), InstallID: "bbb"},
	} {
		if err := Write(ctx, c, l, r); err != nil {
			t.Fatal(err)
		}
	}
	// A foreign tag is kept and ignored.
	if err := c.API(elbrules.ClassPerformance).TagListener(ctx, l.Listener.ID, []elbclient.Tag{{Key: "env", Value: "prod"}}); err != nil {
		t.Fatal(err)
	}
	l = read(t, c, lbID)
	if len(l.Records) != 2 || l.Records["a"].Weight != 80 || !l.Records["a"].Heartbeat.Equal(now) || l.Records["b"].InstallID != "bbb" {
		t.Fatalf("records = %+v", l.Records)
	}
	rows := l.Judge(nil, now, fleetrecord.DefaultTTL)
	if len(rows) != 3 || rows[0].Owner != "a" || rows[0].Effective != 100 || rows[1].Owner != "b" || !rows[1].Stale || rows[2].Owner != fleetview.Manual || rows[2].Effective != 10 {
		t.Fatalf("view = %+v", rows)
	}
	stale := StaleOwners([]Listener{l}, now, fleetrecord.DefaultTTL)
	if len(stale) != 1 || stale[0].Record.ClusterID != "b" || len(stale[0].Members) != 1 {
		t.Fatalf("stale = %+v", stale)
	}
	if _, live := Live([]Listener{l}, "a", now, fleetrecord.DefaultTTL); !live {
		t.Error("a is not live")
	}
	if _, live := Live([]Listener{l}, "b", now, fleetrecord.DefaultTTL); live {
		t.Error("b is live")
	}
	res, err := RemoveOwner(ctx, c, l, "b")
	if err != nil || res.Members != 1 || !res.RecordRemoved {
		t.Fatalf("RemoveOwner = %+v, %v", res, err)
	}
	l = read(t, c, lbID)
	var names []string
	for _, m := range l.Members {
		names = append(names, m.Name)
	}
	slices.Sort(names)
	if want := []string{"fleetlb/a/shop/web/80", "fleetlb/a/shop/web/80", "vm-1"}; !slices.Equal(names, want) {
		t.Errorf("members after removing b: %v, want %v", names, want)
	}
	if _, ok := l.Records["b"]; ok || len(l.Tags) != 2 {
		t.Errorf("tags after removing b: %+v", l.Tags)
	}
	// Idempotent: nothing left to do.
	if res, err := RemoveOwner(ctx, c, l, "b"); err != nil || res.Members != 0 || res.RecordRemoved {
		t.Errorf("second RemoveOwner = %+v, %v", res, err)
	}
}

// T11: the 21st tag is refused by elbd as by the real API; Write says so without a call, and an
// owner already recorded still refreshes on the full listener.
func TestTwentyFirstOwnerHasNoRoom(t *testing.T) {
	ctx := context.Background()
	c, lbID := sharedListener(t)
	l := read(t, c, lbID)
	now := time.Now()
	for i := range fleetrecord.MaxTagsPerObject {
		if err := Write(ctx, c, l, fleetrecord.Record{ClusterID: fmt.Sprintf("c%02d", i), Weight: 1, Heartbeat: now, InstallID: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	// elbd (as the real API) refuses a 21st tag.
	err := c.API(elbrules.ClassPerformance).TagListener(ctx, l.Listener.ID, []elbclient.Tag{{Key: "one-more", Value: "v"}})
	if !errors.Is(err, elbclient.ErrBadRequest) || !strings.Contains(err.Error(), "at most 20 tags") {
		t.Fatalf("a 21st tag: %v", err)
	}
	l = read(t, c, lbID)
	err = Write(ctx, c, l, fleetrecord.Record{ClusterID: "late", Weight: 5, Heartbeat: now, InstallID: "y"})
	if !errors.Is(err, ErrNoRoom) || !strings.Contains(err.Error(), "it keeps serving") {
		t.Fatalf("the 21st owner's record: %v", err)
	}
	if err := Write(ctx, c, l, fleetrecord.Record{ClusterID: "c00", Weight: 9, Heartbeat: now, InstallID: "x"}); err != nil {
		t.Fatalf("refresh on a full listener: %v", err)
	}
	if l = read(t, c, lbID); l.Records["c00"].Weight != 9 || len(l.Records) != 20 {
		t.Errorf("records = %+v", l.Records)
	}
}

// T16: decommission drains a's members on every listener (weight 0 while it waits), then removes
// them and a's records; b's member, the VM and the listener stay; a second run finds nothing.
func TestDecommissionDrainsThenRemoves(t *testing.T) {
	ctx := context.Background()
	c, lbID := sharedListener(t)
	l := read(t, c, lbID)
	if err := Write(ctx, c, l, fleetrecord.Record{ClusterID: "a", Weight: 80, Heartbeat: time.Now(), InstallID: "aaa"}); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	done := make(chan error, 1)
	go func() {
		_, err := Decommission(ctx, c, "a", 500*time.Millisecond, &out)
		done <- err
	}()
	// While draining, a's members are there at weight 0.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var ws []int
		for _, m := range read(t, c, lbID).Members {
			if Owner(m) == "a" {
				ws = append(ws, m.Weight)
			}
		}
		if slices.Equal(ws, []int{0, 0}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a's members never drained: %v", ws)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	l = read(t, c, lbID)
	if len(l.OwnedBy("a")) != 0 || len(l.Members) != 2 || len(l.Records) != 0 {
		t.Errorf("after decommission: members %+v records %+v", l.Members, l.Records)
	}
	for _, want := range []string{"2 members of cluster a set to weight 0", "waiting 500ms", "2 members removed, record removed: true; the listener stays", "cluster a decommissioned: 2 members removed from 1 listeners"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if n, err := Decommission(ctx, c, "a", time.Second, &out); err != nil || n != 0 || !strings.Contains(out.String(), "nothing of cluster a is left") {
		t.Errorf("second run: %d %v %q", n, err, out.String())
	}
}

// T10 on a shared (union) ELB: the v2 listener tag calls (BatchCreate/BatchDelete/ShowListenerTags)
// through the SDK to elbd; the 21st tag refused there too.
func TestRecordsOnASharedELB(t *testing.T) {
	ctx := context.Background()
	c, lbID := listenerOf(t, store.FamilyV2, elbrules.ClassUnion)
	l := read(t, c, lbID)
	now := time.Now().Truncate(time.Second)
	if err := Write(ctx, c, l, fleetrecord.Record{ClusterID: "a", Weight: 80, Heartbeat: now, InstallID: "aaa"}); err != nil {
		t.Fatal(err)
	}
	l = read(t, c, lbID)
	if r := l.Records["a"]; r.Weight != 80 || !r.Heartbeat.Equal(now) || len(l.Members) != 4 {
		t.Fatalf("records %+v, members %d", l.Records, len(l.Members))
	}
	for i := range fleetrecord.MaxTagsPerObject - 1 {
		if err := Write(ctx, c, l, fleetrecord.Record{ClusterID: fmt.Sprintf("c%02d", i), Weight: 1, Heartbeat: now, InstallID: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	err := c.API(elbrules.ClassUnion).TagListener(ctx, l.Listener.ID, []elbclient.Tag{{Key: "one-more", Value: "v"}})
	if !errors.Is(err, elbclient.ErrBadRequest) || !strings.Contains(err.Error(), "at most 20 tags") {
		t.Fatalf("a 21st tag on a shared ELB: %v", err)
	}
	if res, err := RemoveOwner(ctx, c, read(t, c, lbID), "a"); err != nil || res.Members != 2 || !res.RecordRemoved {
		t.Fatalf("RemoveOwner = %+v, %v", res, err)
	}
	if l = read(t, c, lbID); len(l.Records) != 19 || len(l.OwnedBy("a")) != 0 {
		t.Errorf("after: %d records, a's members %v", len(l.Records), l.OwnedBy("a"))
	}
}
