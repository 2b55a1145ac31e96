package promtext

import (
	"strings"
	"testing"
)

func TestParseSamplesSum(t *testing.T) {
	text := `# TYPE a_total counter
a_total{op="x",code="200"} 3
a_total{op="x",code="500"} 1
a_total{op="y",code="200"} 5
# TYPE g gauge
g 7
# TYPE h_seconds histogram
h_seconds_bucket{le="+Inf"} 4
h_seconds_sum 1
h_seconds_count 4
`
	f, err := Parse(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		match map[string]string
		want  float64
	}{
		{"a_total", map[string]string{"op": "x"}, 4},
		{"a_total", map[string]string{"code": "200"}, 8},
		{"a_total", nil, 9},
		{"g", nil, 7},
		{"h_seconds", nil, 4},
		{"absent", nil, 0},
	} {
		if got := f.Sum(c.name, c.match); got != c.want {
			t.Errorf("Sum(%s, %v) = %v, want %v", c.name, c.match, got, c.want)
		}
	}
	if _, err := Parse(strings.NewReader("not { metrics")); err == nil {
		t.Error("garbage parsed")
	}
}
