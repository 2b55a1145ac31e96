package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

// Output formats (-o).
const (
	outputTable = "table"
	outputJSON  = "json"
	outputYAML  = "yaml"
)

var outputFormats = []string{outputTable, outputJSON, outputYAML}

// statusTree is a status tree that prints as an indented outline in table mode.
type statusTree struct{ root any }

// print writes v (an SDK model value, or a slice of them) as JSON or YAML, or as a
// table of the given JSON fields: one row per element for a slice, one
// "FIELD VALUE" line per field for a single object; a statusTree as an outline.
func (g *globals) print(cmd *cobra.Command, v any, fields []string) error {
	out := cmd.OutOrStdout()
	tree, isTree := v.(statusTree)
	if isTree {
		v = tree.root
	}
	switch g.output {
	case outputJSON:
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "%s\n", b)
		return err
	case outputYAML:
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if b, err = yaml.JSONToYAML(b); err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "---\n%s", b)
		return err
	}
	generic, err := toGeneric(v)
	if err != nil {
		return err
	}
	if isTree {
		printTree(out, "loadbalancer", generic, 0)
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	switch t := generic.(type) {
	case []any:
		fmt.Fprintln(tw, strings.ToUpper(strings.Join(fields, "\t")))
		for _, row := range t {
			obj, _ := row.(map[string]any)
			cells := make([]string, len(fields))
			for i, f := range fields {
				cells[i] = cell(obj[f])
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		}
	case map[string]any:
		for _, f := range fields {
			fmt.Fprintf(tw, "%s\t%s\n", f, cell(t[f]))
		}
	default:
		fmt.Fprintln(tw, cell(t))
	}
	return tw.Flush()
}

// toGeneric turns an SDK model (whose enums marshal themselves) into plain JSON values.
func toGeneric(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var out any
	err = d.Decode(&out)
	return out, err
}

// cell renders one value: scalars as they are, lists of {"id":...} as their ids.
func cell(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case json.Number:
		return t.String()
	case bool:
		return fmt.Sprint(t)
	case []any:
		parts := make([]string, 0, len(t))
		for _, e := range t {
			if m, ok := e.(map[string]any); ok && len(m) == 1 && m["id"] != nil {
				parts = append(parts, cell(m["id"]))
			} else {
				parts = append(parts, cell(e))
			}
		}
		return strings.Join(parts, ",")
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, k+"="+cell(t[k]))
		}
		return strings.Join(parts, ",")
	default:
		return fmt.Sprint(t)
	}
}

// deleted confirms a successful deletion: a line, or {"kind", "id", "deleted": true} with -o json/yaml.
func (g *globals) deleted(cmd *cobra.Command, kind, id string, err error) (result, error) {
	if err != nil {
		return result{}, err
	}
	if g.output != outputTable {
		return result{value: map[string]any{"kind": kind, "id": id, "deleted": true}}, nil
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s %s deleted\n", kind, id)
	return result{}, nil
}

// describeError turns SDK errors into one line an operator can act on.
func describeError(err error) string {
	var se *sdkerr.ServiceResponseError
	if errors.As(err, &se) {
		msg := fmt.Sprintf("the ELB API refused the call: HTTP %d", se.StatusCode)
		if se.ErrorCode != "" {
			msg += " " + se.ErrorCode
		}
		if se.ErrorMessage != "" {
			msg += ": " + se.ErrorMessage
		}
		if se.RequestId != "" {
			msg += " (request_id " + se.RequestId + ")"
		}
		return msg
	}
	var ce *sdkerr.ConnectionError
	if errors.As(err, &ce) {
		return "cannot reach the ELB API (check --endpoint / ELB_ENDPOINT): " + ce.Error()
	}
	var te *sdkerr.RequestTimeoutError
	if errors.As(err, &te) {
		return "the ELB API did not answer in time (raise --timeout?): " + te.Error()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Sprintf("the ELB API at %s did not answer in time (raise --timeout?)", ue.URL)
		}
		return fmt.Sprintf("cannot reach the ELB API (check --endpoint / ELB_ENDPOINT): %v", ue.Err)
	}
	return err.Error()
}

// printTree writes one line per node: kind, id, name or address, operating status; children indented.
func printTree(w io.Writer, kind string, node any, depth int) {
	obj, ok := node.(map[string]any)
	if !ok {
		return
	}
	label := cell(obj["name"])
	if label == "" {
		label = "-"
	}
	if addr := cell(obj["address"]); addr != "" {
		label = fmt.Sprintf("%s:%s", addr, cell(obj["protocol_port"]))
	}
	fmt.Fprintf(w, "%s%s %s %s %s\n", strings.Repeat("  ", depth), kind, cell(obj["id"]), label, cell(obj["operating_status"]))
	for _, child := range []struct{ key, kind string }{{"listeners", "listener"}, {"pools", "pool"}, {"members", "member"}} {
		list, _ := obj[child.key].([]any)
		for _, c := range list {
			printTree(w, child.kind, c, depth+1)
		}
	}
	if hm, ok := obj["healthmonitor"].(map[string]any); ok && hm["id"] != nil {
		fmt.Fprintf(w, "%shealthmonitor %s %s\n", strings.Repeat("  ", depth+1), cell(hm["id"]), cell(hm["type"]))
	}
}
