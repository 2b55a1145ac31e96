// Package promtext reads a Prometheus /metrics endpoint: elbctl top reads elbd's per-member
// connection counters with it, and the tests check that a metric moved after an action.
package promtext

import (
	"context"
	"fmt"
	"io"
	"net/http"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Families are the metric families of one scrape, by name.
type Families map[string]*dto.MetricFamily

// Parse reads the Prometheus text format.
func Parse(r io.Reader) (Families, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("not Prometheus metrics: %w", err)
	}
	return fams, nil
}

// Fetch scrapes url.
func Fetch(ctx context.Context, url string) (Families, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered HTTP %d", url, resp.StatusCode)
	}
	return Parse(resp.Body)
}

// Sample is one series' labels and value: a counter's or gauge's value, a histogram's count.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// Samples are the series of the family name (none when it is absent).
func (f Families) Samples(name string) []Sample {
	var out []Sample
	for _, m := range f[name].GetMetric() {
		s := Sample{Labels: map[string]string{}}
		for _, l := range m.GetLabel() {
			s.Labels[l.GetName()] = l.GetValue()
		}
		switch {
		case m.Counter != nil:
			s.Value = m.GetCounter().GetValue()
		case m.Gauge != nil:
			s.Value = m.GetGauge().GetValue()
		case m.Histogram != nil:
			s.Value = float64(m.GetHistogram().GetSampleCount())
		case m.Untyped != nil:
			s.Value = m.GetUntyped().GetValue()
		}
		out = append(out, s)
	}
	return out
}

// Sum adds the values of the series of name that carry every label in match.
func (f Families) Sum(name string, match map[string]string) float64 {
	total := 0.0
	for _, s := range f.Samples(name) {
		ok := true
		for k, v := range match {
			ok = ok && s.Labels[k] == v
		}
		if ok {
			total += s.Value
		}
	}
	return total
}
