// Package elbtest helps tests of ELB clients (the deployer, the controller): it serves elbd's
// real API router and store for them to talk to through the official SDK over HTTP, and makes
// on an ELB what an operator makes by hand.
package elbtest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// Handler returns elbd's API (built by internal/elbd/server as cmd/elbd builds it, with no data
// plane and logs discarded) over a fresh store in t.TempDir(), with the credentials and networks
// of the elbd configuration cfgText, and the store to read back or seed. The store is closed when
// the test ends.
func Handler(t testing.TB, cfgText string) (http.Handler, *store.Store) {
	t.Helper()
	return BusyHandler(t, cfgText, 0)
}

// BusyHandler is Handler with elbd's --provisioning-delay: after each write a shared (v2) load
// balancer is PENDING_* for delay and refuses other writes with 409, as the real one does.
func BusyHandler(t testing.TB, cfgText string, delay time.Duration) (http.Handler, *store.Store) {
	t.Helper()
	elbd := elbdtest.Start(t, cfgText, elbdtest.Options{ProvisioningDelay: delay})
	return elbd.Handler(), elbd.Store
}

// HandMade creates through api what an operator makes by hand: listener l, its pool named pool
// (ROUND_ROBIN, the listener's protocol) and the members vms, with no fleetlb marks. It returns
// the listener's and the pool's IDs.
func HandMade(t testing.TB, api elbclient.API, l elbclient.ListenerSpec, pool string, vms ...elbclient.MemberSpec) (listenerID, poolID string) {
	t.Helper()
	ctx := context.Background()
	ls, err := api.CreateListener(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	p, err := api.CreatePool(ctx, elbclient.PoolSpec{ListenerID: ls.ID, Name: pool, Protocol: l.Protocol, Algorithm: "ROUND_ROBIN"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.AddMembers(ctx, p.ID, vms); err != nil {
		t.Fatal(err)
	}
	return ls.ID, p.ID
}
