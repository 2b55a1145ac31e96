package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/fleetops"
	"github.com/fleetlb/fleetlb/internal/common/fleetrecord"
	"github.com/fleetlb/fleetlb/internal/common/ownership"
)

// elbctl fleet: the owners whose heartbeat stopped (T13) and removing what one of them left (T14).

func newFleetCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "fleet", Short: "Owner clusters of shared listeners: stale owners, reclaiming what a vanished cluster left"}
	cmd.AddCommand(fleetOrphansCmd(g), fleetReclaimCmd(g))
	return cmd
}

// elbClient is the shared ELB client (both families) with elbctl's connection settings.
func (g *globals) elbClient() (*elbclient.SDK, error) {
	if _, err := g.v3(); err != nil { // checks the settings, naming what is missing
		return nil, err
	}
	return elbclient.New(g.Config())
}

// fleetListeners reads the listeners of one ELB, or of every ELB in the project.
func (g *globals) fleetListeners(ctx context.Context, lb string) (*elbclient.SDK, []fleetops.Listener, error) {
	c, err := g.elbClient()
	if err != nil {
		return nil, nil, err
	}
	if lb != "" {
		ls, err := fleetops.Read(ctx, c, lb)
		return c, ls, err
	}
	ls, err := fleetops.All(ctx, c)
	return c, ls, err
}

// orphanJSON is one stale owner on one listener, for -o json.
type orphanJSON struct {
	LoadBalancer  string    `json:"loadbalancer_id"`
	Listener      string    `json:"listener_id"`
	Protocol      string    `json:"protocol"`
	Port          int32     `json:"protocol_port"`
	Cluster       string    `json:"cluster_id"`
	Weight        int       `json:"requested_weight"`
	LastHeartbeat time.Time `json:"last_heartbeat"`
	InstallID     string    `json:"install_id"`
	Members       []string  `json:"members"`
}

func fleetOrphansCmd(g *globals) *cobra.Command {
	var lb string
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "orphans [--lb LB] [--stale-after 10m]",
		Short: "List the owner clusters whose heartbeat is older than --stale-after, with their members, per listener",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ttl <= 0 {
				return usageErrorf("--stale-after %s: use a positive duration", ttl)
			}
			_, ls, err := g.fleetListeners(cmd.Context(), lb)
			if err != nil {
				return err
			}
			out := []orphanJSON{}
			for _, s := range fleetops.StaleOwners(ls, time.Now(), ttl) {
				o := orphanJSON{LoadBalancer: s.Listener.LB.ID, Listener: s.Listener.Listener.ID, Protocol: s.Listener.Listener.Protocol,
					Port: s.Listener.Listener.Port, Cluster: s.Record.ClusterID, Weight: s.Record.Weight, LastHeartbeat: s.Record.Heartbeat,
					InstallID: s.Record.InstallID, Members: []string{}}
				for _, m := range s.Members {
					o.Members = append(o.Members, fmt.Sprintf("%s:%d w=%d (%s)", m.Address, m.Port, m.Weight, m.ID))
				}
				out = append(out, o)
			}
			if g.output != outputTable {
				return g.print(cmd, out, nil)
			}
			if len(out) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "no stale owner (every recorded heartbeat is younger than %s)\n", ttl)
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "LOADBALANCER\tLISTENER\tPORT\tCLUSTER\tLAST HEARTBEAT\tWEIGHT\tMEMBERS")
			for _, o := range out {
				fmt.Fprintf(tw, "%s\t%s\t%s/%d\t%s\t%s (%s ago)\t%d\t%s\n", o.LoadBalancer, o.Listener, o.Protocol, o.Port, o.Cluster,
					o.LastHeartbeat.UTC().Format(time.RFC3339), time.Since(o.LastHeartbeat).Round(time.Second), o.Weight, strings.Join(o.Members, ", "))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&lb, "lb", "", "only this load balancer (default: every load balancer of the project)")
	cmd.Flags().DurationVar(&ttl, "stale-after", fleetrecord.DefaultTTL, "an owner whose heartbeat is older than this is stale (the controllers' --fleet-stale-after)")
	return cmd
}

func fleetReclaimCmd(g *globals) *cobra.Command {
	var lb, cluster string
	var ttl time.Duration
	var yes bool
	cmd := &cobra.Command{
		Use:   "reclaim --cluster ID [--lb LB] [--yes]",
		Short: "Remove a stale owner cluster's members and records from every listener (asks first; refuses a live owner)",
		Long: `reclaim removes, from every listener of the project (or of --lb), the members whose ownership
mark names cluster ID, and that cluster's fleet record. It refuses when the cluster has a
heartbeat younger than --stale-after anywhere (a live cluster: its controller would add them back,
and they serve), and never touches a member without that mark (VMs, other clusters'). It asks
for confirmation (y/N on stdin) unless --yes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := ownership.CheckClusterID(cluster); err != nil {
				return usageErrorf("--cluster: %v", err)
			}
			if ttl <= 0 {
				return usageErrorf("--stale-after %s: use a positive duration", ttl)
			}
			ctx := cmd.Context()
			c, ls, err := g.fleetListeners(ctx, lb)
			if err != nil {
				return err
			}
			now := time.Now()
			if l, live := fleetops.Live(ls, cluster, now, ttl); live {
				rec := l.Records[cluster]
				return fmt.Errorf("cluster %s is live: its heartbeat on %s is %s old, younger than --stale-after %s; reclaim removes only stale owners. Stop or decommission it first (fleetlb-controller decommission)",
					cluster, l.Name(), now.Sub(rec.Heartbeat).Round(time.Second), ttl)
			}
			var held []fleetops.Listener
			members := 0
			for _, l := range ls {
				_, rec := l.Records[cluster]
				if n := len(l.OwnedBy(cluster)); n > 0 || rec {
					held = append(held, l)
					members += n
				}
			}
			out := cmd.OutOrStdout()
			if len(held) == 0 {
				fmt.Fprintf(out, "nothing of cluster %s found: no member or record\n", cluster)
				return nil
			}
			for _, l := range held {
				fmt.Fprintf(out, "%s: %d members of cluster %s", l.Name(), len(l.OwnedBy(cluster)), cluster)
				if rec, ok := l.Records[cluster]; ok {
					fmt.Fprintf(out, ", record (last heartbeat %s)", rec.Heartbeat.UTC().Format(time.RFC3339))
				} else {
					fmt.Fprint(out, ", no record")
				}
				fmt.Fprintln(out)
			}
			if !yes {
				fmt.Fprintf(out, "Remove %d members of cluster %s and its records from %d listeners? [y/N] ", members, cluster, len(held))
				answer, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
					fmt.Fprintln(out, "nothing removed")
					return nil
				}
			}
			for _, l := range held {
				res, err := fleetops.RemoveOwner(ctx, c, l, cluster)
				if err != nil {
					return fmt.Errorf("%w (start reclaim again to finish: what is removed stays removed)", err)
				}
				fmt.Fprintf(out, "%s: %d members removed, record removed: %t\n", l.Name(), res.Members, res.RecordRemoved)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&cluster, "cluster", "", "the cluster ID whose members and records to remove (required)")
	cmd.Flags().StringVar(&lb, "lb", "", "only this load balancer (default: every load balancer of the project)")
	cmd.Flags().DurationVar(&ttl, "stale-after", fleetrecord.DefaultTTL, "a cluster with a heartbeat younger than this anywhere is live and refused")
	cmd.Flags().BoolVar(&yes, "yes", false, "do not ask for confirmation (for scripts)")
	return cmd
}
