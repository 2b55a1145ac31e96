package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/fleetops"
	"github.com/fleetlb/fleetlb/internal/common/fleetrecord"
)

// runWithStdin runs elbctl with stdin (for the confirmation) and returns stdout and the error.
func runWithStdin(e func(string) string, stdin string, args ...string) (string, error) {
	g := &globals{getenv: e}
	root := newRootCmd(g)
	var out bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetIn(strings.NewReader(stdin))
	err := root.Execute()
	return out.String(), err
}

// T13/T14: elbctl fleet orphans lists the stale owner uid-b with its member; reclaim refuses the
// live uid-a, asks before removing uid-b's member and record, keeps the VM, and is idempotent.
func TestFleetOrphansAndReclaim(t *testing.T) {
	e, lbID, _, _ := sharedListener(t, nil)
	c, err := elbclient.New(elbclient.Config{Endpoint: e("ELB_ENDPOINT"), ProjectID: "p1", AK: "AK1", SK: "SK1-secret"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ls, err := fleetops.Read(ctx, c, lbID, 80)
	if err != nil || len(ls) != 1 {
		t.Fatal(ls, err)
	}
	now := time.Now()
	for _, r := range []fleetrecord.Record{
		{ClusterID: "uid-a", Weight: 60, Heartbeat: now, InstallID: "a1"},
		{ClusterID: "uid-b", Weight: 20, Heartbeat: now.Add(-time.Hour), InstallID: "b1"},
	} {
		if err := fleetops.Write(ctx, c, ls[0], r); err != nil {
			t.Fatal(err)
		}
	}

	orphans := cli(t, e, "fleet", "orphans")
	if !strings.Contains(orphans, "uid-b") || !strings.Contains(orphans, "127.10.1.32:8080 w=20") || strings.Contains(orphans, "uid-a") {
		t.Errorf("fleet orphans:\n%s", orphans)
	}
	js := cliJSON[[]obj](t, e, "fleet", "orphans", "--lb", lbID)
	if len(js) != 1 || js[0]["cluster_id"] != "uid-b" || js[0]["requested_weight"] != float64(20) {
		t.Errorf("fleet orphans -o json: %v", js)
	}

	if msg := cliFails(t, e, "fleet", "reclaim", "--cluster", "uid-a", "--yes"); !strings.Contains(msg, "cluster uid-a is live") {
		t.Errorf("reclaiming a live owner: %s", msg)
	}
	out, err := runWithStdin(e, "n\n", "fleet", "reclaim", "--cluster", "uid-b")
	if err != nil || !strings.Contains(out, "Remove 1 members of cluster uid-b and its records from 1 listeners? [y/N]") || !strings.Contains(out, "nothing removed") {
		t.Fatalf("answered n: %v\n%s", err, out)
	}
	if ls, _ := fleetops.Read(ctx, c, lbID, 80); len(ls[0].OwnedBy("uid-b")) != 1 {
		t.Fatal("uid-b's member went without a yes")
	}
	out, err = runWithStdin(e, "y\n", "fleet", "reclaim", "--cluster", "uid-b")
	if err != nil || !strings.Contains(out, "1 members removed, record removed: true") {
		t.Fatalf("answered y: %v\n%s", err, out)
	}
	ls, _ = fleetops.Read(ctx, c, lbID, 80)
	if len(ls[0].OwnedBy("uid-b")) != 0 || len(ls[0].OwnedBy("uid-a")) != 2 || len(ls[0].Members) != 3 || len(ls[0].Records) != 1 {
		t.Errorf("after the reclaim: members %+v records %+v", ls[0].Members, ls[0].Records)
	}
	if out := cli(t, e, "fleet", "reclaim", "--cluster", "uid-b", "--yes"); !strings.Contains(out, "nothing of cluster uid-b found") {
		t.Errorf("second reclaim: %s", out)
	}
	if out := cli(t, e, "fleet", "orphans"); !strings.Contains(out, "no stale owner") {
		t.Errorf("orphans after the reclaim: %s", out)
	}
}
