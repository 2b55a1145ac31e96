// Package elbtest helps tests of ELB clients (the deployer, the controller): it serves elbd's
// real API router and store for them to talk to through the official SDK over HTTP, and makes
// on an ELB what an operator makes by hand.
package elbtest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/elbd/api"
	apiv2 "github.com/fleetlb/fleetlb/internal/elbd/api/v2"
	"github.com/fleetlb/fleetlb/internal/elbd/auth"
	"github.com/fleetlb/fleetlb/internal/elbd/config"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// Handler returns elbd's API (v3 and v2, no data plane, logs discarded) over a fresh store in
// t.TempDir(), with the credentials and networks of the elbd configuration cfgText, and the
// store to read back or seed. The store is closed when the test ends.
func Handler(t testing.TB, cfgText string) (http.Handler, *store.Store) {
	t.Helper()
	cfg, err := config.Parse([]byte(cfgText))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.TempDir(), cfg.Network())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	v, err := auth.NewVerifier(cfg.Credentials)
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.NewRouter(api.Options{Store: st, Auth: v, V2: apiv2.New(st, api.NopDataPlane{}),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return h, st
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
