package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/common/fleetops"
	"github.com/fleetlb/fleetlb/internal/common/fleetview"
	"github.com/fleetlb/fleetlb/internal/controller/model"
)

// shift moves weight from one cluster to another in steps (T17): each step sets both Services'
// weight annotation, then waits until the ELB follows — both clusters' member weights are what the
// weight rule gives for the new weights, the target's members are ONLINE, and the share the
// serving members give is within --tolerance of the share their weights ask for — before the
// next. When a step is not followed within --check-timeout, or on Ctrl-C, both weights go back to
// where they started.

// Step is one pair of weights: the from cluster's and the to cluster's.
type Step struct{ From, To int }

// Plan is the steps from (from, to) until from is 0: each moves step weight (the last what is
// left) from the first to the second, the second capped at the maximum weight.
func Plan(from, to, step int) []Step {
	var out []Step
	total := from + to
	for f := from; f > 0; {
		f = max(0, f-step)
		out = append(out, Step{From: f, To: min(elbrules.MaxWeight, total-f)})
	}
	return out
}

type shift struct {
	f               *fleet
	from, to        int // indexes into f.clusters / f.services
	step            int
	every, deadline time.Duration
	tolerance       float64 // 0.02 = 2 pp
	out             io.Writer
}

func newShiftCmd(g *globals) *cobra.Command {
	var from, to string
	s := &shift{}
	var tolerancePP float64
	cmd := &cobra.Command{
		Use:   "shift --service NS/NAME --from CTX --to CTX [--step 10] [--every 30s]",
		Short: "Move a Service's traffic from one cluster to another in steps, checking the ELB follows; roll back if not",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case from == "" || to == "":
				return fmt.Errorf("name both clusters: --from CTX --to CTX (kubeconfig contexts)")
			case from == to:
				return fmt.Errorf("--from and --to are both %q; name two clusters", from)
			case s.step < 1 || s.step > elbrules.MaxWeight:
				return fmt.Errorf("--step %d: use 1-%d", s.step, elbrules.MaxWeight)
			case s.every <= 0 || s.deadline <= 0:
				return fmt.Errorf("--every and --check-timeout must be positive")
			case tolerancePP < 0:
				return fmt.Errorf("--tolerance %v: use percentage points ≥ 0", tolerancePP)
			}
			s.tolerance = tolerancePP / 100
			f, err := g.read(cmd.Context(), []string{from, to})
			if err != nil {
				return err
			}
			s.f, s.from, s.to, s.out = f, 0, 1, cmd.OutOrStdout()
			return s.run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the context (cluster) whose weight goes down to 0")
	cmd.Flags().StringVar(&to, "to", "", "the context (cluster) whose weight goes up")
	cmd.Flags().IntVar(&s.step, "step", 10, "weight moved per step")
	cmd.Flags().DurationVar(&s.every, "every", 30*time.Second, "pause between steps, once the ELB followed the previous one")
	cmd.Flags().DurationVar(&s.deadline, "check-timeout", 2*time.Minute, "how long a step may take to show on the ELB before everything is rolled back")
	cmd.Flags().Float64Var(&tolerancePP, "tolerance", 2, "percentage points the share the serving members give may differ from what their weights ask")
	return cmd
}

// current is the weight a Service asks for now.
func current(svc *corev1.Service) (int, error) {
	v, ok := svc.Annotations[model.AnnotationWeight]
	if !ok {
		v, ok = svc.Annotations[model.AnnotationAppliedWeight]
	}
	w, err := strconv.Atoi(strings.TrimSpace(v))
	if !ok || err != nil || !elbrules.ValidWeight(w) {
		return 0, fmt.Errorf("the Service %s/%s has no usable %s (%q); set it first", svc.Namespace, svc.Name, model.AnnotationWeight, v)
	}
	return w, nil
}

func (s *shift) ctx(i int) string { return s.f.clusters[i].context }

func (s *shift) run(ctx context.Context) error {
	wf, err := current(s.f.services[s.from])
	if err != nil {
		return err
	}
	wt, err := current(s.f.services[s.to])
	if err != nil {
		return err
	}
	start := Step{From: wf, To: wt}
	plan := Plan(wf, wt, s.step)
	if len(plan) == 0 {
		fmt.Fprintf(s.out, "nothing to move: %s already has weight 0 (%s has %d)\n", s.ctx(s.from), s.ctx(s.to), wt)
		return nil
	}
	if err := s.check(ctx, start, true); err != nil {
		return fmt.Errorf("not started, nothing changed: %w", err)
	}
	fmt.Fprintf(s.out, "shifting %s/%s from %s to %s: %d:%d to %d:%d in %d steps\n", s.f.ns, s.f.name, s.ctx(s.from), s.ctx(s.to), wf, wt, plan[len(plan)-1].From, plan[len(plan)-1].To, len(plan))
	for i, st := range plan {
		if err := s.apply(ctx, st); err != nil {
			return s.rollback(start, fmt.Errorf("step %d (%d:%d): %w", i+1, st.From, st.To, err))
		}
		if err := s.wait(ctx, st); err != nil {
			return s.rollback(start, fmt.Errorf("step %d (%d:%d): %w", i+1, st.From, st.To, err))
		}
		fmt.Fprintf(s.out, "step %d/%d: %s %d, %s %d — followed by the ELB\n", i+1, len(plan), s.ctx(s.from), st.From, s.ctx(s.to), st.To)
		if i == len(plan)-1 {
			break
		}
		select {
		case <-time.After(s.every):
		case <-ctx.Done():
			return s.rollback(start, fmt.Errorf("interrupted after step %d", i+1))
		}
	}
	fmt.Fprintf(s.out, "done: %s %d, %s %d\n", s.ctx(s.from), plan[len(plan)-1].From, s.ctx(s.to), plan[len(plan)-1].To)
	return nil
}

// apply sets both weights: the target's first, so that the pool never loses capacity.
func (s *shift) apply(ctx context.Context, st Step) error {
	if err := s.setWeight(ctx, s.to, st.To); err != nil {
		return err
	}
	return s.setWeight(ctx, s.from, st.From)
}

func (s *shift) setWeight(ctx context.Context, i, w int) error {
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{model.AnnotationWeight: strconv.Itoa(w)}}})
	c := s.f.clusters[i]
	if _, err := c.cs.CoreV1().Services(s.f.ns).Patch(ctx, s.f.name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("set %s=%d on Service %s/%s in context %s: %w", model.AnnotationWeight, w, s.f.ns, s.f.name, c.context, err)
	}
	return nil
}

// rollback puts both weights back to start (with its own time: ctx may be the interrupted one).
func (s *shift) rollback(start Step, why error) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fmt.Fprintf(s.out, "%v; rolling back to %s %d, %s %d\n", why, s.ctx(s.from), start.From, s.ctx(s.to), start.To)
	if err := s.apply(ctx, start); err != nil {
		return fmt.Errorf("%v; the roll-back failed too, set the weights by hand: %w", why, err)
	}
	if err := s.wait(ctx, start); err != nil {
		fmt.Fprintf(s.out, "rolled back the weights; the ELB has not followed yet: %v\n", err)
	}
	return fmt.Errorf("%v; rolled back to %d:%d", why, start.From, start.To)
}

// wait polls the ELB until it follows st, or the check timeout.
func (s *shift) wait(ctx context.Context, st Step) error {
	deadline := time.Now().Add(s.deadline)
	for {
		err := s.check(ctx, st, false)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the ELB did not follow within %s: %w", s.deadline, err)
		}
		select {
		case <-time.After(500 * time.Millisecond):
		case <-ctx.Done():
			return fmt.Errorf("interrupted while waiting for the ELB: %w", err)
		}
	}
}

// check reads the pool and says how it differs from st; before the first step (onlyTarget) only
// the target's members are checked.
func (s *shift) check(ctx context.Context, st Step, onlyTarget bool) error {
	var ports []int32
	for _, l := range s.f.listeners {
		ports = append(ports, l.Listener.Port)
	}
	ls, err := fleetops.Read(ctx, s.f.client, s.f.elbID, ports...)
	if err != nil {
		return err
	}
	var problems []string
	for _, l := range ls {
		name := fmt.Sprintf("%s/%d", l.Listener.Protocol, l.Listener.Port)
		for _, side := range []struct {
			i, w int
		}{{s.to, st.To}, {s.from, st.From}} {
			c := s.f.clusters[side.i]
			var carried, members, notOnline int
			for _, m := range l.Members {
				if fleetops.Owner(m) != c.id {
					continue
				}
				members++
				carried += m.Weight
				if m.OperatingStatus != "ONLINE" && m.OperatingStatus != "NO_MONITOR" {
					notOnline++
				}
			}
			if side.i == s.to {
				switch {
				case members == 0:
					problems = append(problems, fmt.Sprintf("%s: %s has no member in the pool", name, c.context))
				case notOnline > 0:
					problems = append(problems, fmt.Sprintf("%s: %d of %s's %d members are not ONLINE", name, notOnline, c.context, members))
				}
			}
			if onlyTarget {
				continue
			}
			// R2/R3: each member's ceil(W×k/n) adds less than 1 to W: W ≤ sum ≤ W+members-1.
			if side.w == 0 && carried != 0 || side.w > 0 && (carried < side.w || carried > side.w+members-1) {
				problems = append(problems, fmt.Sprintf("%s: %s's members weigh %d in all, not yet what weight %d gives", name, c.context, carried, side.w))
			}
		}
		if onlyTarget {
			continue
		}
		// The share the serving members give against the share the member weights ask for.
		owners := l.Judge(s.f.names(), time.Now(), time.Hour)
		total := 0
		for _, o := range owners {
			total += o.Carried
		}
		for _, o := range owners {
			if total == 0 {
				break
			}
			asked := float64(o.Carried) / float64(total)
			if math.Abs(o.Expected-asked) > s.tolerance {
				problems = append(problems, fmt.Sprintf("%s: %s gets %s of the traffic, its weights ask %s", name, o.Label(), fleetview.Percent(o.Expected), fleetview.Percent(asked)))
			}
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}
