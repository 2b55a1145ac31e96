package server

import (
	"log/slog"

	"github.com/fleetlb/fleetlb/internal/elbd/dataplane"
	"github.com/fleetlb/fleetlb/internal/elbd/runtime"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// newRealDataPlane starts the data plane and keeps it in step with st. runtime.New applies the
// stored state before it returns: traffic follows it from the start.
func newRealDataPlane(st *store.Store, log *slog.Logger, kernel bool) (realDataPlane, error) {
	return runtime.New(st, dataplane.New(dataplane.Options{Logger: log, Kernel: kernel}), log), nil
}
