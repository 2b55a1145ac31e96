// Command fleetlb-cluster runs real Kubernetes clusters on this machine for
// demos and manual testing (see package localk8s):
//
//	fleetlb-cluster up --state-dir DIR --clusters a,b --nodes 2
//
// starts every cluster, writes DIR/<cluster>.kubeconfig, prints one line per
// cluster and then "ready", and runs until SIGINT or SIGTERM, when it stops
// every process it started.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fleetlb/fleetlb/internal/common/program"
	"github.com/fleetlb/fleetlb/internal/testbed/localk8s"
)

func main() {
	program.Main("fleetlb-cluster", func(ctx context.Context) error { return run(ctx, os.Args[1:], os.Stdout, os.Stderr) })
}

const usage = `usage: fleetlb-cluster up --state-dir DIR [--clusters a,b] [--nodes 2] [--bin-dir DIR]

Starts one real Kubernetes cluster per name (etcd, kube-apiserver,
kube-controller-manager, kube-scheduler and simulated nodes on loopback
addresses), writes DIR/<cluster>.kubeconfig, prints "ready" and runs until
interrupted. The i-th cluster (from 1) uses nodes 127.<10i>.1.0/24, pods
127.<10i>.64.0/18 and services 127.<10i>.128.0/20.
`

// run starts the clusters and serves them until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "up" {
		fmt.Fprint(stderr, usage)
		return errors.New("expected the subcommand \"up\"")
	}
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stateDir := fs.String("state-dir", "", "directory for cluster state, logs and kubeconfigs (required)")
	names := fs.String("clusters", "a", "comma-separated cluster names (lowercase DNS labels)")
	nodes := fs.Int("nodes", 2, "simulated nodes per cluster")
	binDir := fs.String("bin-dir", "", "directory with etcd, kube-apiserver, kube-controller-manager, kube-scheduler (default $"+localk8s.BinDirEnv+" or <repo>/bin/k8s)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *stateDir == "" {
		return errors.New("--state-dir is required")
	}
	list := strings.Split(*names, ",")
	if len(list) > 25 {
		return fmt.Errorf("--clusters names %d clusters; at most 25 fit the address plan", len(list))
	}
	seen := map[string]bool{}
	for _, n := range list {
		if seen[n] {
			return fmt.Errorf("--clusters names %q twice", n)
		}
		seen[n] = true
	}

	started := time.Now()
	opts := make([]localk8s.Options, len(list))
	for i, name := range list {
		nodeCIDR, podCIDR, svcCIDR := localk8s.Networks(i + 1)
		opts[i] = localk8s.Options{
			Name: name, Dir: filepath.Join(*stateDir, name), Nodes: *nodes, BinDir: *binDir,
			NodeCIDR: nodeCIDR, PodCIDR: podCIDR, ServiceCIDR: svcCIDR,
		}
	}
	clusters, err := localk8s.StartMany(ctx, opts...)
	if err != nil {
		return err
	}
	defer func() {
		for _, c := range clusters {
			c.Stop()
		}
	}()

	for _, c := range clusters {
		link := filepath.Join(*stateDir, c.Name+".kubeconfig")
		if err := c.CopyKubeconfig(link); err != nil {
			return err
		}
		var nodeList []string
		for _, n := range c.Nodes() {
			nodeList = append(nodeList, n.Name+"="+n.IP.String())
		}
		o := c.Options()
		fmt.Fprintf(stdout, "cluster %s kubeconfig=%s server=%s nodes=%s podCIDR=%s serviceCIDR=%s logs=%s\n",
			c.Name, link, c.Server, strings.Join(nodeList, ","), o.PodCIDR, o.ServiceCIDR, c.LogDir())
	}
	fmt.Fprintf(stderr, "fleetlb-cluster: %d cluster(s) up in %.1fs; stop with Ctrl-C\n", len(clusters), time.Since(started).Seconds())
	fmt.Fprintln(stdout, "ready")
	<-ctx.Done()
	fmt.Fprintln(stderr, "fleetlb-cluster: stopping")
	return nil
}
