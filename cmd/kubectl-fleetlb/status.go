package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/fleetops"
	"github.com/fleetlb/fleetlb/internal/common/fleetrecord"
	"github.com/fleetlb/fleetlb/internal/common/fleetview"
	"github.com/fleetlb/fleetlb/internal/controller/model"
	"github.com/fleetlb/fleetlb/internal/controller/reconciler"
)

func newStatusCmd(g *globals) *cobra.Command {
	var contexts []string
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "status --service NS/NAME [--context CTX ...]",
		Short: "Show a Service in each cluster (kubeconfig context) and the fleet view of its ELB listeners",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := g.read(cmd.Context(), contexts)
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), time.Now(), ttl)
		},
	}
	cmd.Flags().StringArrayVar(&contexts, "context", nil, "a kubeconfig context (one per cluster; repeat it); default: every context")
	cmd.Flags().DurationVar(&ttl, "stale-after", fleetrecord.DefaultTTL, "a record older than this is shown STALE")
	return cmd
}

// fleet is the Service in each cluster and its ELB's listeners.
type fleet struct {
	ns, name  string
	elbID     string
	clusters  []cluster
	services  []*corev1.Service // by cluster
	listeners []fleetops.Listener
	client    elbclient.Client
}

// read reads the Service in every context and its ELB.
func (g *globals) read(ctx context.Context, contexts []string) (*fleet, error) {
	ns, name, err := g.serviceRef()
	if err != nil {
		return nil, err
	}
	c, err := g.elb()
	if err != nil {
		return nil, err
	}
	cls, err := g.clusters(ctx, contexts)
	if err != nil {
		return nil, err
	}
	f := &fleet{ns: ns, name: name, clusters: cls, client: c}
	var ports []int32
	for _, cl := range cls {
		svc, err := cl.cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("context %s: Service %s/%s: %w", cl.context, ns, name, err)
		}
		id := strings.TrimSpace(svc.Annotations[model.AnnotationELBID])
		switch {
		case id == "":
			return nil, fmt.Errorf("context %s: Service %s/%s has no %s: it is not bound to an ELB", cl.context, ns, name, model.AnnotationELBID)
		case f.elbID != "" && id != f.elbID:
			return nil, fmt.Errorf("context %s: Service %s/%s is on ELB %s, but in context %s on ELB %s: they share no listener", cl.context, ns, name, id, f.clusters[0].context, f.elbID)
		}
		f.elbID = id
		f.services = append(f.services, svc)
		for _, p := range svc.Spec.Ports {
			if !slices.Contains(ports, p.Port) {
				ports = append(ports, p.Port)
			}
		}
	}
	if f.listeners, err = fleetops.Read(ctx, c, f.elbID, ports...); err != nil {
		return nil, err
	}
	return f, nil
}

// names maps each cluster ID to its context, for the view.
func (f *fleet) names() map[string]string {
	m := map[string]string{}
	for _, c := range f.clusters {
		m[c.id] = c.context
	}
	return m
}

// weight is the cluster weight a Service asks for: the annotation, else the last applied one.
func weight(svc *corev1.Service) string {
	if w, ok := svc.Annotations[model.AnnotationWeight]; ok {
		return strings.TrimSpace(w)
	}
	if w, ok := svc.Annotations[model.AnnotationAppliedWeight]; ok {
		return strings.TrimSpace(w) + " (applied)"
	}
	return "-"
}

func (f *fleet) print(w io.Writer, now time.Time, ttl time.Duration) error {
	fmt.Fprintf(w, "Service %s/%s on ELB %s\n\n", f.ns, f.name, f.elbID)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CONTEXT\tCLUSTER ID\tWEIGHT\tAPPLIED\tBOUND")
	for i, c := range f.clusters {
		svc := f.services[i]
		bound := "-"
		if cond := meta.FindStatusCondition(svc.Status.Conditions, reconciler.ConditionBound); cond != nil {
			bound = string(cond.Status) + " " + cond.Reason
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.context, c.id, weight(svc), orDash(svc.Annotations[model.AnnotationAppliedWeight]), bound)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, l := range f.listeners {
		fmt.Fprintf(w, "\n%s/%d (listener %s):\n", l.Listener.Protocol, l.Listener.Port, l.Listener.ID)
		owners := l.Judge(f.names(), now, ttl)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "OWNER\tMEMBERS\tREQUESTED\tREQUESTED SHARE\tEFFECTIVE\tSHARE\tHEALTH\tRECORD")
		for _, o := range owners {
			req, reqShare := strconv.Itoa(o.Requested), fleetview.Percent(o.RequestedShare)
			if !o.Recorded && o.Cluster {
				req += "?"
			}
			rec := "-"
			switch {
			case o.Recorded && o.Stale:
				rec = "STALE since " + o.Heartbeat.UTC().Format(time.RFC3339)
			case o.Recorded:
				rec = "heartbeat " + now.Sub(o.Heartbeat).Round(time.Second).String() + " ago"
			case o.Cluster:
				rec = "none (unknown request)"
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%s\t%s\t%s\n", o.Label(), o.Members, req, reqShare, o.Effective, fleetview.Percent(o.Expected), o.Health, rec)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if adv := fleetrecord.Advice(owners); adv != "" {
			for _, o := range owners {
				if o.Off() {
					fmt.Fprintf(w, "shares differ by more than %.0f pp from the requests; %s\n", 100*fleetrecord.Tolerance, adv)
					break
				}
			}
		}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
