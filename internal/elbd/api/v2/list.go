package apiv2

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/fleetlb/fleetlb/internal/elbd/api/listing"
)

// Lists take the query parameters of the SDK's v2 List*Request types: limit, marker,
// page_reverse, and one filter per exposed field, run by the list engine both API versions
// share (internal/elbd/api/listing). A filter key may be repeated (?protocol_port=80&protocol_port=81)
// and then matches any of its values. Unknown keys are ignored, as the real API does. The v2
// models document no range for limit: any limit of at least 0 is taken, 0 or none meaning all.

// item is one list element: its response body plus filter values that are not top-level
// scalars of the body (e.g. loadbalancer_id of a listener, which the body holds as a list).
type item struct {
	id    string
	body  any
	extra map[string][]string
}

func itemID(it item) string { return it.id }

// fieldFilters filter on the response body's top-level fields keys, or on the item's extra
// values under the same key.
func fieldFilters(keys []string) []listing.Filter[item] {
	out := make([]listing.Filter[item], 0, len(keys))
	for _, k := range keys {
		out = append(out, listing.Text(k, func(it item) []string {
			if v, ok := it.extra[k]; ok {
				return v
			}
			obj, err := asObject(it.body)
			if err != nil {
				return nil
			}
			return scalar(obj[k])
		}))
	}
	return out
}

func asObject(body any) (map[string]any, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var obj map[string]any
	return obj, d.Decode(&obj)
}

// scalar is the string form of a top-level JSON value, as it would appear in a query string.
func scalar(v any) []string {
	switch t := v.(type) {
	case nil:
		return nil
	case string:
		return []string{t}
	case json.Number:
		return []string{t.String()}
	case bool:
		return []string{strconv.FormatBool(t)}
	default:
		return nil
	}
}

// listBody is a list response: {"<key>": [...]}, plus "<key>_links" pointing at the following
// page (rel "next", or "previous" with page_reverse) when the limit cut the list short.
func listBody(r *http.Request, key string, p listing.Paging, page []item, more bool) map[string]any {
	bodies := make([]any, 0, len(page))
	for _, it := range page {
		bodies = append(bodies, it.body)
	}
	out := map[string]any{key: bodies}
	if !more || len(page) == 0 {
		return out
	}
	edge, rel := page[len(page)-1], "next"
	if p.Reverse {
		edge, rel = page[0], "previous"
	}
	q := r.URL.Query()
	q.Set("marker", edge.id)
	u := *r.URL
	u.RawQuery = q.Encode()
	out[key+"_links"] = []map[string]string{{"rel": rel, "href": u.RequestURI()}}
	return out
}

// list runs a whole list request: read the paging, filter and page items, build the body.
func list(r *http.Request, key string, filterable []string, items func() ([]item, error)) (int, any, error) {
	q := r.URL.Query()
	p, err := listing.ParsePaging(q, 0)
	if err != nil {
		return 0, nil, err
	}
	all, err := items()
	if err != nil {
		return 0, nil, err
	}
	kept, err := listing.Apply(q, all, fieldFilters(filterable))
	if err != nil {
		return 0, nil, err
	}
	page, more, err := listing.Cut(p, kept, itemID)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, listBody(r, key, p, page, more), nil
}
