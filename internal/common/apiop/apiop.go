// Package apiop names an ELB API call for metrics: its method and path with the project and every
// resource ID left out, e.g. "GET /v3/elb/listeners/{id}". The controller (the calls it makes) and
// elbd (the calls it serves) use the same names, so that a dashboard can put them side by side,
// and the names are few (one per API operation), as Prometheus label values must be.
package apiop

import (
	"strings"
)

// Name is the operation of a request to path with method. A path segment that holds a digit is
// an ID (the ELB's IDs are UUIDs, projects 32 hex digits); the API's own words have none. The
// version (v2, v3, v2.0) is kept; the project, the segment after it, is left out (the VPC API's
// v2.0 paths have none).
func Name(method, path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		switch {
		case i == 1 && strings.ContainsAny(s, "0123456789"):
			continue // the project ID
		case i > 1 && strings.ContainsAny(s, "0123456789"):
			out = append(out, "{id}")
		default:
			out = append(out, s)
		}
	}
	return method + " /" + strings.Join(out, "/")
}
