package main

import (
	"log/slog"
	"net/http"

	"github.com/fleetlb/fleetlb/internal/elbd/api"
	apiv2 "github.com/fleetlb/fleetlb/internal/elbd/api/v2"
	"github.com/fleetlb/fleetlb/internal/elbd/dataplane"
	"github.com/fleetlb/fleetlb/internal/elbd/runtime"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// newDataPlane builds the traffic side: the data plane, kept in step with the store by the
// runtime (which applies the current state before returning). close stops its listeners,
// health checks and connections.
func newDataPlane(st *store.Store, log *slog.Logger) (*runtime.Runtime, func(), error) {
	dp := dataplane.New(dataplane.Options{Logger: log})
	rt := runtime.New(st, dp, log)
	return rt, func() {
		if err := rt.Close(); err != nil {
			log.Error("closing data plane", "err", err)
		}
	}, nil
}

// newV2 builds the /v2 (shared ELB) handler.
func newV2(st *store.Store, dp api.DataPlane) http.Handler {
	return apiv2.New(st, dp)
}
