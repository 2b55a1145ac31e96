package main

import (
	"log/slog"
	"net/http"

	"github.com/fleetlb/fleetlb/internal/elbd/api"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// newDataPlane builds the traffic side. Until the data plane's store adapter lands this is the
// no-op one: the API works, no traffic is served.
func newDataPlane(_ *store.Store, _ *slog.Logger) (api.DataPlane, func(), error) {
	return api.NopDataPlane{}, func() {}, nil
}

// newV2 builds the /v2 handler; nil (404 for /v2) until internal/elbd/api/v2 lands.
func newV2(_ *store.Store, _ api.DataPlane) http.Handler {
	return nil
}
