package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/fleetlb/fleetlb/internal/common/fleetview"
	"github.com/fleetlb/fleetlb/internal/common/promtext"
)

// memberConnectionsMetric is elbd's counter of connections forwarded to each member (labelled
// member=<member ID>), from its data plane (internal/elbd/dataplane/metrics_linux.go); top
// measures shares with its growth over each refresh.
const memberConnectionsMetric = "elbd_member_connections_total"

func newTopCmd(g *globals) *cobra.Command {
	var ref listenerRef
	var listener, metricsURL string
	var interval time.Duration
	var count int
	cmd := &cobra.Command{
		Use:   "top (--listener ID | --lb LB --port PORT) [--interval 2s] [--metrics-url URL]",
		Short: "Refresh a listener's owners every interval, with the measured share of new connections where elbd reports it",
		Long: `top shows what "listener show" shows, refreshed every --interval. With --metrics-url (elbd's
Prometheus endpoint, http://<elbd --metrics-address>/metrics; default $ELBD_METRICS_URL) it adds
each owner's measured share: its members' part of the new connections elbd forwarded during the
last interval (elbd_member_connections_total). The real ELB has no such endpoint: there top shows
the expected shares and says measured shares are not available.`,
		Args: cobra.NoArgs,
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		var args []string
		if listener != "" {
			args = []string{listener}
		}
		if err := ref.check(cmd, args); err != nil {
			return err
		}
		if interval < 100*time.Millisecond {
			return usageErrorf("--interval %s: use 100ms or more", interval)
		}
		if !cmd.Flags().Changed("metrics-url") {
			metricsURL = g.getenv("ELBD_METRICS_URL")
		}
		if metricsURL != "" {
			if u, err := url.Parse(metricsURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return usageErrorf("--metrics-url %q must be a URL like http://127.0.0.1:9090/metrics", metricsURL)
			}
		}
		t := topLoop{g: g, ref: ref, metricsURL: metricsURL, timeout: g.Timeout}
		for i := 0; count == 0 || i < count; i++ {
			if i > 0 {
				select {
				case <-cmd.Context().Done():
					return nil
				case <-time.After(interval):
				}
			}
			if err := t.frame(cmd, interval); err != nil {
				return err
			}
		}
		return nil
	}
	f := cmd.Flags()
	f.StringVar(&listener, "listener", "", "listener ID")
	ref.addFlags(cmd)
	f.DurationVar(&interval, "interval", 2*time.Second, "time between refreshes; measured shares are over this interval")
	f.StringVar(&metricsURL, "metrics-url", "", "elbd's Prometheus endpoint, e.g. http://127.0.0.1:9090/metrics (default $ELBD_METRICS_URL)")
	f.IntVar(&count, "count", 0, "stop after this many refreshes (0: until interrupted)")
	return cmd
}

// topLoop keeps the counters of the previous refresh.
type topLoop struct {
	g          *globals
	ref        listenerRef
	metricsURL string
	timeout    time.Duration
	before     map[string]float64
}

// frame reads the listener and the counters once and prints them.
func (t *topLoop) frame(cmd *cobra.Command, interval time.Duration) error {
	f, err := t.g.fetchFleet(t.ref)
	if err != nil {
		return err
	}
	note := ""
	var counts map[string]float64
	switch after, err := t.scrape(cmd.Context()); {
	case t.metricsURL == "":
		note = "measured shares are not available: no --metrics-url (the real ELB reports no per-member counters; elbd does at http://<--metrics-address>/metrics)"
	case err != nil:
		note = "measured shares are not available: " + err.Error()
		t.before = nil
	case t.before == nil:
		note = fmt.Sprintf("measuring: the measured shares show from the next refresh (in %s)", interval)
		t.before = after
	default:
		counts = fleetview.CountDelta(t.before, after)
		t.before = after
	}
	v := f.view(counts)
	out := cmd.OutOrStdout()
	if t.g.output != outputTable {
		obj, err := fleetOutput(f, v)
		if err != nil {
			return err
		}
		if note != "" {
			obj["note"] = note
		}
		return t.g.print(cmd, obj, nil)
	}
	if isTerminal(out) {
		fmt.Fprint(out, "\033[H\033[2J") // a screen that refreshes in place
	}
	fmt.Fprintf(out, "%s  listener %s (%s %v)\n", time.Now().Format("15:04:05"), str(f.listener["id"]), str(f.listener["protocol"]), f.listener["protocol_port"])
	if err := writeFleet(out, f, v); err != nil {
		return err
	}
	if v.Measured {
		fmt.Fprintf(out, "measured: %s new connections in the last %s\n", fmtCount(v.TotalCount), interval)
	}
	if note != "" {
		fmt.Fprintln(out, note)
	}
	_, err = fmt.Fprintln(out)
	return err
}

func fmtCount(n float64) string { return fmt.Sprintf("%.0f", n) }

// scrape reads elbd's per-member connection counters (member ID → connections so far).
func (t *topLoop) scrape(ctx context.Context) (map[string]float64, error) {
	if t.metricsURL == "" {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	fams, err := promtext.Fetch(ctx, t.metricsURL)
	if err != nil {
		return nil, err
	}
	return memberConnections(fams)
}

// memberConnections reads elbd_member_connections_total by member.
func memberConnections(fams promtext.Families) (map[string]float64, error) {
	if _, ok := fams[memberConnectionsMetric]; !ok {
		return nil, fmt.Errorf("no %s there (is it elbd's metrics address?)", memberConnectionsMetric)
	}
	out := map[string]float64{}
	for _, s := range fams.Samples(memberConnectionsMetric) {
		if id := s.Labels["member"]; id != "" {
			out[id] += s.Value
		}
	}
	return out, nil
}

// isTerminal reports whether w is a terminal (top then redraws in place).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
