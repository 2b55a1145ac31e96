package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/fleetlb/fleetlb/internal/common/fleetops"
	"github.com/fleetlb/fleetlb/internal/controller/reconciler"
)

const decommissionCmd = "decommission"

// decommission is `fleetlb-controller decommission` (T16), run once when a cluster is retired,
// with the controller's own flags.
func decommission(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := &flags{}
	cmd := &cobra.Command{
		Use:   decommissionCmd + " [--cluster-id ID] --elb-endpoint URL --project-id ID [--deregistration-delay 15s]",
		Short: "Drain and remove all of this cluster's members and fleet records on every ELB of the project (run once when the cluster is retired)",
		Long: `decommission is run once when a cluster is retired, after its fleetlb-controller is stopped (else
it adds the members back). On every ELB of the project it sets this cluster's members to weight 0,
waits --deregistration-delay so that open connections end, then removes them and this cluster's
fleet records. Listeners and pools stay for the other clusters, and members without this cluster's
mark (VMs, other clusters') are never touched. Last, when the cluster's API can be reached, it
removes the finalizer from the Services this install bound, so that deleting them does not wait
for a controller that is gone. It prints what it does, and may be run again: a second run finds
nothing. The cluster ID is --cluster-id, else the one recorded in the cluster
(ConfigMap kube-system/fleetlb-cluster-id, read through --kubeconfig).`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.check(); err != nil {
				return err
			}
			id := f.clusterID
			if id == "" {
				var err error
				if id, err = recordedClusterID(cmd.Context(), f); err != nil {
					return err
				}
			}
			c, err := f.elbClient()
			if err != nil {
				return err
			}
			if err := c.Check(cmd.Context()); err != nil {
				return fmt.Errorf("the ELB API does not answer as expected; check --elb-endpoint, --project-id and HUAWEICLOUD_SDK_AK/HUAWEICLOUD_SDK_SK: %w", err)
			}
			fmt.Fprintf(stdout, "decommissioning cluster %s (make sure its fleetlb-controller is stopped)\n", id)
			if _, err := fleetops.Decommission(cmd.Context(), c, id, f.deregistrationDelay, stdout); err != nil {
				return err
			}
			return letGo(cmd.Context(), f, stdout)
		},
	}
	cmd.Flags().AddGoFlagSet(f.flagSet(stderr))
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	return cmd.ExecuteContext(ctx)
}

// letGo removes the finalizer from the Services this install bound, when the cluster's API can
// be reached (a retired cluster may be gone already: then it says what is left to do).
func letGo(ctx context.Context, f *flags, stdout io.Writer) error {
	cs, err := kubeClient(f)
	if err != nil {
		fmt.Fprintf(stdout, "the cluster's API cannot be reached (%v): Services it still has keep the finalizer %s; "+
			"run decommission again with --kubeconfig, or remove it by hand\n", err, reconciler.Finalizer)
		return nil
	}
	n, err := reconciler.LetGo(ctx, cs, f.loadBalancerClass, stdout)
	if err != nil {
		return fmt.Errorf("%w (the ELBs are done; run decommission again to finish)", err)
	}
	fmt.Fprintf(stdout, "%d Services let go (finalizer %s removed)\n", n, reconciler.Finalizer)
	return nil
}

func kubeClient(f *flags) (kubernetes.Interface, error) {
	cfg, err := restConfig(f.kubeconfig)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

// recordedClusterID reads the cluster ID the controller recorded in the cluster.
func recordedClusterID(ctx context.Context, f *flags) (string, error) {
	cs, err := kubeClient(f)
	if err != nil {
		return "", fmt.Errorf("no --cluster-id, and the recorded one cannot be read: %w", err)
	}
	key := reconciler.ClusterIDKeyFor(f.loadBalancerClass)
	cm, err := cs.CoreV1().ConfigMaps(metav1.NamespaceSystem).Get(ctx, reconciler.ClusterIDConfigMap, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("no --cluster-id, and the recorded one (ConfigMap kube-system/%s) cannot be read: %w; pass --cluster-id", reconciler.ClusterIDConfigMap, err)
	}
	if id := cm.Data[key]; id != "" {
		return id, nil
	}
	return "", fmt.Errorf("no --cluster-id, and ConfigMap kube-system/%s has no key %s; pass --cluster-id", reconciler.ClusterIDConfigMap, key)
}
