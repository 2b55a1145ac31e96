// Command manifests rewrites config/ from charts/fleetlb-controller (`make manifests`).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/fleetlb/fleetlb/packaging/chart"
)

func main() {
	chartDir := flag.String("chart", "charts/fleetlb-controller", "the chart")
	out := flag.String("out", "config", "where the manifests go")
	flag.Parse()
	if err := chart.WriteManifests(*chartDir, *out); err != nil {
		fmt.Fprintln(os.Stderr, "manifests:", err)
		os.Exit(1)
	}
}
