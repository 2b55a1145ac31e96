//go:build !linux

package server

import (
	"errors"
	"log/slog"

	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// newRealDataPlane refuses: the data plane is built on epoll and splice (internal/elbd/dataplane,
// *_linux.go). The API alone, with Options.DataPlane set, serves on any system: the controller's
// tests use it that way on developers' laptops.
func newRealDataPlane(*store.Store, *slog.Logger, bool) (realDataPlane, error) {
	return nil, errors.New("elbd's data plane runs on Linux only; on this system set Options.DataPlane (api.NopDataPlane{} serves the API without traffic)")
}
