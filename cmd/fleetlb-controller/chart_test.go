package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"testing"

	"sigs.k8s.io/yaml"
)

const chartDir = "../../charts/fleetlb-controller/"

// jsonType is the values.schema.json type of a flag's value.
func jsonType(f *flag.Flag) string {
	switch fmt.Sprintf("%T", f.Value) {
	case "*flag.boolValue":
		return "boolean"
	case "*flag.intValue", "*flag.int64Value", "*flag.uintValue", "*flag.uint64Value":
		return "integer"
	case "*flag.float64Value":
		return "number"
	}
	return "string" // strings, durations, flag.Func
}

// P2: the chart has a value for every flag of the controller, with the code's default (or the
// chart's, chartDefaults), and values.schema.json types each; a flag added later fails here until
// the chart has it.
func TestChartHasAValueForEveryFlag(t *testing.T) {
	var values struct {
		Flags map[string]any `json:"flags"`
	}
	raw, err := os.ReadFile(chartDir + "values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &values); err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties struct {
			Flags struct {
				Properties map[string]struct {
					Type any `json:"type"`
				} `json:"properties"`
			} `json:"flags"`
		} `json:"properties"`
	}
	raw, err = os.ReadFile(chartDir + "values.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	fs := (&flags{}).flagSet(io.Discard)
	seen := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) {
		seen[f.Name] = true
		v, ok := values.Flags[f.Name]
		if !ok {
			t.Errorf("charts/fleetlb-controller/values.yaml has no flags.%s: add it with the default %q (and its type, %s, to values.schema.json)", f.Name, f.DefValue, jsonType(f))
			return
		}
		want := f.DefValue
		if d, ok := chartDefaults[f.Name]; ok {
			want = d
		}
		if got := fmt.Sprint(v); want != "" && got != want {
			t.Errorf("values.yaml flags.%s is %q, the controller's default %q: make them equal (or list it in chartDefaults with the reason)", f.Name, got, want)
		}
		p, ok := schema.Properties.Flags.Properties[f.Name]
		if !ok {
			t.Errorf("charts/fleetlb-controller/values.schema.json has no properties.flags.properties.%s: add {\"type\": %q}", f.Name, jsonType(f))
		} else if p.Type != jsonType(f) {
			t.Errorf("values.schema.json types flags.%s %v; the flag takes a %s", f.Name, p.Type, jsonType(f))
		}
	})
	var extra []string
	for name := range values.Flags {
		if !seen[name] {
			extra = append(extra, name)
		}
	}
	for name := range schema.Properties.Flags.Properties {
		if !seen[name] {
			extra = append(extra, name+" (schema)")
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("the chart has values for flags the controller does not have: %v; remove them", extra)
	}
}
