package reconciler

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	utilversion "k8s.io/apimachinery/pkg/util/version"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/common/ownership"
	"github.com/fleetlb/fleetlb/internal/controller/model"
)

// Options configure one controller for one cluster. The program fills them from flags; tests fill
// them directly to run several clusters' controllers in one process.
type Options struct {
	RestConfig *rest.Config
	ClusterID  string // "" = the kube-system namespace UID
	// AdoptClusterID is the ID recorded before (--adopt-cluster-id): this cluster's members and
	// marks named with it are renamed to ClusterID on every ELB (C4).
	AdoptClusterID string
	ClusterName    string // for people: logs and Events
	Deployer       Deployer
	// CheckELB proves the ELB endpoint and credentials work (elbclient.Client.Check); nil skips it.
	CheckELB func(context.Context) error

	// LoadBalancerClass is --load-balancer-class (C8): "" handles Services without a class.
	LoadBalancerClass string
	// IngressIPMode is --ingress-ip-mode (C9): "Proxy" (default) or "VIP".
	IngressIPMode string

	PodNetwork    model.PodNetwork
	SubnetID      string
	DefaultWeight int
	// DeregistrationDelay is --deregistration-delay: the drain of Services without
	// fleetlb.io/deregistration-delay (T1).
	DeregistrationDelay time.Duration
	Resync              time.Duration // default 5 minutes

	LeaderElection          bool
	LeaderElectionNamespace string // default kube-system
	LeaderElectionID        string // default LeaseNameFor(LoadBalancerClass)
	// Lease timings (C12): how long a lease holds without renewal, how long the leader tries to
	// renew before it gives up, and how often candidates try. 0: controller-runtime's 15s, 10s, 2s.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	MetricsBindAddress                        string // "0" disables
	HealthProbeBindAddress                    string // "" or "0" disables
	MaxConcurrentReconciles                   int    // default 4

	// ELB, when set, keeps this cluster's fleet records in listener tags and the fleet view on
	// the Services (fleet.go, T10–T15); nil: none.
	ELB elbclient.Client
	// FleetHeartbeat (--fleet-heartbeat, default 1m), FleetStaleAfter (--fleet-stale-after,
	// default 10m) and ReclaimStaleAfter (--reclaim-stale-after, 0: never) tune the fleet.
	FleetHeartbeat, FleetStaleAfter, ReclaimStaleAfter time.Duration

	// Registry receives the controller's metrics; nil = controller-runtime's registry, served on
	// MetricsBindAddress.
	Registry prometheus.Registerer
	Logger   logr.Logger
}

// ErrTooOld is returned (wrapped) when the API server is older than v1.23 (R12).
var ErrTooOld = errors.New("API server too old")

// Validate checks the settings a user passes as flags.
func (o *Options) Validate() error {
	switch o.PodNetwork {
	case model.PodNetworkVPC, model.PodNetworkOverlay:
	default:
		return fmt.Errorf("--pod-network is %q; set 'vpc' (Pods have VPC addresses, like CCE Turbo: pass-through members with performance ELBs) or 'overlay' (node-port members)", o.PodNetwork)
	}
	switch corev1.LoadBalancerIPMode(o.IngressIPMode) {
	case "", corev1.LoadBalancerIPModeProxy, corev1.LoadBalancerIPModeVIP:
	default:
		return fmt.Errorf("--ingress-ip-mode is %q; set %q (in-cluster clients go through the ELB and its weights) or %q (kube-proxy sends them straight to local Pods)", o.IngressIPMode, corev1.LoadBalancerIPModeProxy, corev1.LoadBalancerIPModeVIP)
	}
	if o.LoadBalancerClass != "" {
		if errs := validation.IsQualifiedName(o.LoadBalancerClass); len(errs) > 0 {
			return fmt.Errorf("--load-balancer-class %q is not a valid spec.loadBalancerClass (%s); use a name such as example.com/fleetlb", o.LoadBalancerClass, strings.Join(errs, "; "))
		}
	}
	if !elbrules.ValidWeight(o.DefaultWeight) {
		return fmt.Errorf("--default-weight is %d; set an integer from %d to %d", o.DefaultWeight, elbrules.MinWeight, elbrules.MaxWeight)
	}
	if o.ClusterID != "" {
		if err := ownership.CheckClusterID(o.ClusterID); err != nil {
			return fmt.Errorf("--cluster-id: %w", err)
		}
	}
	if o.AdoptClusterID != "" {
		if err := ownership.CheckClusterID(o.AdoptClusterID); err != nil {
			return fmt.Errorf("--adopt-cluster-id: %w", err)
		}
	}
	if o.LeaderElection {
		lease, renew, retry := orDefault(o.LeaseDuration, 15*time.Second), orDefault(o.RenewDeadline, 10*time.Second), orDefault(o.RetryPeriod, 2*time.Second)
		if !(lease > renew && renew > retry) {
			return fmt.Errorf("--leader-elect-lease-duration (%s) must exceed --leader-elect-renew-deadline (%s), which must exceed --leader-elect-retry-period (%s)", lease, renew, retry)
		}
	}
	if err := o.validateFleet(); err != nil {
		return err
	}
	if o.Deployer == nil {
		return errors.New("no ELB deployer configured")
	}
	if o.RestConfig == nil {
		return errors.New("no Kubernetes configuration; pass --kubeconfig or run in a cluster")
	}
	return nil
}

// Run checks the cluster (R12) and the ELB, then runs the controller until ctx ends.
func Run(ctx context.Context, o Options) error {
	mgr, err := NewManager(ctx, o)
	if err != nil {
		return err
	}
	return mgr.Start(ctx)
}

// NewManager checks the API server version (R12), resolves the cluster ID, checks the ELB, and
// returns a manager with the reconciler registered, not yet started.
func NewManager(ctx context.Context, o Options) (manager.Manager, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	log := o.Logger
	if log.GetSink() == nil {
		log = logr.Discard()
	}
	cs, err := kubernetes.NewForConfig(o.RestConfig)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	ver, err := CheckServerVersion(cs.Discovery())
	if err != nil {
		if ver != "" {
			return nil, fmt.Errorf("%w: %v", ErrTooOld, err)
		}
		return nil, err
	}
	if o.CheckELB != nil {
		if err := o.CheckELB(ctx); err != nil {
			return nil, fmt.Errorf("the ELB API does not answer as expected; check --elb-endpoint, --project-id, --region and HUAWEICLOUD_SDK_AK/HUAWEICLOUD_SDK_SK: %w", err)
		}
	}
	inv, _ := o.Deployer.(Inventory)
	var adopter Adopter
	if inv != nil {
		adopter = func(ctx context.Context, oldID, newID string) error {
			res, err := inv.AdoptClusterID(ctx, oldID, newID)
			log.Info("adopted cluster ID", "old", oldID, "new", newID, "membersRenamed", res.MembersUpdated, "error", err)
			return err
		}
	}
	var owns Owner
	if inv != nil {
		owns = inv.Owns
	}
	if o.ClusterID, err = ResolveClusterID(ctx, cs, o.ClusterID, o.AdoptClusterID, ClusterIDKeyFor(o.LoadBalancerClass), adopter, owns); err != nil {
		return nil, err
	}
	log = log.WithValues("cluster", o.ClusterName, "clusterID", o.ClusterID)
	log.Info("starting", "apiServer", ver, "podNetwork", o.PodNetwork)

	if o.Resync == 0 {
		o.Resync = 5 * time.Minute
	}
	if o.LeaderElectionNamespace == "" {
		o.LeaderElectionNamespace = "kube-system"
	}
	if o.LeaderElectionID == "" {
		o.LeaderElectionID = LeaseNameFor(o.LoadBalancerClass)
	}
	if o.MetricsBindAddress == "" {
		o.MetricsBindAddress = "0"
	}
	if o.HealthProbeBindAddress == "0" {
		o.HealthProbeBindAddress = ""
	}
	if o.MaxConcurrentReconciles == 0 {
		o.MaxConcurrentReconciles = 4
	}
	reg := o.Registry
	if reg == nil {
		reg = crmetrics.Registry
	}
	skip := true // several clusters' controllers may run in one process (tests, demo)
	mgr, err := ctrl.NewManager(o.RestConfig, ctrl.Options{
		Logger:                        log,
		Metrics:                       metricsserver.Options{BindAddress: o.MetricsBindAddress},
		HealthProbeBindAddress:        o.HealthProbeBindAddress,
		LeaderElection:                o.LeaderElection,
		LeaderElectionNamespace:       o.LeaderElectionNamespace,
		LeaderElectionID:              o.LeaderElectionID,
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 nonZero(o.LeaseDuration),
		RenewDeadline:                 nonZero(o.RenewDeadline),
		RetryPeriod:                   nonZero(o.RetryPeriod),
		Controller:                    ctrlConfig(skip),
	})
	if err != nil {
		return nil, fmt.Errorf("create manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return nil, err
	}
	// Ready once the informers have synced (every replica, leader or not, C12): a replica that
	// takes over then reconciles at once.
	if err := mgr.AddReadyzCheck("informers-synced", func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), time.Second)
		defer cancel()
		if !mgr.GetCache().WaitForCacheSync(ctx) {
			return errors.New("the informer caches have not synced yet")
		}
		return nil
	}); err != nil {
		return nil, err
	}
	ipMode := ingressIPMode(o.IngressIPMode, ver)
	if ipMode == nil {
		log.Info("status.loadBalancer.ingress[].ipMode is left out: the API server is older than v1.30, which ignores it; kube-proxy sends in-cluster traffic for the VIP straight to local Pods", "apiServer", ver)
	}
	r := &Reconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder(ControllerName),
		Deployer: o.Deployer,
		Settings: model.Settings{ClusterID: o.ClusterID, PodNetwork: o.PodNetwork, SubnetID: o.SubnetID, DefaultWeight: o.DefaultWeight,
			DeregistrationDelay: o.DeregistrationDelay},
		Resync:  o.Resync,
		Metrics: NewMetrics(reg),
		Log:     log.WithName("reconciler"),
		Class:   o.LoadBalancerClass,

		IngressIPMode: ipMode,
	}
	if o.ELB != nil {
		install, err := ResolveInstallID(ctx, cs, InstallIDKeyFor(o.LoadBalancerClass))
		if err != nil {
			return nil, err
		}
		r.Fleet = NewFleet(&Fleet{ELB: o.ELB, ClusterID: o.ClusterID, InstallID: install,
			Heartbeat: o.FleetHeartbeat, TTL: o.FleetStaleAfter, ReclaimAfter: o.ReclaimStaleAfter}, reg)
	}
	if err := r.SetupWithManager(mgr, o.MaxConcurrentReconciles); err != nil {
		return nil, fmt.Errorf("set up reconciler: %w", err)
	}
	if inv != nil {
		sw := &sweeper{inv: inv, reader: mgr.GetAPIReader(), clusterID: o.ClusterID, every: o.Resync, log: log.WithName("sweep")}
		if err := mgr.Add(sw); err != nil {
			return nil, fmt.Errorf("set up the sweep: %w", err)
		}
	}
	return mgr, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func nonZero(d time.Duration) *time.Duration {
	if d <= 0 {
		return nil
	}
	return &d
}

// ipModeMinor is the first Kubernetes minor version whose API servers keep
// status.loadBalancer.ingress[].ipMode by default (the LoadBalancerIPMode feature is beta, on,
// from v1.30); older ones drop it, and writing it there would only make every status patch differ.
const ipModeMinor = 30

// ingressIPMode is the ipMode written for mode ("" means Proxy, C9) on an API server of version
// ver (GitVersion): nil where the API server would drop it.
func ingressIPMode(mode, ver string) *corev1.LoadBalancerIPMode {
	m := corev1.LoadBalancerIPMode(mode)
	if m == "" {
		m = corev1.LoadBalancerIPModeProxy
	}
	if v, err := utilversion.ParseGeneric(ver); err == nil && v.LessThan(utilversion.MajorMinor(1, ipModeMinor)) {
		return nil
	}
	return &m
}

func ctrlConfig(skipNameValidation bool) config.Controller {
	return config.Controller{SkipNameValidation: &skipNameValidation}
}
