// Package k8stest starts localk8s clusters from tests.
//
// Tests that need real clusters call Start (or BinDir). When the Kubernetes
// binaries are missing the test is skipped, unless FLEETLB_REQUIRE_K8S=1
// (set by `make test`), when it fails. With -short it is skipped.
package k8stest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fleetlb/fleetlb/internal/testbed/localk8s"
	"github.com/fleetlb/fleetlb/internal/testbed/localk8s/childproc"
)

// RequireEnv names the variable that turns missing binaries into a failure.
const RequireEnv = "FLEETLB_REQUIRE_K8S"

// StartTimeout bounds the start-up of clusters in tests: a wait for address
// blocks held by clusters of other test packages, then the start-up itself.
const StartTimeout = localk8s.RangeWait + 60*time.Second

// BinDir returns the Kubernetes binaries' directory, or skips (or fails,
// under FLEETLB_REQUIRE_K8S=1) the test when they are missing.
func BinDir(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("real Kubernetes clusters do not run with -short")
	}
	dir, err := localk8s.FindBinDir()
	if err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%v (%s=1 requires them)", err, RequireEnv)
		}
		t.Skipf("skipping: %v", err)
	}
	return dir
}

// Start starts a cluster for the test and stops it at the end of the test,
// also when it fails. opts.Dir defaults to a fresh t.TempDir() and
// opts.BinDir to BinDir(t). When the test fails, the end of each
// component's log is written to the test log.
func Start(t testing.TB, opts localk8s.Options) *localk8s.Cluster {
	t.Helper()
	return StartMany(t, opts)[0]
}

// StartMany starts several clusters in parallel (each as by Start).
func StartMany(t testing.TB, opts ...localk8s.Options) []*localk8s.Cluster {
	t.Helper()
	bin := ""
	for i := range opts {
		if opts[i].BinDir == "" {
			if bin == "" {
				bin = BinDir(t)
			}
			opts[i].BinDir = bin
		}
		if opts[i].Dir == "" {
			opts[i].Dir = t.TempDir()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	out, err := localk8s.StartMany(ctx, opts...)
	if err != nil {
		t.Fatalf("start clusters: %v", err)
	}
	for _, c := range out {
		t.Cleanup(func() {
			if t.Failed() {
				dumpLogs(t, c)
			}
			c.Stop()
		})
	}
	return out
}

func dumpLogs(t testing.TB, c *localk8s.Cluster) {
	entries, err := os.ReadDir(c.LogDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		t.Logf("cluster %s: end of %s:\n%s", c.Name, e.Name(), childproc.Tail(filepath.Join(c.LogDir(), e.Name()), 30))
	}
}
