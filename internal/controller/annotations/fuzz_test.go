package annotations

import (
	"slices"
	"strings"
	"testing"

	"github.com/fleetlb/fleetlb/internal/controller/model"
)

// FuzzParse (F4): any annotation values either parse or are refused with an error that names what
// is wrong; never a panic. What parses keeps within the API's ranges, and listener ports survive a
// format/parse round trip.
func FuzzParse(f *testing.F) {
	f.Add("5083f225-9bf8-48fa-9c8b-67bd9693c4c0", "performance", "true", "", "80", "member-only", "", "", "", "")
	f.Add("lb-1", "union", "true", "true", "0", "cascade", "LEAST_CONNECTIONS", "on",
		`{"protocol":"TCP","delay":"5","timeout":"3","max_retries":"3"}`, "80,443")
	f.Add("lb-1", "", "false", "false", "101", "x", "SOURCE_IP", "off", `{"delay":"0"}`, "0,65536")
	f.Add(" ", "performance", "TRUE", "yes", "-1", "", "round_robin", "", `{`, "80,,81")
	f.Fuzz(func(t *testing.T, elbID, class, multi, multiVPC, weight, recycle, algorithm, hcFlag, hcOption, ports string) {
		ann := map[string]string{}
		for k, v := range map[string]string{
			model.AnnotationELBID: elbID, model.AnnotationClass: class, model.AnnotationMultiCluster: multi,
			model.AnnotationMultiVPC: multiVPC, model.AnnotationWeight: weight, model.AnnotationRecyclePolicy: recycle,
			model.AnnotationAlgorithm: algorithm, model.AnnotationHealthCheckFlag: hcFlag,
			model.AnnotationHealthCheckOption: hcOption, model.AnnotationListenerPort: ports,
		} {
			if v != "" {
				ann[k] = v
			}
		}
		cfg, err := Parse(ann)
		if err != nil {
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatalf("Parse(%q) refused with an empty message", ann)
			}
			return
		}
		if w := cfg.Weight; w != nil && (*w < 0 || *w > 100) {
			t.Fatalf("Parse(%q) accepted weight %d, outside 0-100", ann, *w)
		}
		if hc := cfg.HealthCheck; hc != nil && (hc.Delay < 1 || hc.Delay > 50 || hc.Timeout < 1 || hc.Timeout > 50 || hc.MaxRetries < 1 || hc.MaxRetries > 10) {
			t.Fatalf("Parse(%q) accepted health check %+v outside the API's ranges", ann, *hc)
		}
	})
}

// FuzzParseListenerPorts (F4): the elb.listener-port list parses to ports 1-65535 that format back
// to a list parsing to the same set of ports, or is refused with a message.
func FuzzParseListenerPorts(f *testing.F) {
	for _, s := range []string{"80", "80,443", " 80 , 81 ", "0", "65536", "80,,81", "-1", "+80", "0x50", "8e1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		ports, err := ParseListenerPorts(v)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("ParseListenerPorts(%q) refused with an empty message", v)
			}
			return
		}
		for _, p := range ports {
			if p < 1 || p > 65535 {
				t.Fatalf("ParseListenerPorts(%q) accepted port %d", v, p)
			}
		}
		// Format writes them sorted and without repeats.
		want := slices.Compact(slices.Sorted(slices.Values(ports)))
		again, err := ParseListenerPorts(FormatListenerPorts(ports))
		if err != nil || !slices.Equal(again, want) {
			t.Fatalf("round trip of %q: %v -> %q -> %v, %v", v, ports, FormatListenerPorts(ports), again, err)
		}
	})
}
