package install

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/elbclient/elbtest"
	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/controller/model"
	"github.com/fleetlb/fleetlb/internal/controller/reconciler"
	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
	"github.com/fleetlb/fleetlb/internal/testbed/localk8s"
	"github.com/fleetlb/fleetlb/internal/testbed/localk8s/childproc"
	"github.com/fleetlb/fleetlb/internal/testbed/localk8s/k8stest"
	"github.com/fleetlb/fleetlb/packaging/chart"
)

const (
	chartDir = "../../charts/fleetlb-controller"
	// releaseNS is where the test installs the chart: not kube-system, so that the bindings of
	// the Roles kept in kube-system (cluster ID, leader election) must name it.
	releaseNS = "fleetlb"
	saName    = "fleetlb-controller"
	secret    = "fleetlb-controller-credentials"

	ak, sk, project = "AK-install", "SK-install-secret", "project-install"
	wait            = 90 * time.Second
)

// rule is a permission, as RBAC grants it: ns "" is every namespace (or a cluster-scoped
// resource), name "" any name.
type rule struct {
	verbs                          []string
	group, resource, sub, ns, name string
	why                            string
}

var reads = []string{"get", "list", "watch"}

// needs is every call fleetlb-controller makes to the API server, by the code that makes it: the
// chart's RBAC must grant each, and nothing else (P4).
var needs = []rule{
	{reads, "", "services", "", "", "", "the Service informer (reconciler/setup.go) and the sweeper's List (reconciler/sweep.go)"},
	{[]string{"patch"}, "", "services", "", "", "", "finalizer and fleetlb.io annotations (reconciler.go, Patch)"},
	{[]string{"patch"}, "", "services", "status", "", "", "ingress and conditions (reconciler.go, Status().Patch)"},
	{reads, "discovery.k8s.io", "endpointslices", "", "", "", "ready endpoints (reconciler.go, informer)"},
	{reads, "", "nodes", "", "", "", "the nodes' addresses (reconciler.go, informer)"},
	{reads, "", "pods", "", "", "", "Pods behind the readiness gate (gate.go, informer)"},
	{[]string{"patch"}, "", "pods", "status", "", "", "the readiness gate's condition (gate.go, Status().Patch)"},
	{[]string{"get"}, "", "namespaces", "", "", "kube-system", "the default cluster ID (cluster.go)"},
	{[]string{"create", "patch"}, "events.k8s.io", "events", "", "", "", "Events on Services (controller-runtime's events.k8s.io recorder)"},
	{[]string{"create", "patch"}, "", "events", "", "", "", "leader-election Events (controller-runtime's core/v1 recorder)"},
	{[]string{"get", "update"}, "", "configmaps", "", "kube-system", reconciler.ClusterIDConfigMap, "cluster and install ID (clusterid.go, fleet.go)"},
	{[]string{"create"}, "", "configmaps", "", "kube-system", "", "the first start records the cluster ID (clusterid.go)"},
	{[]string{"get", "create", "update"}, "coordination.k8s.io", "leases", "", "kube-system", "", "leader election (client-go's LeaseLock: Get, Create, Update)"},
}

// refused is what the controller never does and must not be able to do.
var refused = []rule{
	{[]string{"list", "watch", "get"}, "", "secrets", "", "", "", "the credentials reach the Pod through the kubelet, not the API"},
	{[]string{"get"}, "", "secrets", "", releaseNS, secret, "not even its own credentials"},
	{[]string{"get", "list"}, "", "secrets", "", "kube-system", "", "no Secret of kube-system"},
	{[]string{"create", "delete", "update"}, "", "services", "", "", "", "it patches Services it is asked to bind, nothing else"},
	{[]string{"update"}, "", "services", "status", "", "", "status is patched"},
	{[]string{"create", "delete", "update"}, "", "pods", "", "", "", "it runs no workload"},
	{[]string{"update", "patch", "delete"}, "", "nodes", "", "", "", "nodes are read only"},
	{[]string{"create", "update", "delete"}, "discovery.k8s.io", "endpointslices", "", "", "", "endpoints are read only"},
	{[]string{"escalate", "bind", "create"}, "rbac.authorization.k8s.io", "clusterroles", "", "", "", "no way to more rights"},
	{[]string{"create"}, "rbac.authorization.k8s.io", "clusterrolebindings", "", "", "", "no way to more rights"},
	{[]string{"impersonate"}, "", "users", "", "", "", "no way to more rights"},
	{[]string{"create"}, "", "serviceaccounts", "token", releaseNS, saName, "no tokens"},
	{[]string{"get", "update"}, "", "configmaps", "", "kube-system", "kube-root-ca.crt", "only its own ConfigMap"},
	{[]string{"list", "delete"}, "", "configmaps", "", "kube-system", "", "only its own ConfigMap"},
	{[]string{"create"}, "", "configmaps", "", "default", "", "ConfigMaps only in kube-system"},
	{[]string{"create"}, "coordination.k8s.io", "leases", "", "default", "", "Leases only in the leader-election namespace"},
	{[]string{"delete", "list"}, "coordination.k8s.io", "leases", "", "kube-system", "", "leader election gets, creates and updates its Lease"},
	{[]string{"get"}, "", "namespaces", "", "", "default", "only kube-system's UID"},
	{[]string{"list", "delete"}, "", "namespaces", "", "", "", "only kube-system's UID"},
	{[]string{"delete", "update"}, "", "events", "", "", "", "Events are created and patched"},
	{[]string{"update", "delete"}, "apps", "deployments", "", "", "", "it does not manage itself"},
}

// attrs are the SubjectAccessReview attributes of r, one per verb.
func (r rule) attrs() []authorizationv1.ResourceAttributes {
	var out []authorizationv1.ResourceAttributes
	for _, v := range r.verbs {
		out = append(out, authorizationv1.ResourceAttributes{Verb: v, Group: r.group, Resource: r.resource, Subresource: r.sub, Namespace: r.ns, Name: r.name})
	}
	return out
}

func describe(a authorizationv1.ResourceAttributes) string {
	s := a.Verb + " " + a.Resource
	if a.Subresource != "" {
		s += "/" + a.Subresource
	}
	if a.Group != "" {
		s += "." + a.Group
	}
	if a.Name != "" {
		s += " " + a.Name
	}
	if a.Namespace != "" {
		return s + " in " + a.Namespace
	}
	return s + " (cluster-wide)"
}

// P3, P4: the chart installs into a real API server (every object accepted, strict field
// validation), its ServiceAccount may do what the controller does and nothing more, and the
// fleetlb-controller binary, run as the Deployment runs it (the ServiceAccount's token, the
// Secret's credentials), binds a Service beside a VM added by hand; uninstalling leaves the VM.
func TestInstall(t *testing.T) {
	top := t
	c := k8stest.Start(t, localk8s.Options{Name: "install", Nodes: 1})
	admin := c.RESTConfig()
	cs := c.Client()
	ctx := context.Background()
	apply, err := k8stest.NewApplier(admin)
	if err != nil {
		t.Fatal(err)
	}

	// elbd with the ELB the operator made and a listener with a VM added by hand.
	e := elbtest.Serve(t, elbdtest.ClusterCloud(ak, sk, project, c.Options().NodeCIDR, nil), elbtest.Options{})
	lb := e.LoadBalancer(t, store.FamilyV3, project, store.LoadBalancer{Name: "shared", VIPSubnetID: "subnet-vip"})
	sdk := e.Client(t, elbclient.Config{ProjectID: project, AK: ak, SK: sk, Timeout: 10 * time.Second, QPS: 1000, Burst: 1000})
	elb := sdk.API(elbrules.ClassPerformance)
	vm := elbclient.MemberSpec{Name: "ecs-1", Address: "127.251.0.11", Port: 8080, Weight: 10, SubnetID: "subnet-vm"}
	listenerID, poolID := elbtest.HandMade(t, elb, elbclient.ListenerSpec{LoadBalancerID: lb.ID, Name: "vm-web", Protocol: "TCP", Port: 8080}, "vm-web", vm)

	// What the operator does first: the namespace and the Secret the chart references
	// (docs/operators.md, Install step 2).
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: releaseNS}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Secrets(releaseNS).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: secret},
		StringData: map[string]string{"HUAWEICLOUD_SDK_AK": ak, "HUAWEICLOUD_SDK_SK": sk, "HUAWEICLOUD_SDK_PROJECT_ID": project,
			"HUAWEICLOUD_SDK_REGION": "cn-north-4", "HUAWEICLOUD_SDK_ELB_ENDPOINT": e.URL},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// The values: loopback addresses for the probes and metrics (the process runs on this
	// machine, not in a Pod), the kubeconfig of the ServiceAccount's token (in a Pod: its
	// mounted token), the nodes' subnet; everything else the chart's defaults.
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	probe, metrics := loopbackAddr(t), loopbackAddr(t)
	values := map[string]any{"flags": map[string]any{
		"kubeconfig": kubeconfig, "health-probe-bind-address": probe, "metrics-bind-address": metrics,
		"subnet-id": "subnet-nodes", "cluster-name": "install", "resync-period": "5s",
	}}

	var files map[string]string
	var dep appsv1.Deployment
	if !t.Run("P3 every object accepted", func(t *testing.T) {
		// The ServiceMonitor only where its CRD is served: not yet, so the values leave it out.
		if served(t, cs) {
			t.Fatal("ServiceMonitor served before its CRD was created")
		}
		var err error
		if files, err = chart.Render(chartDir, releaseNS, values); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(files["metrics.yaml"], "kind: ServiceMonitor") {
			t.Fatalf("ServiceMonitor rendered with serviceMonitor.enabled off:\n%s", files["metrics.yaml"])
		}
		crd, err := os.ReadFile("testdata/servicemonitors.yaml")
		if err != nil {
			t.Fatal(err)
		}
		crds, err := k8stest.Objects(string(crd))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := apply.Create(ctx, crds[0]); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the ServiceMonitor CRD served", func(context.Context) error {
			if !served(t, cs) {
				return errors.New("monitoring.coreos.com/v1 servicemonitors not served")
			}
			return nil
		})
		values["metrics"] = map[string]any{"serviceMonitor": map[string]any{"enabled": true}}
		if files, err = chart.Render(chartDir, releaseNS, values); err != nil {
			t.Fatal(err)
		}
		docs, err := chart.InstallOrder(files)
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]int{}
		for _, doc := range docs {
			objs, err := k8stest.Objects(doc)
			if err != nil || len(objs) != 1 {
				t.Fatalf("%v:\n%s", err, doc)
			}
			o := objs[0]
			if _, err := apply.Create(ctx, o); err != nil {
				t.Errorf("the API server refuses %s %s/%s: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
				continue
			}
			kinds[o.GetKind()]++
		}
		want := map[string]int{"ServiceAccount": 1, "ClusterRole": 1, "ClusterRoleBinding": 1, "Role": 2, "RoleBinding": 2,
			"Deployment": 1, "PodDisruptionBudget": 1, "Service": 1, "ServiceMonitor": 1}
		if fmt.Sprint(kinds) != fmt.Sprint(want) {
			t.Errorf("installed %v, want %v", kinds, want)
		}
		if err := yaml.UnmarshalStrict([]byte(files["deployment.yaml"]), &dep); err != nil {
			t.Fatal(err)
		}
		// The Secret reference: every key the Deployment reads is in the operator's Secret.
		s, err := cs.CoreV1().Secrets(releaseNS).Get(ctx, secret, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := containerEnv(dep.Spec.Template.Spec.Containers[0], s); err != nil {
			t.Error(err)
		}
		if dep.Spec.Template.Spec.ServiceAccountName != saName {
			t.Errorf("the Deployment runs as %q, not the chart's ServiceAccount %q", dep.Spec.Template.Spec.ServiceAccountName, saName)
		}
		// The Deployment's ReplicaSet makes its Pods with that ServiceAccount (admission accepts them).
		eventually(t, "the Deployment's Pods created", func(ctx context.Context) error {
			d, err := cs.AppsV1().Deployments(releaseNS).Get(ctx, "fleetlb-controller", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if d.Status.Replicas != *d.Spec.Replicas {
				return fmt.Errorf("%d of %d replicas", d.Status.Replicas, *d.Spec.Replicas)
			}
			return nil
		})
	}) {
		t.FailNow()
	}

	if !t.Run("P4 the ServiceAccount may do what the controller does and nothing more", func(t *testing.T) {
		var granted []authorizationv1.ResourceAttributes
		for _, r := range needs {
			granted = append(granted, r.attrs()...)
		}
		k8stest.WaitForRBAC(t, cs, releaseNS, saName, granted...)
		var matrix strings.Builder
		for _, set := range []struct {
			rules []rule
			want  bool
		}{{needs, true}, {refused, false}} {
			for _, r := range set.rules {
				for _, a := range r.attrs() {
					ok, err := k8stest.Allowed(ctx, cs, releaseNS, saName, a)
					if err != nil {
						t.Fatal(err)
					}
					verdict := map[bool]string{true: "allowed", false: "denied"}[ok]
					fmt.Fprintf(&matrix, "  %-7s %-55s %s\n", verdict, describe(a), r.why)
					if ok != set.want {
						t.Errorf("system:serviceaccount:%s:%s: %s is %s; want %s (%s)", releaseNS, saName, describe(a), verdict, map[bool]string{true: "allowed", false: "denied"}[set.want], r.why)
					}
				}
			}
		}
		t.Logf("SubjectAccessReviews as system:serviceaccount:%s:%s:\n%s", releaseNS, saName, matrix.String())
		// Nothing more: every rule the API server lists for the ServiceAccount, beyond what any
		// ServiceAccount of the namespace has, is one of needs.
		if _, err := cs.CoreV1().ServiceAccounts(releaseNS).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "nobody"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, ns := range []string{"default", "kube-system"} {
			extra := rulesOf(t, c, saName, ns)
			for k := range rulesOf(t, c, "nobody", ns) {
				delete(extra, k)
			}
			want := map[string]bool{}
			for _, r := range needs {
				if r.ns == "" || r.ns == ns {
					for _, a := range r.attrs() {
						want[grantKey(a.Verb, a.Group, a.Resource, a.Subresource, a.Name)] = true
					}
				}
			}
			for k := range extra {
				if !want[k] {
					t.Errorf("in namespace %s the chart grants %s, which fleetlb-controller never uses: remove it from charts/fleetlb-controller/templates/rbac.yaml (make manifests)", ns, k)
				}
			}
			for k := range want {
				if !extra[k] {
					t.Errorf("in namespace %s the API server lists no rule granting %s", ns, k)
				}
			}
		}
	}) {
		t.FailNow()
	}

	var proc *exec.Cmd
	var logf *os.File
	if !t.Run("P4 the binary binds a Service with the ServiceAccount's token", func(t *testing.T) {
		writeKubeconfig(t, c, kubeconfig, k8stest.ServiceAccountToken(t, cs, releaseNS, saName))
		bin := filepath.Join(t.TempDir(), "fleetlb-controller")
		build := exec.Command("go", "build", "-o", bin, "./cmd/fleetlb-controller")
		build.Dir = "../.."
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build: %v\n%s", err, out)
		}
		s, err := cs.CoreV1().Secrets(releaseNS).Get(ctx, secret, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		container := dep.Spec.Template.Spec.Containers[0]
		env, err := containerEnv(container, s)
		if err != nil {
			t.Fatal(err)
		}
		if logf, err = os.Create(filepath.Join(dir, "controller.log")); err != nil {
			t.Fatal(err)
		}
		proc = exec.Command(bin, expandArgs(container.Args, env)...)
		for k, v := range env {
			proc.Env = append(proc.Env, k+"="+v)
		}
		proc.Stdout, proc.Stderr = logf, logf
		if err := proc.Start(); err != nil {
			t.Fatal(err)
		}
		// Stopped at the end of the whole test: the uninstall below still needs it.
		top.Cleanup(func() {
			_ = proc.Process.Kill()
			_ = proc.Wait()
			if top.Failed() {
				t.Logf("the end of the controller's log:\n%s", childproc.Tail(logf.Name(), 40))
			}
		})

		if _, err := cs.AppsV1().Deployments("default").Create(ctx, localk8s.Deployment("web", "nginx", 2,
			corev1.ContainerPort{ContainerPort: 8080, Protocol: corev1.ProtocolTCP}), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		svc := seedService(t, lb.ID)
		if _, err := cs.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		nodes := map[string]bool{}
		for _, n := range c.Nodes() {
			nodes[n.IP.String()] = true
		}
		eventually(t, "the Service bound: its ingress IP and this cluster's members beside the VM", func(ctx context.Context) error {
			got, err := cs.CoreV1().Services("default").Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if ing := got.Status.LoadBalancer.Ingress; len(ing) != 1 || ing[0].IP != lb.VIPAddress {
				return fmt.Errorf("status.loadBalancer.ingress %+v, want the ELB's VIP %s", ing, lb.VIPAddress)
			}
			ms, err := elb.ListMembers(ctx, poolID)
			if err != nil {
				return err
			}
			var ours int
			for _, m := range ms {
				if nodes[m.Address] && m.Port == got.Spec.Ports[0].NodePort {
					ours++
				}
			}
			if ours != len(nodes) || !hasVM(ms, vm) || len(ms) != len(nodes)+1 {
				return fmt.Errorf("pool %s: want the VM and one member per node on NodePort %d", summary(ms), got.Spec.Ports[0].NodePort)
			}
			return nil
		})
		eventually(t, "an Event Applied on the Service", func(ctx context.Context) error {
			evs, err := cs.EventsV1().Events("default").List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			var reasons []string
			for _, ev := range evs.Items {
				if ev.Regarding.Name == "web" && ev.Reason == reconciler.ReasonApplied {
					return nil
				}
				reasons = append(reasons, ev.Regarding.Name+":"+ev.Reason)
			}
			return fmt.Errorf("no Event %s on Service web among %v", reconciler.ReasonApplied, reasons)
		})
		noRefusal(t, logf.Name())
	}) {
		t.FailNow()
	}

	t.Run("P4 uninstall leaves the VM", func(t *testing.T) {
		// docs/operators.md, Uninstalling: the Services first, while the controller runs.
		ctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		if err := apply.Delete(ctx, &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Service",
			"metadata": map[string]any{"name": "web", "namespace": "default"}}}); err != nil {
			t.Fatalf("delete the Service (its finalizer must go): %v", err)
		}
		ms, err := elb.ListMembers(ctx, poolID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 1 || !hasVM(ms, vm) {
			t.Errorf("after the Service's deletion the pool is %s; want only the VM", summary(ms))
		}
		// Then the release: the Deployment's deletion stops its Pods (SIGTERM; the leader gives
		// up its Lease), then the rest.
		docs, err := chart.UninstallOrder(files)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range docs {
			objs, err := k8stest.Objects(doc)
			if err != nil || len(objs) != 1 {
				t.Fatalf("%v:\n%s", err, doc)
			}
			o := objs[0]
			if err := apply.Delete(ctx, o); err != nil {
				t.Errorf("delete %s %s: %v", o.GetKind(), o.GetName(), err)
			}
			if o.GetKind() == "Deployment" {
				_ = proc.Process.Signal(syscall.SIGTERM)
				if err := proc.Wait(); err != nil {
					t.Errorf("fleetlb-controller after SIGTERM: %v", err)
				}
			}
		}
		ls, err := elb.ListListeners(ctx, lb.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ls) != 1 || ls[0].ID != listenerID {
			t.Errorf("listeners after uninstalling %+v; want the hand-made one", ls)
		}
		if ms, err = elb.ListMembers(ctx, poolID); err != nil || len(ms) != 1 || !hasVM(ms, vm) {
			t.Errorf("pool after uninstalling %s (%v); want the VM", summary(ms), err)
		}
		noRefusal(t, logf.Name())
	})
}

// seedService is the source document's Service beside VMs (its copy in
// internal/testbed/playground/seed, the annotations cmd/fleetlb-controller/README.md documents),
// on the ELB and the VMs' port.
func seedService(t *testing.T, elbID string) *corev1.Service {
	t.Helper()
	raw, err := os.ReadFile("../../internal/testbed/playground/seed/s3-cluster-a-with-ecs-weight-80.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var svc corev1.Service
	if err := yaml.Unmarshal(raw, &svc); err != nil {
		t.Fatal(err)
	}
	svc.Name = "web"
	svc.Annotations[model.AnnotationELBID] = elbID
	svc.Spec.Selector = map[string]string{"app": "web"}
	svc.Spec.Ports[0].Port, svc.Spec.Ports[0].TargetPort = 8080, intstr.FromInt32(8080)
	return &svc
}

// containerEnv is the environment the kubelet gives container: its values, and its Secret
// references resolved from s (the kubelet refuses to start it when a key is missing).
func containerEnv(container corev1.Container, s *corev1.Secret) (map[string]string, error) {
	env := map[string]string{}
	for _, v := range container.Env {
		switch ref := v.ValueFrom; {
		case ref == nil:
			env[v.Name] = v.Value
		case ref.SecretKeyRef != nil:
			if ref.SecretKeyRef.Name != s.Name {
				return nil, fmt.Errorf("env %s refers to Secret %q, not the chart's %q", v.Name, ref.SecretKeyRef.Name, s.Name)
			}
			val, ok := s.Data[ref.SecretKeyRef.Key]
			if !ok {
				return nil, fmt.Errorf("env %s: Secret %s has no key %s", v.Name, s.Name, ref.SecretKeyRef.Key)
			}
			env[v.Name] = string(val)
		default:
			return nil, fmt.Errorf("env %s: a source the test does not resolve: %+v", v.Name, ref)
		}
	}
	return env, nil
}

var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// expandArgs expands $(VAR) in args as the kubelet does: a variable of env is replaced, any
// other reference left as it is.
func expandArgs(args []string, env map[string]string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = varRef.ReplaceAllStringFunc(a, func(m string) string {
			if v, ok := env[m[2:len(m)-1]]; ok {
				return v
			}
			return m
		})
	}
	return out
}

// served tells whether the API server serves ServiceMonitors.
func served(t *testing.T, cs kubernetes.Interface) bool {
	t.Helper()
	rl, err := cs.Discovery().ServerResourcesForGroupVersion("monitoring.coreos.com/v1")
	if err != nil {
		return false
	}
	for _, r := range rl.APIResources {
		if r.Name == "servicemonitors" {
			return true
		}
	}
	return false
}

func grantKey(verb, group, resource, sub, name string) string {
	if sub != "" {
		resource += "/" + sub
	}
	if group != "" {
		resource += "." + group
	}
	if name != "" {
		resource += " " + name
	}
	return verb + " " + resource
}

// rulesOf is every resource permission the API server lists (SelfSubjectRulesReview, made as
// ServiceAccount releaseNS/sa by impersonation) in namespace ns, one key per verb and name.
func rulesOf(t *testing.T, c *localk8s.Cluster, sa, ns string) map[string]bool {
	t.Helper()
	cfg := c.RESTConfig()
	cfg.Impersonate.UserName, cfg.Impersonate.Groups = k8stest.ServiceAccountUser(releaseNS, sa)
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := cs.AuthorizationV1().SelfSubjectRulesReviews().Create(context.Background(),
		&authorizationv1.SelfSubjectRulesReview{Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: ns}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, rr := range r.Status.ResourceRules {
		names := rr.ResourceNames
		if len(names) == 0 {
			names = []string{""}
		}
		for _, v := range rr.Verbs {
			for _, g := range rr.APIGroups {
				for _, res := range rr.Resources {
					resource, sub, _ := strings.Cut(res, "/")
					for _, n := range names {
						out[grantKey(v, g, resource, sub, n)] = true
					}
				}
			}
		}
	}
	return out
}

// writeKubeconfig writes the kubeconfig a Pod's in-cluster configuration amounts to: the API
// server, its CA and the ServiceAccount's token.
func writeKubeconfig(t *testing.T, c *localk8s.Cluster, path, token string) {
	t.Helper()
	admin := c.RESTConfig()
	ca := admin.CAData
	if len(ca) == 0 && admin.CAFile != "" {
		var err error
		if ca, err = os.ReadFile(admin.CAFile); err != nil {
			t.Fatal(err)
		}
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["install"] = &clientcmdapi.Cluster{Server: admin.Host, CertificateAuthorityData: ca}
	cfg.AuthInfos[saName] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["install"] = &clientcmdapi.Context{Cluster: "install", AuthInfo: saName, Namespace: releaseNS}
	cfg.CurrentContext = "install"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
}

func hasVM(ms []elbclient.Member, vm elbclient.MemberSpec) bool {
	for _, m := range ms {
		if m.Name == vm.Name && m.Address == vm.Address && m.Port == vm.Port && m.Weight == vm.Weight {
			return true
		}
	}
	return false
}

func summary(ms []elbclient.Member) string {
	var s []string
	for _, m := range ms {
		s = append(s, fmt.Sprintf("%s %s:%d w=%d", m.Name, m.Address, m.Port, m.Weight))
	}
	sort.Strings(s)
	return "[" + strings.Join(s, ", ") + "]"
}

// loopbackAddr is a free address on 127.0.0.1 for a listener of the controller.
func loopbackAddr(t *testing.T) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(elbdtest.FreePort(t, "127.0.0.1")))
}

func eventually(t *testing.T, what string, f func(context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := f(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s: %v", what, wait, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// noRefusal fails t when the controller's log shows the API server refusing it a call (RBAC
// short of what it does).
func noRefusal(t *testing.T, log string) {
	t.Helper()
	b, err := os.ReadFile(log)
	if err != nil || len(b) == 0 {
		t.Fatalf("the controller's log is empty (%v)", err)
	}
	if strings.Contains(strings.ToLower(string(b)), "forbidden") {
		t.Errorf("the controller was refused a call; the end of its log:\n%s", childproc.Tail(log, 40))
	}
	t.Logf("the controller's log: %d lines, no refusal", strings.Count(string(b), "\n"))
}
