// Command fleetlb-local runs a whole fleetlb set-up on this machine:
//
//	fleetlb-local up   --state-dir DIR [--clusters a,b] [--pod-network a=vpc,b=overlay] [--separate-vpcs]
//	fleetlb-local demo --state-dir DIR [--exit]
//	fleetlb-local vm   --name vm-1 --listen 127.224.1.11:80
//
// up starts elbd, a dedicated and a shared ELB, real Kubernetes clusters and
// one fleetlb-controller per cluster, writes DIR/<cluster>.kubeconfig and
// DIR/elb.env, prints "ready" and runs until SIGINT or SIGTERM. demo does the
// same, then plays the source document's scenarios S1 and S3 with real
// traffic and prints the split. vm is a stand-in virtual machine: an HTTP
// server answering with its name.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/fleetlb/fleetlb/internal/common/program"
	"github.com/fleetlb/fleetlb/internal/testbed/playground"
)

func main() {
	program.Main("fleetlb-local", func(ctx context.Context) error { return run(ctx, os.Args[1:], os.Stdout, os.Stderr) })
}

const usage = `usage:
  fleetlb-local up   --state-dir DIR [--clusters a,b] [--pod-network a=vpc,b=overlay] [--separate-vpcs]
  fleetlb-local demo --state-dir DIR [--exit] [--seed-dir DIR]
  fleetlb-local vm   --name NAME --listen ADDRESS:PORT

up:   elbd, a dedicated (performance) and a shared (union) ELB, real Kubernetes
      clusters and one fleetlb-controller per cluster, all on loopback; prints
      "ready" and runs until Ctrl-C.
demo: up, then scenarios S1 (two clusters, weights 80/20, one listener) and S3
      (two VMs added by hand beside them) with real traffic.
vm:   an HTTP server answering every request with NAME (a stand-in VM).
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("expected a subcommand: up, demo or vm")
	}
	switch args[0] {
	case "up":
		return runUp(ctx, args[1:], stdout, stderr)
	case "demo":
		return runDemo(ctx, args[1:], stdout, stderr)
	case "vm":
		return runVM(ctx, args[1:], stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown subcommand %q: use up, demo or vm", args[0])
	}
}

// upFlags are the flags up and demo share.
type upFlags struct {
	stateDir, clusters, podNetwork string
	separateVPCs, tls              bool
	nodes, base                    int
	binDir, k8sBinDir              string
	provisioningDelay              time.Duration
}

func (u *upFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&u.stateDir, "state-dir", "", "directory for all state, logs, kubeconfigs and elb.env (required; cleared if it holds a previous playground)")
	fs.StringVar(&u.clusters, "clusters", "a,b", "comma-separated cluster names")
	fs.StringVar(&u.podNetwork, "pod-network", "", "per cluster vpc or overlay, e.g. a=vpc,b=overlay (default: the first cluster vpc, the others overlay)")
	fs.BoolVar(&u.separateVPCs, "separate-vpcs", false, "put every cluster but the first in a second VPC (scenario S2: IP-type members)")
	fs.IntVar(&u.nodes, "nodes", 2, "simulated nodes per cluster")
	fs.IntVar(&u.base, "address-base", playground.DefaultBase, "second octet of the playground's loopback range 127.<base>.0.0/11 (a multiple of 32), to run two playgrounds at once")
	fs.StringVar(&u.binDir, "bin-dir", "", "directory with elbd, elbctl and fleetlb-controller (default: this program's directory)")
	fs.DurationVar(&u.provisioningDelay, "provisioning-delay", playground.DefaultProvisioningDelay, "elbd's --provisioning-delay: how long a shared (union) load balancer stays PENDING_* after a write, refusing other writes with 409 as the real one does (0: synchronous)")
	fs.BoolVar(&u.tls, "tls", false, "serve elbd's API over HTTPS (https://127.0.0.1:PORT) with a certificate signed by a CA generated in <state-dir>/tls/ca.crt; the controllers trust it through --elb-ca-file, elb.env names it as ELB_CA_FILE (elbctl's --ca-file)")
	fs.StringVar(&u.k8sBinDir, "k8s-bin-dir", "", "directory with etcd, kube-apiserver, kube-controller-manager, kube-scheduler (default $FLEETLB_K8S_BIN_DIR or <repo>/bin/k8s)")
}

func (u *upFlags) options(stderr io.Writer) (playground.Options, error) {
	if u.stateDir == "" {
		return playground.Options{}, errors.New("--state-dir is required: a directory for the playground's state (e.g. --state-dir tmp/playground)")
	}
	specs, err := playground.ParseClusters(u.clusters, u.podNetwork, u.separateVPCs)
	if err != nil {
		return playground.Options{}, err
	}
	binDir := u.binDir
	if binDir == "" {
		exe, err := os.Executable()
		if err != nil {
			return playground.Options{}, fmt.Errorf("find this program's directory (pass --bin-dir): %w", err)
		}
		binDir = filepath.Dir(exe)
	}
	return playground.Options{
		StateDir: u.stateDir, Clusters: specs, Nodes: u.nodes, Base: u.base,
		BinDir: binDir, K8sBinDir: u.k8sBinDir, Progress: stderr, ProvisioningDelay: u.provisioningDelay,
		TLS: u.tls,
	}, nil
}

func runUp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fleetlb-local up", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var u upFlags
	u.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; up takes only flags", fs.Arg(0))
	}
	opts, err := u.options(stderr)
	if err != nil {
		return err
	}
	p, err := playground.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer stopPlayground(p, stderr)
	printEnvSummary(stderr, p)
	fmt.Fprintln(stdout, "ready")
	return waitUntilDone(ctx, p, stderr)
}

// waitUntilDone runs until ctx ends (SIGINT, SIGTERM) or a child dies.
func waitUntilDone(ctx context.Context, p *playground.Playground, stderr io.Writer) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(stderr, "fleetlb-local: stopping")
			return nil
		case <-t.C:
			if err := p.Exited(); err != nil {
				return fmt.Errorf("a playground process ended on its own, stopping everything: %w", err)
			}
		}
	}
}

func stopPlayground(p *playground.Playground, stderr io.Writer) {
	start := time.Now()
	p.Stop()
	fmt.Fprintf(stderr, "fleetlb-local: stopped everything in %.1fs\n", time.Since(start).Seconds())
}

func printEnvSummary(w io.Writer, p *playground.Playground) {
	e := p.Env
	fmt.Fprintf(w, "fleetlb-local: ELB API %s (project %s)\n", e.Endpoint, e.Credentials.ProjectID)
	fmt.Fprintf(w, "fleetlb-local: elbd's web console %s (log in with $HUAWEICLOUD_SDK_AK and $HUAWEICLOUD_SDK_SK of elb.env)\n", e.ConsoleURL)
	fmt.Fprintf(w, "fleetlb-local: performance ELB %s VIP %s; union ELB %s VIP %s\n", e.PerformanceELBID, e.PerformanceELBVIP, e.UnionELBID, e.UnionELBVIP)
	for _, c := range p.Clusters {
		fmt.Fprintf(w, "fleetlb-local: cluster %s: kubeconfig %s, pod network %s, subnet %s (%s) in %s\n",
			c.Plan.Name, c.Kubeconfig, c.Plan.PodNetwork, c.Plan.Subnet.ID, c.Plan.Subnet.CIDR, c.Plan.Subnet.VPCID)
	}
	fmt.Fprintf(w, "fleetlb-local: environment in %s, logs in %s\n", filepath.Join(p.StateDir, "elb.env"), p.LogDir)
}

func runVM(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("fleetlb-local vm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "the name the VM answers with (required)")
	listen := fs.String("listen", "", "address:port to listen on (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *name == "" || *listen == "" {
		return errors.New("--name and --listen are required (e.g. --name vm-1 --listen 127.224.1.11:80)")
	}
	vm, err := playground.StartVM(*name, *listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "fleetlb-local vm: %s answering on %s\n", vm.Name, vm.Addr)
	<-ctx.Done()
	vm.Stop()
	return nil
}
