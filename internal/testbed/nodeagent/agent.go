// Package nodeagent is a kubelet stand-in for test clusters on one machine.
//
// An Agent registers one Node with a loopback InternalIP, keeps it Ready with
// a Lease, and "runs" the pods bound to it: each gets a loopback pod IP from
// the node's pod CIDR and, on every containerPort, a real server (HTTP for
// TCP, a datagram responder for UDP) that answers CLUSTER/NODE/POD. The pod's
// status is then set Running and Ready like a kubelet would, so the real
// controllers (EndpointSlices, ReplicaSets) see real pods. A pod's readiness
// gates (spec.readinessGates) hold its Ready condition until another
// controller sets them True, as the kubelet does. Deleting a pod terminates it
// as a kubelet would (terminate.go): its servers keep serving while the
// containers' preStop hooks run (exec sleep, the sleep action, httpGet),
// within the termination grace period, then they stop and the pod object is
// removed; meanwhile kube-controller-manager's EndpointSlice controller shows
// the endpoint serving and terminating. The annotation fleetlb.test/ready:
// "false" marks a pod not ready while its servers keep answering, as a
// failing readiness probe would.
package nodeagent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
)

// ReadyAnnotation on a pod set to "false" makes the agent report the pod not
// ready (its servers keep running); any other value or none means ready.
const ReadyAnnotation = "fleetlb.test/ready"

// ClusterLabel is set on every Node to the cluster's name.
const ClusterLabel = "fleetlb.test/cluster"

// KubeletVersion is what the simulated nodes report as their kubelet version.
const KubeletVersion = "v1.37.2"

const (
	leaseDuration     = 40 * time.Second
	leaseRenewPeriod  = 10 * time.Second
	statusPeriod      = 30 * time.Second
	podCIDRPollPeriod = 100 * time.Millisecond
)

// Config describes one simulated node.
type Config struct {
	Cluster  string     // cluster name, the first part of every pod's identity
	NodeName string     // Node object name
	NodeIP   netip.Addr // InternalIP; must be a local (loopback) address
	// PodCIDR, when valid, is written into the Node at registration. Leave it
	// zero when kube-controller-manager's node IPAM assigns pod CIDRs; the
	// agent then waits for the assignment before it runs pods.
	PodCIDR netip.Prefix
	Labels  map[string]string // extra Node labels
	Client  kubernetes.Interface
	Logger  *slog.Logger
}

func (c *Config) validate() error {
	switch {
	case c.Client == nil:
		return errors.New("nodeagent: Config.Client is required")
	case c.NodeName == "":
		return errors.New("nodeagent: Config.NodeName is required")
	case !c.NodeIP.IsValid():
		return fmt.Errorf("nodeagent: node %s: Config.NodeIP is required", c.NodeName)
	case !c.NodeIP.Is4():
		return fmt.Errorf("nodeagent: node %s: NodeIP %s must be IPv4", c.NodeName, c.NodeIP)
	}
	return nil
}

// Agent runs one simulated node. Create it with New and call Run.
type Agent struct {
	cfg    Config
	log    *slog.Logger
	lister corelisters.PodLister
	queue  workqueue.TypedRateLimitingInterface[types.NamespacedName]

	mu    sync.Mutex
	alloc *ipAllocator
	pods  map[types.NamespacedName]*podRuntime

	terminations sync.WaitGroup // pods being terminated (terminate.go)
}

// podRuntime is what the agent runs for one pod.
type podRuntime struct {
	uid     types.UID
	ip      netip.Addr
	fromPod bool // ip is from the pod CIDR allocator (released on stop)
	servers *podServers
	started metav1.Time
	// terminating is set once the pod's deletion began: its preStop hooks run
	// and its servers serve until they end (terminate.go).
	terminating bool
}

// New checks cfg and returns an agent ready to Run.
func New(cfg Config) (*Agent, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Agent{
		cfg:  cfg,
		log:  log.With("node", cfg.NodeName),
		pods: map[types.NamespacedName]*podRuntime{},
	}, nil
}

// Run registers the node and serves it until ctx is cancelled; it returns
// after every pod server it started has stopped.
func (a *Agent) Run(ctx context.Context) error {
	if err := a.registerNode(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.heartbeat(ctx)
	}()

	prefix, err := a.waitPodCIDR(ctx)
	if err != nil {
		return err
	}
	alloc, err := newIPAllocator(prefix)
	if err != nil {
		return fmt.Errorf("node %s: %w", a.cfg.NodeName, err)
	}
	a.mu.Lock()
	a.alloc = alloc
	a.mu.Unlock()
	a.log.Info("node agent running", "nodeIP", a.cfg.NodeIP, "podCIDR", prefix)

	factory := informers.NewSharedInformerFactoryWithOptions(a.cfg.Client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", a.cfg.NodeName).String()
		}))
	podInformer := factory.Core().V1().Pods()
	a.lister = podInformer.Lister()
	a.queue = workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[types.NamespacedName](50*time.Millisecond, 5*time.Second),
		workqueue.TypedRateLimitingQueueConfig[types.NamespacedName]{Name: "nodeagent-" + a.cfg.NodeName})
	enqueue := func(obj any) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		if pod, ok := obj.(*corev1.Pod); ok {
			a.queue.Add(types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name})
		}
	}
	if _, err := podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
		DeleteFunc: enqueue,
	}); err != nil {
		return fmt.Errorf("node %s: watch pods: %w", a.cfg.NodeName, err)
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), podInformer.Informer().HasSynced) {
		a.queue.ShutDown()
		a.stopAll()
		return ctx.Err()
	}

	const workers = 4
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a.processNext(ctx) {
			}
		}()
	}
	<-ctx.Done()
	a.queue.ShutDown()
	wg.Wait()
	a.terminations.Wait()
	a.stopAll()
	return nil
}

func (a *Agent) processNext(ctx context.Context) bool {
	key, quit := a.queue.Get()
	if quit {
		return false
	}
	defer a.queue.Done(key)
	if err := a.syncPod(ctx, key); err != nil {
		if ctx.Err() == nil {
			a.log.Info("pod sync failed; retrying", "pod", key, "err", err)
		}
		a.queue.AddRateLimited(key)
		return true
	}
	a.queue.Forget(key)
	return true
}

// syncPod makes what runs for one pod match the pod, then reports its status.
func (a *Agent) syncPod(ctx context.Context, key types.NamespacedName) error {
	pod, err := a.lister.Pods(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(err) {
		a.stopPod(key, "")
		return nil
	}
	if err != nil {
		return err
	}
	if pod.Spec.NodeName != a.cfg.NodeName {
		a.stopPod(key, "") // not ours (a client that ignores the field selector)
		return nil
	}
	if pod.DeletionTimestamp != nil {
		if a.beginTermination(ctx, key, pod) {
			return nil // its preStop hooks run; the pod is removed when they end
		}
		a.stopPod(key, "")
		return a.removePod(ctx, pod)
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		a.stopPod(key, "")
		return nil
	}
	rt, startErr := a.ensureRunning(key, pod)
	status := a.podStatus(pod, rt, startErr)
	if !podStatusEqual(&pod.Status, status) {
		updated := pod.DeepCopy()
		updated.Status = *status
		if _, err := a.cfg.Client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("update pod status: %w", err)
		}
	}
	return startErr
}

// ensureRunning starts the pod's servers unless they already run for this pod UID.
func (a *Agent) ensureRunning(key types.NamespacedName, pod *corev1.Pod) (*podRuntime, error) {
	a.mu.Lock()
	rt := a.pods[key]
	a.mu.Unlock()
	if rt != nil && rt.uid == pod.UID {
		return rt, nil
	}
	if rt != nil {
		a.stopPod(key, rt.uid) // same name, new pod (e.g. a StatefulSet replica)
	}

	rt = &podRuntime{uid: pod.UID, started: metav1.Now().Rfc3339Copy()}
	if pod.Spec.HostNetwork {
		rt.ip = a.cfg.NodeIP
	} else {
		// Keep the address a pod already reports (an agent restart), else allocate.
		if prev, err := netip.ParseAddr(pod.Status.PodIP); err == nil && a.alloc.reserve(prev) {
			rt.ip = prev
		} else {
			ip, err := a.alloc.allocate()
			if err != nil {
				return nil, err
			}
			rt.ip = ip
		}
		rt.fromPod = true
	}
	identity := a.cfg.Cluster + "/" + a.cfg.NodeName + "/" + pod.Name
	servers, err := startPodServers(rt.ip, identity, containerPorts(pod))
	if err != nil {
		if rt.fromPod {
			a.alloc.release(rt.ip)
		}
		return nil, fmt.Errorf("start pod %s servers: %w", key, err)
	}
	rt.servers = servers
	a.mu.Lock()
	a.pods[key] = rt
	a.mu.Unlock()
	a.log.Info("pod started", "pod", key, "podIP", rt.ip)
	return rt, nil
}

// containerPorts lists the distinct ports of the pod's containers.
func containerPorts(pod *corev1.Pod) []PortSpec {
	seen := map[PortSpec]bool{}
	var out []PortSpec
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			ps := PortSpec{Protocol: string(p.Protocol), Port: p.ContainerPort}
			if ps.Protocol == "" {
				ps.Protocol = "TCP"
			}
			if !seen[ps] {
				seen[ps] = true
				out = append(out, ps)
			}
		}
	}
	return out
}

// stopPod stops the servers run for key (only if they belong to uid, when given).
func (a *Agent) stopPod(key types.NamespacedName, uid types.UID) {
	a.mu.Lock()
	rt := a.pods[key]
	if rt == nil || (uid != "" && rt.uid != uid) {
		a.mu.Unlock()
		return
	}
	delete(a.pods, key)
	a.mu.Unlock()
	rt.servers.stop()
	if rt.fromPod {
		a.alloc.release(rt.ip)
	}
	a.log.Info("pod stopped", "pod", key)
}

func (a *Agent) stopAll() {
	a.mu.Lock()
	keys := make([]types.NamespacedName, 0, len(a.pods))
	for k := range a.pods {
		keys = append(keys, k)
	}
	a.mu.Unlock()
	for _, k := range keys {
		a.stopPod(k, "")
	}
}

// waitPodCIDR returns the node's pod CIDR, waiting for node IPAM when it is not configured.
func (a *Agent) waitPodCIDR(ctx context.Context) (netip.Prefix, error) {
	if a.cfg.PodCIDR.IsValid() {
		return a.cfg.PodCIDR, nil
	}
	var prefix netip.Prefix
	err := wait.PollUntilContextCancel(ctx, podCIDRPollPeriod, true, func(ctx context.Context) (bool, error) {
		node, err := a.cfg.Client.CoreV1().Nodes().Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
		if err != nil || node.Spec.PodCIDR == "" {
			return false, nil
		}
		p, err := netip.ParsePrefix(node.Spec.PodCIDR)
		if err != nil {
			return false, fmt.Errorf("node %s has an invalid spec.podCIDR %q: %w", a.cfg.NodeName, node.Spec.PodCIDR, err)
		}
		prefix = p
		return true, nil
	})
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("node %s: waiting for a pod CIDR from node IPAM: %w", a.cfg.NodeName, err)
	}
	return prefix, nil
}

// registerNode creates the Node (Ready), or refreshes its status if it exists.
func (a *Agent) registerNode(ctx context.Context) error {
	labels := map[string]string{
		"kubernetes.io/hostname": a.cfg.NodeName,
		"kubernetes.io/os":       "linux",
		"kubernetes.io/arch":     runtime.GOARCH,
	}
	if a.cfg.Cluster != "" {
		labels[ClusterLabel] = a.cfg.Cluster
	}
	for k, v := range a.cfg.Labels {
		labels[k] = v
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: a.cfg.NodeName, Labels: labels},
		Status:     a.nodeStatus(nil),
	}
	if a.cfg.PodCIDR.IsValid() {
		node.Spec.PodCIDR = a.cfg.PodCIDR.String()
		node.Spec.PodCIDRs = []string{node.Spec.PodCIDR}
	}
	nodes := a.cfg.Client.CoreV1().Nodes()
	created, err := nodes.Create(ctx, node, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		created, err = nodes.Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
	}
	if err != nil {
		return fmt.Errorf("register node %s: %w", a.cfg.NodeName, err)
	}
	// Status on create is kept, but refresh it so an existing node is Ready too. The
	// node controllers (IPAM, lifecycle) write the fresh Node at the same moment, so a
	// conflict here is expected: read it again and retry.
	err = retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		created.Status = a.nodeStatus(created.Status.Conditions)
		updated, err := nodes.UpdateStatus(ctx, created, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			if fresh, getErr := nodes.Get(ctx, a.cfg.NodeName, metav1.GetOptions{}); getErr == nil {
				created = fresh
			}
			return err
		}
		if err == nil {
			created = updated
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("register node %s: set status: %w", a.cfg.NodeName, err)
	}
	// The kube-node-lease namespace may not exist yet on a fresh cluster;
	// the heartbeat retries.
	if err := a.renewLease(ctx, created); err != nil {
		a.log.Info("first lease renewal failed; will retry", "err", err)
	}
	return nil
}

// nodeStatus is the node's Ready status with fresh heartbeats; transition
// times are kept from prev where the condition did not change.
func (a *Agent) nodeStatus(prev []corev1.NodeCondition) corev1.NodeStatus {
	now := metav1.Now()
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("16"),
		corev1.ResourceMemory:           resource.MustParse("32Gi"),
		corev1.ResourcePods:             resource.MustParse("110"),
		corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
	}
	cond := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		c := corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
		for _, p := range prev {
			if p.Type == t && p.Status == s {
				c.LastTransitionTime = p.LastTransitionTime
			}
		}
		return c
	}
	return corev1.NodeStatus{
		Capacity:    capacity,
		Allocatable: capacity,
		Phase:       corev1.NodeRunning,
		Conditions: []corev1.NodeCondition{
			cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "simulated node"),
			cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "simulated node"),
			cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "simulated node"),
			cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "fleetlb node agent is serving"),
		},
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: a.cfg.NodeIP.String()},
			{Type: corev1.NodeHostName, Address: a.cfg.NodeName},
		},
		NodeInfo: corev1.NodeSystemInfo{
			MachineID:               a.cfg.NodeName,
			SystemUUID:              a.cfg.NodeName,
			BootID:                  a.cfg.NodeName,
			KernelVersion:           "simulated",
			OSImage:                 "fleetlb simulated node",
			ContainerRuntimeVersion: "fleetlb-nodeagent://1",
			KubeletVersion:          KubeletVersion,
			OperatingSystem:         "linux",
			Architecture:            runtime.GOARCH,
		},
	}
}

// heartbeat renews the node lease and refreshes the Ready condition until ctx ends.
func (a *Agent) heartbeat(ctx context.Context) {
	leaseTick := time.NewTicker(leaseRenewPeriod)
	defer leaseTick.Stop()
	statusTick := time.NewTicker(statusPeriod)
	defer statusTick.Stop()
	nodes := a.cfg.Client.CoreV1().Nodes()
	for {
		select {
		case <-ctx.Done():
			return
		case <-leaseTick.C:
			node, err := nodes.Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
			if err == nil {
				err = a.renewLease(ctx, node)
			}
			if err != nil && ctx.Err() == nil {
				a.log.Info("lease renewal failed", "err", err)
			}
		case <-statusTick.C:
			node, err := nodes.Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
			if err == nil {
				node.Status = a.nodeStatus(node.Status.Conditions)
				_, err = nodes.UpdateStatus(ctx, node, metav1.UpdateOptions{})
			}
			if err != nil && ctx.Err() == nil {
				a.log.Info("node status update failed", "err", err)
			}
		}
	}
}

func (a *Agent) renewLease(ctx context.Context, node *corev1.Node) error {
	leases := a.cfg.Client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(time.Now())
	seconds := int32(leaseDuration / time.Second)
	lease, err := leases.Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		lease = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{
				Name:      a.cfg.NodeName,
				Namespace: corev1.NamespaceNodeLease,
				OwnerReferences: []metav1.OwnerReference{{
					APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID,
				}},
			},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       &a.cfg.NodeName,
				LeaseDurationSeconds: &seconds,
				RenewTime:            &now,
			},
		}
		_, err = leases.Create(ctx, lease, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	lease.Spec.HolderIdentity = &a.cfg.NodeName
	lease.Spec.LeaseDurationSeconds = &seconds
	lease.Spec.RenewTime = &now
	_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
	return err
}
