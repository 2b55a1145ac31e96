package localk8s_test

import (
	"context"
	"testing"

	"github.com/fleetlb/fleetlb/internal/testbed/localk8s"
	"github.com/fleetlb/fleetlb/internal/testbed/localk8s/k8stest"
)

// BenchmarkStartCluster measures how long one 2-node cluster takes from
// Start to ready (API server, controllers, Ready nodes with pod CIDRs), and
// to stop. Run: go test -run '^$' -bench StartCluster -benchtime 3x ./internal/testbed/localk8s/
func BenchmarkStartCluster(b *testing.B) {
	bin := k8stest.BinDir(b)
	for b.Loop() {
		c, err := localk8s.Start(context.Background(), localk8s.Options{Name: "bench", Dir: b.TempDir(), BinDir: bin})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		c.Stop()
		b.StartTimer()
	}
}
