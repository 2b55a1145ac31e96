// Package localk8s starts real Kubernetes clusters on one machine for tests
// and demos: per cluster an etcd, a kube-apiserver (TLS, generated
// certificates, service-account key, admin kubeconfig on disk), a
// kube-controller-manager (so Deployments, ReplicaSets, EndpointSlices, node
// IPAM and NodePort allocation are the real controllers), a kube-scheduler,
// and simulated nodes on loopback addresses: a node agent (kubelet stand-in,
// package nodeagent) that runs real servers for pods, and a node-port
// forwarder (kube-proxy stand-in, package nodeproxy).
//
// In a test (skips without the binaries unless FLEETLB_REQUIRE_K8S=1):
//
//	c := k8stest.Start(t, localk8s.Options{Name: "a"}) // free loopback ranges, 2 nodes
//	cs := c.Client()                                    // admin kubernetes.Interface
//	// c.Kubeconfig, c.RESTConfig(), c.Nodes() (Name, IP); stopped by t.Cleanup
//
// Elsewhere: c, err := localk8s.Start(ctx, localk8s.Options{Name: "a", Dir: dir}); defer c.Stop().
// Pods answer "CLUSTER/NODE/POD" on every containerPort; see nodeagent and nodeproxy.
package localk8s

import (
	"context"
	"errors"
	"fmt"
	"github.com/fleetlb/fleetlb/internal/testbed/localk8s/childproc"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fleetlb/fleetlb/internal/testbed/nodeagent"
	"github.com/fleetlb/fleetlb/internal/testbed/nodeproxy"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Node is a simulated node.
type Node struct {
	Name string
	IP   netip.Addr // InternalIP, on loopback
}

// Cluster is a running cluster. Stop it when done.
type Cluster struct {
	// Name is Options.Name.
	Name string
	// Dir is the state directory (Options.Dir).
	Dir string
	// Kubeconfig is the path of the admin kubeconfig (Dir/kubeconfig).
	Kubeconfig string
	// Server is the API server URL, https://127.0.0.1:PORT.
	Server string

	opts   Options
	nets   networks
	nodes  []Node
	config *rest.Config
	client kubernetes.Interface
	logs   string
	pki    *pki

	procs      []*childproc.Process // start order; stopped in reverse
	nodeCancel context.CancelFunc
	nodeWG     sync.WaitGroup
	nodeErrs   chan error
	logFile    *os.File
	ranges     *rangeLock
	stopOnce   sync.Once
}

// Component grace periods: kube-apiserver waits many seconds for requests to
// drain on SIGTERM, which a throwaway cluster does not need.
const (
	controlPlaneGrace = time.Second
	etcdGrace         = 3 * time.Second
	defaultStartLimit = 60 * time.Second
)

// Start starts a cluster and returns once its API server is ready, its nodes
// are Ready with pod CIDRs, and the default service account exists (so pods
// can be created at once). It first waits (up to RangeWait) for its address
// blocks if another running cluster holds them. ctx bounds the start-up
// only; after the blocks are locked it takes at most 60 s. The cluster then
// runs until Stop. On error nothing is left running.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	auto := opts.autoNetworks()
	nets, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	if opts.BinDir == "" {
		if opts.BinDir, err = FindBinDir(); err != nil {
			return nil, err
		}
	} else if err := checkBinDir(opts.BinDir); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	opts.Dir = dir
	ranges, err := lockNetworks(ctx, &opts, &nets, auto)
	if err != nil {
		return nil, err
	}
	c := &Cluster{
		Name: opts.Name, Dir: dir, Kubeconfig: filepath.Join(dir, "kubeconfig"),
		opts: opts, nets: nets, logs: filepath.Join(dir, "logs"), ranges: ranges,
	}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, defaultStartLimit)
	defer cancel()

	// Every start is a new, empty cluster: state left by an earlier run
	// (nodes, pods with addresses of another range) would only mislead.
	if err := os.RemoveAll(filepath.Join(dir, "etcd")); err != nil {
		return nil, fmt.Errorf("localk8s: cluster %s: clear old state: %w", c.Name, err)
	}
	for _, d := range []string{c.logs, filepath.Join(dir, "etcd")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("localk8s: cluster %s: %w", c.Name, err)
		}
	}
	for i := range opts.Nodes {
		c.nodes = append(c.nodes, Node{
			Name: fmt.Sprintf("%s-node-%d", opts.Name, i+1),
			IP:   nthAddr(nets.node, i+1),
		})
	}

	firstServiceIP := nthAddr(nets.service, 1)
	c.pki, err = writePKI(filepath.Join(dir, "pki"), []net.IP{net.IPv4(127, 0, 0, 1), firstServiceIP.AsSlice()})
	if err != nil {
		return nil, fmt.Errorf("localk8s: cluster %s: certificates: %w", c.Name, err)
	}
	// A free port can be taken by someone else before the component binds
	// it; then the component exits and is started again on new ports.
	var etcdURL string
	err = retryOnPortClash(func() error {
		ports, err := freePorts(2)
		if err != nil {
			return err
		}
		etcdURL = "http://127.0.0.1:" + strconv.Itoa(ports[0])
		return c.startEtcd(ctx, etcdURL, "http://127.0.0.1:"+strconv.Itoa(ports[1]))
	}, c.dropLast)
	if err != nil {
		return nil, err
	}
	err = retryOnPortClash(func() error {
		ports, err := freePorts(1)
		if err != nil {
			return err
		}
		c.Server = "https://127.0.0.1:" + strconv.Itoa(ports[0])
		return c.startAPIServer(ctx, etcdURL, ports[0])
	}, c.dropLast)
	if err != nil {
		return nil, err
	}
	if err := c.startControllers(); err != nil {
		return nil, err
	}
	c.startNodes()
	if err := c.waitReady(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Cluster) bin(name string) string { return filepath.Join(c.opts.BinDir, name) }

func (c *Cluster) start(name string, args ...string) (*childproc.Process, error) {
	p, err := childproc.Start(name, c.bin(name), args, nil, filepath.Join(c.logs, name+".log"), 0o644)
	if err != nil {
		return nil, fmt.Errorf("localk8s: cluster %s: %w", c.Name, err)
	}
	c.procs = append(c.procs, p)
	return p, nil
}

func (c *Cluster) startEtcd(ctx context.Context, clientURL, peerURL string) error {
	p, err := c.start("etcd",
		"--name=default",
		"--data-dir="+filepath.Join(c.Dir, "etcd"),
		"--listen-client-urls="+clientURL,
		"--advertise-client-urls="+clientURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=default="+peerURL,
		"--unsafe-no-fsync=true", // throwaway data: durability is not worth the time
		"--log-level=warn",
	)
	if err != nil {
		return err
	}
	hc := &http.Client{Timeout: time.Second}
	return c.poll(ctx, p, "etcd to be healthy at "+clientURL, func(ctx context.Context) bool {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, clientURL+"/health", nil)
		if err != nil {
			return false
		}
		resp, err := hc.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

func (c *Cluster) startAPIServer(ctx context.Context, etcdURL string, port int) error {
	p, err := c.start("kube-apiserver",
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(port),
		"--tls-cert-file="+c.pki.servingCert,
		"--tls-private-key-file="+c.pki.servKey,
		"--client-ca-file="+c.pki.caCert,
		"--token-auth-file="+c.pki.tokenFile,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+c.pki.saPub,
		"--service-account-signing-key-file="+c.pki.saKey,
		"--service-cluster-ip-range="+c.nets.service.String(),
		"--cert-dir="+filepath.Join(c.Dir, "pki"),
		"--allow-privileged=true",
		"--enable-priority-and-fairness=false",
		"--profiling=false",
	)
	if err != nil {
		return err
	}
	c.config = &rest.Config{
		Host:            c.Server,
		BearerToken:     c.pki.adminToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: c.pki.caPEM},
		QPS:             100,
		Burst:           200,
	}
	c.client, err = kubernetes.NewForConfig(c.config)
	if err != nil {
		return fmt.Errorf("localk8s: cluster %s: client: %w", c.Name, err)
	}
	err = c.poll(ctx, p, "kube-apiserver to be ready at "+c.Server, func(ctx context.Context) bool {
		_, err := c.client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil
	})
	if err != nil {
		return err
	}
	for _, k := range []struct{ path, user, token string }{
		{c.Kubeconfig, "admin", c.pki.adminToken},
		{filepath.Join(c.Dir, "kube-controller-manager.kubeconfig"), "kube-controller-manager", c.pki.kcmToken},
		{filepath.Join(c.Dir, "kube-scheduler.kubeconfig"), "kube-scheduler", c.pki.schedulerToken},
	} {
		if err := writeKubeconfig(k.path, c.Name, c.Server, c.pki.caPEM, k.user, k.token); err != nil {
			return fmt.Errorf("localk8s: cluster %s: write %s: %w", c.Name, k.path, err)
		}
	}
	return nil
}

func (c *Cluster) startControllers() error {
	maskSize, err := nodeMaskSize(c.nets.pod, c.opts.Nodes)
	if err != nil {
		return err
	}
	kcmConfig := filepath.Join(c.Dir, "kube-controller-manager.kubeconfig")
	if _, err := c.start("kube-controller-manager",
		"--kubeconfig="+kcmConfig,
		"--authentication-kubeconfig="+kcmConfig,
		"--authorization-kubeconfig="+kcmConfig,
		"--secure-port=0",
		"--leader-elect=false",
		"--service-account-private-key-file="+c.pki.saKey,
		"--root-ca-file="+c.pki.caCert,
		"--use-service-account-credentials=false",
		"--allocate-node-cidrs=true",
		"--cluster-cidr="+c.nets.pod.String(),
		"--node-cidr-mask-size-ipv4="+strconv.Itoa(maskSize),
		"--service-cluster-ip-range="+c.nets.service.String(),
		"--profiling=false",
	); err != nil {
		return err
	}
	schedConfig := filepath.Join(c.Dir, "kube-scheduler.kubeconfig")
	_, err = c.start("kube-scheduler",
		"--kubeconfig="+schedConfig,
		"--authentication-kubeconfig="+schedConfig,
		"--authorization-kubeconfig="+schedConfig,
		"--secure-port=0",
		"--leader-elect=false",
		"--profiling=false",
	)
	return err
}

// startNodes runs a node agent and a node-port proxy per node, in this process.
func (c *Cluster) startNodes() {
	log := c.opts.Logger
	if log == nil {
		f, err := os.OpenFile(filepath.Join(c.logs, "nodes.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err == nil {
			c.logFile = f
			log = slog.New(slog.NewTextHandler(f, nil))
		} else {
			log = slog.New(slog.DiscardHandler)
		}
	}
	log = log.With("cluster", c.Name)
	ctx, cancel := context.WithCancel(context.Background())
	c.nodeCancel = cancel
	c.nodeErrs = make(chan error, 2*len(c.nodes))
	for _, n := range c.nodes {
		agent, aerr := nodeagent.New(nodeagent.Config{
			Cluster: c.Name, NodeName: n.Name, NodeIP: n.IP, Client: c.client, Logger: log,
		})
		proxy, perr := nodeproxy.New(nodeproxy.Config{NodeName: n.Name, NodeIP: n.IP, Client: c.client, Logger: log})
		if err := errors.Join(aerr, perr); err != nil {
			c.nodeErrs <- err // config errors are bugs here; reported by waitReady
			continue
		}
		runs := []func(context.Context) error{agent.Run, proxy.Run}
		if c.opts.NoServiceProxy {
			runs = runs[:1]
		}
		for _, run := range runs {
			c.nodeWG.Add(1)
			go func() {
				defer c.nodeWG.Done()
				if err := run(ctx); err != nil && ctx.Err() == nil {
					log.Error("node component stopped", "node", n.Name, "err", err)
					c.nodeErrs <- err
				}
			}()
		}
	}
}

// waitReady waits for every node to be Ready with a pod CIDR and for the
// default service account, without which pods cannot be created.
func (c *Cluster) waitReady(ctx context.Context) error {
	what := "nodes to be Ready with pod CIDRs"
	check := func(ctx context.Context) (bool, error) {
		select {
		case err := <-c.nodeErrs:
			return false, err
		default:
		}
		for _, p := range c.procs {
			if p.Exited() {
				return false, p.ExitError()
			}
		}
		for _, n := range c.nodes {
			node, err := c.client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
			if err != nil || node.Spec.PodCIDR == "" || !nodeReady(node) {
				what = "node " + n.Name + " to be Ready with a pod CIDR from node IPAM"
				return false, nil
			}
		}
		if _, err := c.client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{}); err != nil {
			what = "the default service account (kube-controller-manager)"
			return false, nil
		}
		return true, nil
	}
	if err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, check); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("localk8s: cluster %s: %s waiting for %s; logs in %s", c.Name, stopped(ctx), what, c.logs)
		}
		return fmt.Errorf("localk8s: cluster %s: %w", c.Name, err)
	}
	return nil
}

func nodeReady(n *corev1.Node) bool {
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

// poll waits for ok, failing early with the log tail if p exits.
func (c *Cluster) poll(ctx context.Context, p *childproc.Process, what string, ok func(context.Context) bool) error {
	err := wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		if p.Exited() {
			if strings.Contains(p.LogTail(40), "address already in use") {
				return false, fmt.Errorf("%s: %w", p.Name(), errPortClash)
			}
			return false, p.ExitError()
		}
		return ok(ctx), nil
	})
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("localk8s: cluster %s: %s waiting for %s; last lines of %s:\n%s", c.Name, stopped(ctx), what, p.LogPath(), p.LogTail(15))
	}
	return fmt.Errorf("localk8s: cluster %s: %w", c.Name, err)
}

// stopped says why a start-up context ended.
func stopped(ctx context.Context) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "timed out"
	}
	return "interrupted"
}

// errPortClash marks a component that exited because its port was taken.
var errPortClash = errors.New("port already in use")

// retryOnPortClash runs start up to three times while it fails with
// errPortClash, calling undo after each such failure.
func retryOnPortClash(start func() error, undo func()) error {
	var err error
	for range 3 {
		if err = start(); !errors.Is(err, errPortClash) {
			return err
		}
		undo()
	}
	return err
}

// dropLast stops and forgets the most recently started process.
func (c *Cluster) dropLast() {
	if n := len(c.procs); n > 0 {
		c.procs[n-1].Stop(controlPlaneGrace)
		c.procs = c.procs[:n-1]
	}
}

// Stop stops the nodes (their pod servers and node ports), then every
// process, and waits until all are gone. It is safe to call more than once.
func (c *Cluster) Stop() {
	c.stopOnce.Do(func() {
		if c.nodeCancel != nil {
			c.nodeCancel()
			c.nodeWG.Wait()
		}
		for i := len(c.procs) - 1; i >= 0; i-- {
			p := c.procs[i]
			grace := controlPlaneGrace
			if p.Name() == "etcd" {
				grace = etcdGrace
			}
			p.Stop(grace)
		}
		if c.logFile != nil {
			_ = c.logFile.Close()
		}
		c.ranges.release()
	})
}

// RESTConfig returns a copy of the admin client configuration.
func (c *Cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.config) }

// Client returns an admin clientset.
func (c *Cluster) Client() kubernetes.Interface { return c.client }

// Nodes returns the simulated nodes.
func (c *Cluster) Nodes() []Node { return append([]Node(nil), c.nodes...) }

// Options returns the options the cluster runs with, defaults filled in.
func (c *Cluster) Options() Options { return c.opts }

// LogDir is where the component logs are (etcd.log, kube-apiserver.log, …, nodes.log).
func (c *Cluster) LogDir() string { return c.logs }

// PIDs returns the process IDs of the cluster's component processes.
func (c *Cluster) PIDs() map[string]int {
	out := map[string]int{}
	for _, p := range c.procs {
		out[p.Name()] = p.Pid()
	}
	return out
}

// nthAddr is the n-th address of p (n = 0 is the network address).
func nthAddr(p netip.Prefix, n int) netip.Addr {
	a := p.Addr()
	for range n {
		a = a.Next()
	}
	return a
}

// freePorts reserves n distinct free TCP ports on 127.0.0.1. They are
// released before use, so another process could take one in between; the
// component then fails to start with a clear "address in use" log.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func writeKubeconfig(path, cluster, server string, ca []byte, user, token string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[cluster] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[cluster] = &clientcmdapi.Context{Cluster: cluster, AuthInfo: user}
	cfg.CurrentContext = cluster
	return clientcmd.WriteToFile(*cfg, path)
}
