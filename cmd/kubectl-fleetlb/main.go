// Command kubectl-fleetlb is a kubectl plugin (`kubectl fleetlb ...`, T17): it reads one Service
// across several kubeconfig contexts (one per cluster) and the ELB they share, prints the fleet
// view (status), and moves traffic from one cluster to another in steps (shift).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/elbflags"
	"github.com/fleetlb/fleetlb/internal/common/version"
	"github.com/fleetlb/fleetlb/internal/controller/reconciler"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd(os.Getenv).ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

// globals are the flags every command shares.
type globals struct {
	kubeconfig string
	service    string
	elbflags.Flags
}

func newRootCmd(getenv func(string) string) *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "kubectl-fleetlb",
		Short: "See and move the traffic of a Service that several clusters share through one ELB",
		Long: `kubectl fleetlb reads a Service across several kubeconfig contexts (one per cluster) and the ELB
their fleetlb-controllers share, and moves traffic between them.

ELB credentials as elbctl's: ` + elbflags.Help + `.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version.Get().String("kubectl-fleetlb"), // P1: --version
	}
	root.SetVersionTemplate("{{.Version}}\n")
	f := root.PersistentFlags()
	f.StringVar(&g.kubeconfig, "kubeconfig", "", "kubeconfig file(s) (default: $KUBECONFIG or ~/.kube/config)")
	f.StringVar(&g.service, "service", "", "the Service, NAMESPACE/NAME (required)")
	g.Flags.Add(f)
	root.PersistentPreRun = func(cmd *cobra.Command, _ []string) { g.FromEnv(cmd.Flags(), getenv) }
	root.AddCommand(newStatusCmd(g), newShiftCmd(g))
	return root
}

// serviceRef splits --service.
func (g *globals) serviceRef() (ns, name string, err error) {
	ns, name, ok := strings.Cut(g.service, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("--service %q: give NAMESPACE/NAME, e.g. --service default/nginx", g.service)
	}
	return ns, name, nil
}

// elb is the ELB client of the credentials given.
func (g *globals) elb() (*elbclient.SDK, error) {
	if err := g.Missing(); err != nil {
		return nil, fmt.Errorf("%w: the ELB is read to show and check the shares", err)
	}
	return elbclient.New(g.Config())
}

// cluster is one kubeconfig context: its client and the cluster ID its controller records.
type cluster struct {
	context string
	cs      kubernetes.Interface
	id      string
}

// clusters opens the named contexts (every context of the kubeconfig when none is named).
func (g *globals) clusters(ctx context.Context, names []string) ([]cluster, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if g.kubeconfig != "" {
		rules.ExplicitPath = ""
		rules.Precedence = strings.Split(g.kubeconfig, string(os.PathListSeparator))
	}
	raw, err := rules.Load()
	if err != nil {
		return nil, fmt.Errorf("read the kubeconfig: %w", err)
	}
	if len(names) == 0 {
		for n := range raw.Contexts {
			names = append(names, n)
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("the kubeconfig has no context; name clusters with --context")
		}
		slices.Sort(names)
	}
	var out []cluster
	for _, n := range names {
		if _, ok := raw.Contexts[n]; !ok {
			return nil, fmt.Errorf("context %q is not in the kubeconfig (it has %s)", n, strings.Join(contextNames(raw.Contexts), ", "))
		}
		cfg, err := clientcmd.NewNonInteractiveClientConfig(*raw, n, &clientcmd.ConfigOverrides{}, rules).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("context %s: %w", n, err)
		}
		cfg.Timeout = g.Timeout
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return nil, fmt.Errorf("context %s: %w", n, err)
		}
		id, err := clusterID(ctx, cs)
		if err != nil {
			return nil, fmt.Errorf("context %s: %w", n, err)
		}
		out = append(out, cluster{context: n, cs: cs, id: id})
	}
	return out, nil
}

// clusterID is the ID the cluster's controller names its members with: the one it recorded
// (ConfigMap kube-system/fleetlb-cluster-id), else the kube-system namespace UID (its default).
func clusterID(ctx context.Context, cs kubernetes.Interface) (string, error) {
	cm, err := cs.CoreV1().ConfigMaps(metav1.NamespaceSystem).Get(ctx, reconciler.ClusterIDConfigMap, metav1.GetOptions{})
	if err == nil && cm.Data[reconciler.ClusterIDKey] != "" {
		return cm.Data[reconciler.ClusterIDKey], nil
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return "", fmt.Errorf("read ConfigMap kube-system/%s: %w", reconciler.ClusterIDConfigMap, err)
	}
	return reconciler.DefaultClusterID(ctx, cs)
}

func contextNames[V any](m map[string]V) []string {
	var out []string
	for n := range m {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
