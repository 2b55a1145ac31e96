package playground

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/fleetlb/fleetlb/internal/testbed/localk8s/childproc"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/fleetlb/fleetlb/internal/testbed/localk8s"
)

// Options configure a playground.
type Options struct {
	// StateDir holds everything: elbd's config and data, the clusters, the
	// logs, DIR/<cluster>.kubeconfig and DIR/elb.env. It must be empty or a
	// previous playground's directory (which is then cleared).
	StateDir string
	Clusters []ClusterSpec
	// Base is the address base (see Plan); default DefaultBase.
	Base int
	// Nodes per cluster; default 2.
	Nodes int
	// BinDir holds elbd and fleetlb-controller.
	BinDir string
	// K8sBinDir holds the Kubernetes binaries; default localk8s.FindBinDir().
	K8sBinDir string
	// Progress receives one line per step; nil discards.
	Progress io.Writer
	// ProvisioningDelay is elbd's --provisioning-delay: how long a shared (v2) load balancer stays
	// PENDING_* after a write, refusing other writes with 409, as the real one does (E2). 0 keeps
	// it synchronous; fleetlb-local passes DefaultProvisioningDelay.
	ProvisioningDelay time.Duration
	// ControllerFlags are added to every fleetlb-controller's flags (e.g. a short
	// --deregistration-delay for the end-to-end tests).
	ControllerFlags []string
	// TLS serves elbd's API over HTTPS (elbd's --tls-cert/--tls-key, F1) with a certificate for
	// 127.0.0.1 signed by a CA generated in StateDir/tls; the controllers trust it through
	// --elb-ca-file, and elb.env names it as ELB_CA_FILE (elbctl's --ca-file).
	TLS bool
}

// DefaultProvisioningDelay is the busy window fleetlb-local up, the demo and the end-to-end tests
// give elbd's shared load balancers: modest, but every union write meets a busy ELB.
const DefaultProvisioningDelay = 300 * time.Millisecond

// Cluster is one running cluster of the playground.
type Cluster struct {
	Plan       ClusterPlan
	Kubeconfig string // DIR/<name>.kubeconfig
	ID         string // the kube-system namespace UID: the controller's default cluster ID
	K8s        *localk8s.Cluster
	controller *childproc.Process
}

// Client is an admin clientset of the cluster.
func (c *Cluster) Client() kubernetes.Interface { return c.K8s.Client() }

// Playground is a running set-up. Stop it when done.
type Playground struct {
	Env      Env
	ELB      *ELB
	Clusters []*Cluster
	Owners   Owners
	StateDir string
	LogDir   string

	opts     Options
	elbd     *childproc.Process
	lock     *os.File
	stopOnce sync.Once
}

// markerFile marks a directory as a playground's, so that it may be cleared.
const markerFile = ".fleetlb-local"

// Start starts elbd, creates the two ELBs, starts the clusters and their
// controllers, and writes the kubeconfigs and elb.env. On error nothing is
// left running.
func Start(ctx context.Context, opts Options) (_ *Playground, err error) {
	if opts.Base == 0 {
		opts.Base = DefaultBase
	}
	if opts.Nodes == 0 {
		opts.Nodes = 2
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	plan, err := NewPlan(opts.Base, opts.Clusters)
	if err != nil {
		return nil, err
	}
	for _, b := range []string{"elbd", "fleetlb-controller"} {
		if fi, err := os.Stat(filepath.Join(opts.BinDir, b)); err != nil || fi.IsDir() {
			return nil, fmt.Errorf("%s is not in %s; build it with `make build` (go build -o bin/ ./cmd/...)", b, opts.BinDir)
		}
	}
	if opts.K8sBinDir == "" {
		if opts.K8sBinDir, err = localk8s.FindBinDir(); err != nil {
			return nil, err
		}
	}
	if err := checkPort80(plan); err != nil {
		return nil, err
	}
	dir, lock, err := prepareStateDir(opts.StateDir)
	if err != nil {
		return nil, err
	}
	p := &Playground{StateDir: dir, LogDir: filepath.Join(dir, "logs"), opts: opts, Owners: Owners{}, lock: lock}
	defer func() {
		if err != nil {
			p.Stop()
		}
	}()
	if err := os.MkdirAll(p.LogDir, 0o700); err != nil {
		return nil, err
	}
	creds, err := NewCredentials()
	if err != nil {
		return nil, err
	}
	p.Env = Env{Credentials: creds, Plan: plan, Kubeconfigs: map[string]string{}}

	// The clusters take longest: start them while elbd and the ELBs come up.
	started := time.Now()
	p.progress("starting %d cluster(s) (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, %d simulated nodes each)", len(plan.Clusters), opts.Nodes)
	clusterErr := make(chan error, 1)
	p.Clusters = make([]*Cluster, len(plan.Clusters))
	go func() { clusterErr <- p.startClusters(ctx) }()

	elbdErr := p.startELBD(ctx)
	if elbdErr == nil {
		elbdErr = p.createELBs()
	}
	if cerr := <-clusterErr; cerr != nil || elbdErr != nil {
		return nil, errors.Join(elbdErr, cerr)
	}
	p.progress("clusters up in %.1fs", time.Since(started).Seconds())

	if err := p.startControllers(ctx); err != nil {
		return nil, err
	}
	envPath := filepath.Join(dir, "elb.env")
	if err := os.WriteFile(envPath, p.Env.Render(), 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", envPath, err)
	}
	p.progress("wrote %s and the kubeconfigs; playground up in %.1fs", envPath, time.Since(started).Seconds())
	return p, nil
}

func (p *Playground) progress(format string, a ...any) {
	fmt.Fprintf(p.opts.Progress, "fleetlb-local: "+format+"\n", a...)
}

// prepareStateDir creates dir, or clears a previous playground's directory.
// It returns the directory's lock, held while the playground runs, so that a
// second playground never clears the files of a running one.
func prepareStateDir(dir string) (string, *os.File, error) {
	if dir == "" {
		return "", nil, errors.New("the state directory is required (--state-dir DIR)")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", nil, err
	}
	entries, err := os.ReadDir(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return "", nil, fmt.Errorf("state directory %s: %w", abs, err)
	case len(entries) > 0:
		if _, err := os.Stat(filepath.Join(abs, markerFile)); err != nil {
			return "", nil, fmt.Errorf("state directory %s is not empty and not a fleetlb-local directory; choose an empty or new directory", abs)
		}
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return "", nil, fmt.Errorf("state directory %s: %w", abs, err)
	}
	lock, err := os.OpenFile(filepath.Join(abs, markerFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", nil, fmt.Errorf("state directory %s: %w", abs, err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return "", nil, fmt.Errorf("a playground is running in %s; stop it (Ctrl-C) or choose another --state-dir", abs)
	}
	for _, e := range entries {
		if e.Name() == markerFile {
			continue
		}
		if err := os.RemoveAll(filepath.Join(abs, e.Name())); err != nil {
			lock.Close()
			return "", nil, fmt.Errorf("clear the previous playground in %s: %w", abs, err)
		}
	}
	_ = lock.Truncate(0)
	_, _ = lock.WriteString("state of a fleetlb-local playground; cleared by the next `fleetlb-local up`\n")
	return abs, lock, nil
}

// checkPort80 makes sure the ELBs' listener port 80 can be served on the
// plan's VIP range: it fails when another playground uses the same address
// base, or when this user may not bind ports below 1024.
func checkPort80(p Plan) error {
	vip := netip.MustParsePrefix(p.ELBSubnet.CIDR).Addr().Next().Next() // the first VIP elbd hands out
	addr := net.JoinHostPort(vip.String(), "80")
	ln, err := net.Listen("tcp", addr)
	switch {
	case err == nil:
		return ln.Close()
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("%s is taken: another playground uses address base %d; stop it or pass another --address-base (a multiple of 32)", addr, p.Base)
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("cannot listen on %s: ports below 1024 need root, CAP_NET_BIND_SERVICE, or sysctl net.ipv4.ip_unprivileged_port_start=0", addr)
	default:
		return fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
}

func (p *Playground) startELBD(ctx context.Context) error {
	cfg, err := ELBDConfig(p.Env.Plan, p.Env.Credentials)
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(p.StateDir, "elbd.yaml")
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		return err
	}
	var tls TLSFiles
	if p.opts.TLS {
		if tls, err = writeTLS(filepath.Join(p.StateDir, "tls")); err != nil {
			return fmt.Errorf("generate elbd's CA and certificate: %w", err)
		}
		p.Env.CAFile = tls.CA
		p.progress("elbd serves its API over TLS with a certificate signed by the CA %s", tls.CA)
	}
	// The free port is released before elbd binds it; another program may
	// take it in between, so a clash is retried on a new port.
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return err
		}
		consolePort, err := freePort()
		if err != nil {
			return err
		}
		addr, consoleAddr := "127.0.0.1:"+strconv.Itoa(port), "127.0.0.1:"+strconv.Itoa(consolePort)
		scheme := "http://"
		if p.opts.TLS {
			scheme = "https://"
		}
		p.Env.Endpoint, p.Env.ConsoleURL = scheme+addr, "http://"+consoleAddr+"/"
		p.progress("starting elbd on %s, its web console on %s (log %s)", p.Env.Endpoint, p.Env.ConsoleURL, filepath.Join(p.LogDir, "elbd.log"))
		args := []string{"--config", cfgPath, "--data-dir", filepath.Join(p.StateDir, "elbd"), "--api-address", addr, "--console-address", consoleAddr}
		if p.opts.ProvisioningDelay > 0 {
			args = append(args, "--provisioning-delay", p.opts.ProvisioningDelay.String())
		}
		if p.opts.TLS {
			args = append(args, "--tls-cert", tls.Cert, "--tls-key", tls.Key)
		}
		p.elbd, err = startChild("elbd", filepath.Join(p.opts.BinDir, "elbd"), args, nil,
			filepath.Join(p.LogDir, "elbd.log"))
		if err != nil {
			return err
		}
		if p.ELB, err = NewELBWithCA(p.Env.Endpoint, p.Env.CAFile, p.Env.Credentials); err != nil {
			return err
		}
		err = waitFor(ctx, 30*time.Second, p.elbd, "elbd's API at "+p.Env.Endpoint, func() error { return p.ELB.Ping() })
		if err == nil || attempt == 3 || !portClash(p.elbd) {
			return err
		}
	}
}

func (p *Playground) createELBs() error {
	perf, err := p.ELB.CreatePerformance("fleetlb-performance", p.Env.Plan.ELBSubnet.ID)
	if err != nil {
		return err
	}
	p.Env.PerformanceELBID, p.Env.PerformanceELBVIP = perf.ID, perf.VIP
	p.progress("created the dedicated (performance) ELB %s, VIP %s, IP-type backends on", perf.ID, perf.VIP)
	union, err := p.ELB.CreateUnion("fleetlb-union", p.Env.Plan.ELBSubnet.ID)
	if err != nil {
		return err
	}
	p.Env.UnionELBID, p.Env.UnionELBVIP = union.ID, union.VIP
	p.progress("created the shared (union) ELB %s, VIP %s", union.ID, union.VIP)
	return nil
}

func (p *Playground) startClusters(ctx context.Context) error {
	opts := make([]localk8s.Options, len(p.Env.Plan.Clusters))
	for i, cp := range p.Env.Plan.Clusters {
		opts[i] = localk8s.Options{
			Name: cp.Name, Dir: filepath.Join(p.StateDir, "clusters", cp.Name), Nodes: p.opts.Nodes,
			NodeCIDR: cp.NodeCIDR, PodCIDR: cp.PodCIDR, ServiceCIDR: cp.ServiceCIDR, BinDir: p.opts.K8sBinDir,
		}
	}
	ks, err := localk8s.StartMany(ctx, opts...)
	if err != nil {
		return err
	}
	for i, cp := range p.Env.Plan.Clusters { // stopped by Stop from here on
		p.Clusters[i] = &Cluster{Plan: cp, K8s: ks[i], Kubeconfig: filepath.Join(p.StateDir, cp.Name+".kubeconfig")}
	}
	for _, c := range p.Clusters {
		cp, k := c.Plan, c.K8s
		if err := k.CopyKubeconfig(c.Kubeconfig); err != nil {
			return err
		}
		ns, err := k.Client().CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("cluster %s: read the kube-system namespace: %w", cp.Name, err)
		}
		c.ID = string(ns.UID)
		p.Env.Kubeconfigs[cp.Name] = c.Kubeconfig
		p.Owners[c.ID] = cp.Name
		p.progress("cluster %s up: %s, %s nodes in %s, pods in %s, subnet %s (%s)", cp.Name, k.Server, cp.PodNetwork,
			cp.NodeCIDR, cp.PodCIDR, cp.Subnet.ID, cp.Subnet.VPCID)
	}
	return nil
}

func (p *Playground) startControllers(ctx context.Context) error {
	probes := make([]string, len(p.Clusters))
	for i, c := range p.Clusters {
		var err error
		if probes[i], err = p.startController(c); err != nil {
			return err
		}
	}
	for i, c := range p.Clusters {
		for attempt := 1; ; attempt++ {
			err := waitReady(ctx, c.controller, "fleetlb-controller of cluster "+c.Plan.Name+" to be ready", probes[i])
			if err == nil {
				break
			}
			if attempt == 3 || !portClash(c.controller) {
				return err
			}
			if probes[i], err = p.startController(c); err != nil { // its probe port was taken: again on another
				return err
			}
		}
	}
	p.progress("%d controller(s) ready", len(p.Clusters))
	return nil
}

// startController starts the cluster's fleetlb-controller and returns the
// URL of its readiness probe.
func (p *Playground) startController(c *Cluster) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	probeAddr := "127.0.0.1:" + strconv.Itoa(port)
	logPath := filepath.Join(p.LogDir, "controller-"+c.Plan.Name+".log")
	args := []string{
		"--kubeconfig", c.Kubeconfig,
		"--cluster-name", c.Plan.Name,
		"--elb-endpoint", p.Env.Endpoint,
		"--project-id", p.Env.Credentials.ProjectID,
		"--region", "local",
		"--pod-network", c.Plan.PodNetwork,
		"--subnet-id", c.Plan.Subnet.ID,
		"--metrics-bind-address", "0",
		"--health-probe-bind-address", probeAddr,
		"--dev-logs",
	}
	if p.Env.CAFile != "" {
		args = append(args, "--elb-ca-file", p.Env.CAFile)
	}
	args = append(args, p.opts.ControllerFlags...)
	env := []string{"HUAWEICLOUD_SDK_AK=" + p.Env.Credentials.AccessKey, "HUAWEICLOUD_SDK_SK=" + p.Env.Credentials.SecretKey}
	p.progress("starting fleetlb-controller for cluster %s (--pod-network %s --subnet-id %s, log %s)", c.Plan.Name, c.Plan.PodNetwork, c.Plan.Subnet.ID, logPath)
	ch, err := startChild("fleetlb-controller "+c.Plan.Name, filepath.Join(p.opts.BinDir, "fleetlb-controller"), args, env, logPath)
	if err != nil {
		return "", err
	}
	c.controller = ch
	return "http://" + probeAddr + "/readyz", nil
}

// waitReady waits until url answers 200.
func waitReady(ctx context.Context, c *childproc.Process, what, url string) error {
	hc := &http.Client{Timeout: time.Second}
	return waitFor(ctx, 60*time.Second, c, what, func() error {
		resp, err := hc.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
		}
		return nil
	})
}

// waitFor polls ok until it succeeds, the child exits, timeout passes or
// ctx ends (Ctrl-C), and says which of these stopped it.
func waitFor(ctx context.Context, timeout time.Duration, c *childproc.Process, what string, ok func() error) error {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if c.Exited() {
			return c.ExitError()
		}
		if last = ok(); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			if parent.Err() != nil {
				return fmt.Errorf("interrupted while waiting for %s: %w", what, parent.Err())
			}
			return fmt.Errorf("timed out after %s waiting for %s (last error: %v); last lines of %s:\n%s", timeout, what, last, c.LogPath(), c.LogTail(15))
		case <-tick.C:
		}
	}
}

// Cluster returns the named cluster, or nil.
func (p *Playground) Cluster(name string) *Cluster {
	for _, c := range p.Clusters {
		if c != nil && c.Plan.Name == name {
			return c
		}
	}
	return nil
}

// Exited reports a child process (elbd or a controller) that ended on its
// own, or nil while all run.
func (p *Playground) Exited() error {
	if p.elbd != nil && p.elbd.Exited() {
		return p.elbd.ExitError()
	}
	for _, c := range p.Clusters {
		if c != nil && c.controller != nil && c.controller.Exited() {
			return c.controller.ExitError()
		}
	}
	return nil
}

// Stop stops the controllers, the clusters and elbd, and waits until every
// process is gone. It is safe to call more than once.
func (p *Playground) Stop() {
	p.stopOnce.Do(func() {
		var wg sync.WaitGroup
		for _, c := range p.Clusters {
			if c != nil && c.controller != nil {
				wg.Add(1)
				go func() { defer wg.Done(); c.controller.Stop(5 * time.Second) }()
			}
		}
		wg.Wait()
		for _, c := range p.Clusters {
			if c != nil && c.K8s != nil {
				wg.Add(1)
				go func() { defer wg.Done(); c.K8s.Stop() }()
			}
		}
		wg.Wait()
		if p.elbd != nil {
			p.elbd.Stop(10 * time.Second)
		}
		if p.lock != nil {
			_ = p.lock.Close() // releases the directory lock
		}
	})
}
