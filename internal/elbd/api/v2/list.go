package apiv2

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
)

// Lists take the query parameters of the SDK's v2 List*Request types: limit, marker,
// page_reverse, and one filter per exposed field. A filter key may be repeated
// (?protocol_port=80&protocol_port=81) and then matches any of its values. Unknown keys are
// ignored, as the real API does.

// page is a list query: filters plus paging.
type page struct {
	filters url.Values
	limit   int // 0: no limit
	marker  string
	reverse bool
}

func parsePage(r *http.Request, filterable []string) (page, error) {
	q := r.URL.Query()
	p := page{filters: url.Values{}, marker: q.Get("marker")}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return p, apierr.Invalid("limit %q must be a whole number of at least 0 (0 means no limit)", s)
		}
		p.limit = n
	}
	if s := q.Get("page_reverse"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return p, apierr.Invalid("page_reverse %q must be true or false", s)
		}
		p.reverse = b
	}
	for _, k := range filterable {
		if vs, ok := q[k]; ok {
			p.filters[k] = vs
		}
	}
	return p, nil
}

// item is one list element: its response body plus filter values that are not top-level
// scalars of the body (e.g. loadbalancer_id of a listener, which the body holds as a list).
type item struct {
	id    string
	body  any
	extra map[string][]string
}

// apply filters items and cuts the page out of them; more says whether items remain beyond
// the page in the paging direction. Items arrive oldest first and stay in that order.
// page_reverse pages backwards: the page ends just before the marker.
func (p page) apply(items []item) (out []any, more bool, err error) {
	var kept []item
	for _, it := range items {
		ok, err := p.matches(it)
		if err != nil {
			return nil, false, err
		}
		if ok {
			kept = append(kept, it)
		}
	}
	start, end := 0, len(kept)
	if p.marker != "" {
		at := -1
		for i, it := range kept {
			if it.id == p.marker {
				at = i
				break
			}
		}
		if at < 0 {
			return nil, false, apierr.Invalid("marker %s is not an item of this list; use the id of the last item of the previous page", p.marker)
		}
		if p.reverse {
			end = at
		} else {
			start = at + 1
		}
	}
	if p.limit > 0 && end-start > p.limit {
		if p.reverse {
			start = end - p.limit
		} else {
			end = start + p.limit
		}
	}
	out = make([]any, 0, end-start)
	for _, it := range kept[start:end] {
		out = append(out, it.body)
	}
	if p.reverse {
		return out, start > 0, nil
	}
	return out, end < len(kept), nil
}

func (p page) matches(it item) (bool, error) {
	if len(p.filters) == 0 {
		return true, nil
	}
	obj, err := asObject(it.body)
	if err != nil {
		return false, err
	}
	for key, wanted := range p.filters {
		have, ok := it.extra[key]
		if !ok {
			have = scalar(obj[key])
		}
		if !anyEqual(have, wanted) {
			return false, nil
		}
	}
	return true, nil
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

func anyEqual(have, wanted []string) bool {
	for _, h := range have {
		for _, w := range wanted {
			if h == w || strings.EqualFold(h, w) && (h == "true" || h == "false") {
				return true
			}
		}
	}
	return false
}

// listBody is a list response: {"<key>": [...]}, plus "<key>_links" pointing at the following
// page (rel "next", or "previous" with page_reverse) when the limit cut the list short.
func listBody(r *http.Request, key string, p page, items []any, more bool) (map[string]any, error) {
	out := map[string]any{key: items}
	if !more || len(items) == 0 {
		return out, nil
	}
	edge := items[len(items)-1]
	rel := "next"
	if p.reverse {
		edge, rel = items[0], "previous"
	}
	obj, err := asObject(edge)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	q.Set("marker", fmt.Sprint(obj["id"]))
	u := *r.URL
	u.RawQuery = q.Encode()
	out[key+"_links"] = []map[string]string{{"rel": rel, "href": u.RequestURI()}}
	return out, nil
}

// list runs a whole list request: parse the query, filter and page items, build the body.
func list(r *http.Request, key string, filterable []string, items func() ([]item, error)) (int, any, error) {
	p, err := parsePage(r, filterable)
	if err != nil {
		return 0, nil, err
	}
	all, err := items()
	if err != nil {
		return 0, nil, err
	}
	out, more, err := p.apply(all)
	if err != nil {
		return 0, nil, err
	}
	body, err := listBody(r, key, p, out, more)
	return http.StatusOK, body, err
}
