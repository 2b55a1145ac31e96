// Command fleetlb-controller binds LoadBalancer Services with kubernetes.io/elb.multicluster: 'true'
// to an existing ELB listener shared with other clusters and VMs. Run one per cluster.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/client/config"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/common/fleetrecord"
	"github.com/fleetlb/fleetlb/internal/common/program"
	"github.com/fleetlb/fleetlb/internal/controller/annotations"
	"github.com/fleetlb/fleetlb/internal/controller/deploy"
	"github.com/fleetlb/fleetlb/internal/controller/model"
	"github.com/fleetlb/fleetlb/internal/controller/reconciler"
)

func main() {
	program.Main("fleetlb-controller", func(ctx context.Context) error { return run(ctx, os.Args[1:], os.Stderr) })
}

// Defaults of --kube-api-qps and --kube-api-burst (F11). A reconcile that changes something
// makes up to three Kubernetes writes (the finalizer before the first ELB write, the write-back
// annotations, the status; an Event goes through its own client), none when nothing changed, so
// only a first sync or a mass change uses this budget. At 50/s (kube-scheduler's default) a first
// sync of 1,000 new Services needs at least (3,000 - burst) / 50 = 58 s of writes, the whole of
// F10's 60 s goal; at 100/s it needs 28 s. The API server's own fairness (API Priority and
// Fairness) still shields it from a controller that runs away; client-go's 5/10 would queue that
// sync for ten minutes.
const (
	DefaultKubeAPIQPS   = 100
	DefaultKubeAPIBurst = 200
)

type flags struct {
	kubeconfig, clusterID, clusterName string
	adoptClusterID                     string
	elbEndpoint, projectID, region     string
	vpcEndpoint                        string
	elbCAFile                          string // --elb-ca-file
	podNetwork, subnetID               string
	loadBalancerClass, ingressIPMode   string
	defaultWeight                      int
	deregistrationDelay                time.Duration
	leaderElect                        bool
	leaderElectionNamespace            string
	leaseDuration, renewDeadline       time.Duration
	retryPeriod                        time.Duration
	metricsAddr, probeAddr             string
	resync, elbTimeout                 time.Duration
	fleetHeartbeat, fleetStaleAfter    time.Duration
	reclaimStaleAfter                  time.Duration
	elbQPS                             float64
	elbBurst                           int
	kubeAPIQPS                         float64
	kubeAPIBurst                       int
	concurrency                        int
	devLogs                            bool
}

func parseFlags(args []string, out io.Writer) (*flags, error) {
	f := &flags{}
	fs := f.flagSet(out)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q; every setting is a --flag (see -h)", fs.Args())
	}
	return f, f.check()
}

// check refuses the settings without which nothing can run.
func (f *flags) check() error {
	if !(f.kubeAPIQPS > 0) || f.kubeAPIBurst < 1 {
		return fmt.Errorf("--kube-api-qps %v and --kube-api-burst %d must be positive: pass e.g. --kube-api-qps %d --kube-api-burst %d", f.kubeAPIQPS, f.kubeAPIBurst, DefaultKubeAPIQPS, DefaultKubeAPIBurst)
	}
	if missing := program.Unset("--elb-endpoint", f.elbEndpoint, "--project-id", f.projectID); len(missing) > 0 {
		return fmt.Errorf("%s required: pass the ELB API's URL and the ELB project's ID (see -h)", strings.Join(missing, " and "))
	}
	return nil
}

// flagSet defines the controller's flags on f (decommission takes the same).
func (f *flags) flagSet(out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("fleetlb-controller", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "path to a kubeconfig; default: $KUBECONFIG, in-cluster, or ~/.kube/config")
	fs.StringVar(&f.clusterID, "cluster-id", "", "unique ID of this cluster, recorded in the name of every member it owns; default: the kube-system namespace UID")
	fs.StringVar(&f.adoptClusterID, "adopt-cluster-id", "", "the cluster ID recorded before (ConfigMap kube-system/fleetlb-cluster-id): rename this cluster's members and listener marks from it to the current ID on every ELB, in place, then record the current ID")
	fs.StringVar(&f.clusterName, "cluster-name", "", "name of this cluster for people (logs, Events)")
	fs.StringVar(&f.elbEndpoint, "elb-endpoint", "", "ELB API base URL: https://elb.<region>.myhuaweicloud.com, or elbd's http://127.0.0.1:PORT (required)")
	fs.StringVar(&f.elbCAFile, "elb-ca-file", "", "PEM file of the CA that signed the ELB API's certificate (e.g. elbd's with --tls-cert); default: the system's roots")
	fs.StringVar(&f.vpcEndpoint, "vpc-endpoint", "", "VPC API base URL, to find each member's subnet by its address; default: --elb-endpoint with its elb. host turned into vpc. (elbd serves both)")
	fs.StringVar(&f.projectID, "project-id", "", "project ID of the ELBs (required)")
	fs.StringVar(&f.region, "region", "", "region of the ELBs, e.g. cn-north-4")
	fs.StringVar(&f.podNetwork, "pod-network", "overlay", "vpc: Pods have VPC addresses (like CCE Turbo; pass-through members on performance ELBs); overlay: members are nodes on the node port")
	fs.StringVar(&f.subnetID, "subnet-id", "", "subnet of all this cluster's instance-type members; default: each member's own subnet, found by its address in the ELB's VPC through the VPC API")
	fs.StringVar(&f.loadBalancerClass, "load-balancer-class", "", "handle only Services whose spec.loadBalancerClass is this name; default: Services without a class (or "+reconciler.LoadBalancerClass+"). A Service naming another class is never touched")
	fs.StringVar(&f.ingressIPMode, "ingress-ip-mode", "Proxy", "status.loadBalancer.ingress[].ipMode: Proxy (in-cluster clients go through the ELB and its weights) or VIP (kube-proxy short-circuits the VIP to local Pods); needs Kubernetes v1.30+")
	fs.IntVar(&f.defaultWeight, "default-weight", elbrules.MaxWeight, fmt.Sprintf("cluster weight W for a Service that never had %s (%d-%d)", model.AnnotationWeight, elbrules.MinWeight, elbrules.MaxWeight))
	f.deregistrationDelay = model.DefaultDeregistrationDelay
	// The backquoted `duration` names the value in -h and the reference; the default shows as 15s.
	fs.Var((*delayValue)(&f.deregistrationDelay), "deregistration-delay", fmt.Sprintf("how long a member no longer wanted (Pod terminating, scale-down, Service deleted) keeps weight 0 before it is removed, for Services without %s: a `duration` or seconds, 0 to %s", model.AnnotationDeregistrationDelay, model.MaxDeregistrationDelay))
	fs.BoolVar(&f.leaderElect, "leader-elect", false, "elect a leader among replicas: only the leader reconciles and writes to the ELB (Lease "+reconciler.LeaseNameFor("")+" in --leader-election-namespace; with --load-balancer-class, a Lease of the class's own)")
	fs.StringVar(&f.leaderElectionNamespace, "leader-election-namespace", "kube-system", "namespace of the leader election Lease")
	fs.DurationVar(&f.leaseDuration, "leader-elect-lease-duration", 15*time.Second, "how long a leader's lease holds without renewal: a standby replica takes over at most this long (plus --leader-elect-retry-period) after the leader dies")
	fs.DurationVar(&f.renewDeadline, "leader-elect-renew-deadline", 10*time.Second, "how long the leader tries to renew its lease before it stops (less than --leader-elect-lease-duration)")
	fs.DurationVar(&f.retryPeriod, "leader-elect-retry-period", 2*time.Second, "how often replicas try to acquire or renew the lease")
	fs.StringVar(&f.metricsAddr, "metrics-bind-address", "127.0.0.1:8080", "address of the Prometheus metrics endpoint (use :8080 in a Pod); 0 disables it")
	fs.StringVar(&f.probeAddr, "health-probe-bind-address", "127.0.0.1:8081", "address of /healthz and /readyz (use :8081 in a Pod); 0 disables them")
	fs.DurationVar(&f.resync, "resync-period", 5*time.Minute, "how often every bound Service is reconciled again to repair drift made by hand on the ELB")
	fs.DurationVar(&f.fleetHeartbeat, "fleet-heartbeat", fleetrecord.DefaultHeartbeat, "how often this cluster's fleet record (requested weight, heartbeat, install ID) is refreshed in a tag of every listener it uses; also written at once on a change")
	fs.DurationVar(&f.fleetStaleAfter, "fleet-stale-after", fleetrecord.DefaultTTL, "an owner whose fleet record is older than this is stale (shown so in the fleet view and by elbctl fleet orphans); at least three --fleet-heartbeat periods")
	fs.DurationVar(&f.reclaimStaleAfter, "reclaim-stale-after", 0, "when set, remove the members (and record) of owners whose heartbeat is older than this from the listeners this cluster uses; at least --fleet-stale-after; default: never (use elbctl fleet reclaim)")
	fs.DurationVar(&f.elbTimeout, "elb-timeout", 30*time.Second, "timeout of one ELB API call")
	fs.Float64Var(&f.elbQPS, "elb-qps", elbclient.DefaultQPS, "client-side limit of ELB API calls per second (all calls, reads included), so that a fleet of controllers stays under the API's limits")
	fs.IntVar(&f.elbBurst, "elb-burst", elbclient.DefaultBurst, "ELB API calls allowed at once above --elb-qps")
	fs.Float64Var(&f.kubeAPIQPS, "kube-api-qps", DefaultKubeAPIQPS, "client-side limit of Kubernetes API requests per second (writes: finalizers, annotations, status; reads are served by the informers' cache); client-go's own default, 5, queues a first sync of many Services for minutes")
	fs.IntVar(&f.kubeAPIBurst, "kube-api-burst", DefaultKubeAPIBurst, "Kubernetes API requests allowed at once above --kube-api-qps")
	fs.IntVar(&f.concurrency, "concurrency", 4, "Services reconciled in parallel")
	fs.BoolVar(&f.devLogs, "dev-logs", false, "human-readable logs instead of JSON")
	return fs
}

// delayValue is --deregistration-delay: a duration or seconds, as the annotation
// fleetlb.io/deregistration-delay takes it. Its String gives the flag set its default, so that -h
// and the reference show it.
type delayValue time.Duration

func (d *delayValue) String() string {
	if d == nil {
		return ""
	}
	return time.Duration(*d).String()
}

func (d *delayValue) Set(v string) error {
	parsed, err := annotations.ParseDeregistrationDelay(strings.TrimSpace(v))
	if err != nil {
		return fmt.Errorf("%v; write e.g. 30s or 30", err)
	}
	*d = delayValue(parsed)
	return nil
}

// elbClient is the ELB client of these settings (credentials from HUAWEICLOUD_SDK_AK/SK).
func (f *flags) elbClient() (*elbclient.SDK, error) {
	return elbclient.New(elbclient.Config{
		Endpoint: f.elbEndpoint, Region: f.region, ProjectID: f.projectID,
		AK: os.Getenv("HUAWEICLOUD_SDK_AK"), SK: os.Getenv("HUAWEICLOUD_SDK_SK"), Timeout: f.elbTimeout,
		QPS: f.elbQPS, Burst: f.elbBurst, VPCEndpoint: f.vpcEndpoint, CAFile: f.elbCAFile,
		// The same collectors as the reconciler's (NewMetrics shares them by name), served on --metrics-bind-address.
		OnResponse: reconciler.NewMetrics(crmetrics.Registry).ObserveELBCall,
	})
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	if len(args) > 0 && args[0] == decommissionCmd {
		return decommission(ctx, args[1:], os.Stdout, stderr)
	}
	if len(args) > 0 && args[0] == referenceCmd {
		return writeReference(os.Stdout)
	}
	f, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	var h slog.Handler = slog.NewJSONHandler(stderr, nil)
	if f.devLogs {
		h = slog.NewTextHandler(stderr, nil)
	}
	log := logr.FromSlogHandler(h)
	ctrl.SetLogger(log)

	client, err := f.elbClient()
	if err != nil {
		return err
	}
	restCfg, err := f.restConfig()
	if err != nil {
		return err
	}
	return reconciler.Run(ctx, reconciler.Options{
		RestConfig:              restCfg,
		ClusterID:               f.clusterID,
		AdoptClusterID:          f.adoptClusterID,
		ClusterName:             f.clusterName,
		Deployer:                deploy.New(client, deploy.Options{Logger: log.WithName("deploy"), Subnets: client, DeregistrationDelay: f.deregistrationDelay}),
		CheckELB:                client.Check,
		LoadBalancerClass:       f.loadBalancerClass,
		IngressIPMode:           f.ingressIPMode,
		PodNetwork:              model.PodNetwork(f.podNetwork),
		SubnetID:                f.subnetID,
		DefaultWeight:           f.defaultWeight,
		DeregistrationDelay:     f.deregistrationDelay,
		Resync:                  f.resync,
		ELB:                     client,
		FleetHeartbeat:          f.fleetHeartbeat,
		FleetStaleAfter:         f.fleetStaleAfter,
		ReclaimStaleAfter:       f.reclaimStaleAfter,
		LeaderElection:          f.leaderElect,
		LeaderElectionNamespace: f.leaderElectionNamespace,
		LeaseDuration:           f.leaseDuration,
		RenewDeadline:           f.renewDeadline,
		RetryPeriod:             f.retryPeriod,
		MetricsBindAddress:      f.metricsAddr,
		HealthProbeBindAddress:  f.probeAddr,
		MaxConcurrentReconciles: f.concurrency,
		Logger:                  log,
	})
}

// restConfig is the Kubernetes client configuration with --kube-api-qps and --kube-api-burst.
func (f *flags) restConfig() (*rest.Config, error) {
	cfg, err := restConfig(f.kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = float32(f.kubeAPIQPS), f.kubeAPIBurst
	return cfg, nil
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("read --kubeconfig %s: %w", kubeconfig, err)
		}
		return cfg, nil
	}
	cfg, err := ctrlconfig.GetConfig()
	if err != nil {
		return nil, fmt.Errorf("no Kubernetes configuration found (pass --kubeconfig, set KUBECONFIG, or run in a cluster): %w", err)
	}
	return cfg, nil
}
