package main

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// k9Env hands the child test the API and metrics addresses of an elbd that
// runs in a namespace; the child runs there (ip netns exec).
const k9Env = "FLEETLB_K9_ELBD"

// TestMain fails the package's tests when one leaves a goroutine running (F5).
// The child side of TestK9KernelElbdInItsNamespace is exempt: it talks to an
// elbd that outlives it, whose keep-alive connections the parent ends.
func TestMain(m *testing.M) {
	if os.Getenv(k9Env) != "" {
		os.Exit(m.Run())
	}
	goleak.VerifyTestMain(m)
}
