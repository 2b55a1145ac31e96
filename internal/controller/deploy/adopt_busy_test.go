package deploy_test

import (
	"context"
	"testing"
	"time"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/elbclient/elbtest"
	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/controller/deploy"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// C4 + C5: --adopt-cluster-id right after a change to a shared ELB meets elbd's busy window
// (PENDING_UPDATE, 409): the renames wait it out like the deployer's writes, instead of failing
// as a conflict.
func TestC4_AdoptWaitsOutABusyELB(t *testing.T) {
	e := elbtest.Serve(t, elbdConfig, elbtest.Options{ProvisioningDelay: 300 * time.Millisecond})
	c := e.Client(t, elbclient.Config{Region: "local", ProjectID: "proj1", AK: "AK-fleet", SK: "SK-fleet-secret",
		Retry: elbclient.Retry{Attempts: 10, Base: 50 * time.Millisecond, Max: 200 * time.Millisecond, BusyWait: 10 * time.Second}})
	lb := e.LoadBalancer(t, store.FamilyV2, "proj1", store.LoadBalancer{Name: "shared-union", VIPSubnetID: "subnet-a1"})
	d := deploy.New(c, deploy.Options{})
	w := want(clusterA, lb.ID, 80, nodes(0, 2, 80))
	w.Class = elbrules.ClassUnion
	apply(t, d, w)
	const newID = "cluster-a-2026"
	res, err := d.AdoptClusterID(context.Background(), clusterA.ClusterID, newID) // the ELB is still PENDING_UPDATE
	if err != nil {
		t.Fatalf("adopt while the ELB is busy: %v", err)
	}
	if res.MembersUpdated != 2 {
		t.Errorf("%d members renamed, want 2", res.MembersUpdated)
	}
	if owns, err := d.Owns(context.Background(), newID); err != nil || !owns {
		t.Errorf("members named with %s: %v %v", newID, owns, err)
	}
}
