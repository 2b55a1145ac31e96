package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/elbclient/elbtest"
	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/common/fleetops"
	"github.com/fleetlb/fleetlb/internal/common/fleetrecord"
	"github.com/fleetlb/fleetlb/internal/common/ownership"
	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// T16: `fleetlb-controller decommission --cluster-id retired` against elbd: the retired cluster's
// members on two ELBs are drained and removed with its records; the other cluster's member, the
// VM and the listeners stay; a second run says nothing is left.
func TestDecommissionCommand(t *testing.T) {
	e := elbtest.Serve(t, elbdtest.Config, elbtest.Options{})
	t.Setenv("HUAWEICLOUD_SDK_AK", "AK1")
	t.Setenv("HUAWEICLOUD_SDK_SK", "SK1-secret")
	c := e.Client(t, elbclient.Config{ProjectID: "p1", AK: "AK1", SK: "SK1-secret"})
	ctx := context.Background()
	member := func(cluster, addr string) elbclient.MemberSpec {
		return elbclient.MemberSpec{Name: ownership.MemberName(ownership.ServiceRef{ClusterID: cluster, Namespace: "shop", Name: "web"}, 80),
			Address: addr, Port: 8080, Weight: 50, SubnetID: "subnet-a1"}
	}
	for i, name := range []string{"edge-1", "edge-2"} {
		lb := e.LoadBalancer(t, store.FamilyV3, "p1", store.LoadBalancer{Name: name, VIPSubnetID: "subnet-a1"})
		suffix := string(rune('1' + i))
		elbtest.HandMade(t, c.API(elbrules.ClassPerformance), elbclient.ListenerSpec{LoadBalancerID: lb.ID, Name: "web", Protocol: "TCP", Port: 80}, "web",
			member("retired", "127.10.1.1"+suffix), member("other", "127.10.1.2"+suffix),
			elbclient.MemberSpec{Name: "vm", Address: "127.10.1.3" + suffix, Port: 8080, Weight: 10, SubnetID: "subnet-a1"})
		ls, err := fleetops.Read(ctx, c, lb.ID, 80)
		if err != nil {
			t.Fatal(err)
		}
		if err := fleetops.Write(ctx, c, ls[0], fleetrecord.Record{ClusterID: "retired", Weight: 50, Heartbeat: time.Now(), InstallID: "r1"}); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"--cluster-id", "retired", "--elb-endpoint", e.URL, "--project-id", "p1", "--deregistration-delay", "200ms"}
	var out, errb strings.Builder
	if err := decommission(ctx, args, &out, &errb); err != nil {
		t.Fatalf("decommission: %v\n%s", err, errb.String())
	}
	for _, want := range []string{"decommissioning cluster retired", "1 members of cluster retired set to weight 0", "waiting 200ms", "cluster retired decommissioned: 2 members removed from 2 listeners"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	all, err := fleetops.All(ctx, c)
	if err != nil || len(all) != 2 {
		t.Fatalf("listeners after: %v %v", all, err)
	}
	for _, l := range all {
		if len(l.OwnedBy("retired")) != 0 || len(l.OwnedBy("other")) != 1 || len(l.Members) != 2 || len(l.Records) != 0 {
			t.Errorf("%s after decommission: members %+v records %+v", l.Name(), l.Members, l.Records)
		}
	}
	out.Reset()
	if err := decommission(ctx, args, &out, &errb); err != nil || !strings.Contains(out.String(), "nothing of cluster retired is left") {
		t.Errorf("second run: %v %q", err, out.String())
	}
	// Without the ELB settings it says what is missing.
	if err := decommission(ctx, []string{"--cluster-id", "retired"}, &out, &errb); err == nil || !strings.Contains(err.Error(), "--elb-endpoint and --project-id required") {
		t.Errorf("missing settings: %v", err)
	}
}
