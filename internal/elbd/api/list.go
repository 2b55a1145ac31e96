package api

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
)

// MaxPageLimit is the largest limit a list call accepts, as the real API.
const MaxPageLimit = 2000

// pageInfo is the page_info object of list responses.
type pageInfo struct {
	PreviousMarker string  `json:"previous_marker"`
	NextMarker     *string `json:"next_marker,omitempty"`
	CurrentCount   int     `json:"current_count"`
}

// filter is one query key a list accepts: the field's values of an item as strings. Int fields
// are compared as numbers, so "080" matches 80.
type filter[T any] struct {
	key   string
	isInt bool
	isBoo bool
	get   func(T) []string
}

func strF[T any](key string, get func(T) string) filter[T] {
	return filter[T]{key: key, get: func(v T) []string { return []string{get(v)} }}
}

func intF[T any](key string, get func(T) int) filter[T] {
	return filter[T]{key: key, isInt: true, get: func(v T) []string { return []string{strconv.Itoa(get(v))} }}
}

func boolF[T any](key string, get func(T) bool) filter[T] {
	return filter[T]{key: key, isBoo: true, get: func(v T) []string { return []string{strconv.FormatBool(get(v))} }}
}

// absent is a filter on a field no elbd resource carries (ECS device IDs, EIPs, flavors, IPv6
// addresses...): whatever value is asked for, nothing matches, as on a real ELB where no
// resource has one. Without it the key would be ignored and the whole list returned.
func absent[T any](keys ...string) []filter[T] {
	out := make([]filter[T], 0, len(keys))
	for _, k := range keys {
		out = append(out, filter[T]{key: k, get: func(T) []string { return nil }})
	}
	return out
}

// applyFilters keeps the items that match every given filter; a filter given several times
// (?protocol_port=80&protocol_port=81) matches any of its values.
func applyFilters[T any](q url.Values, items []T, filters []filter[T]) ([]T, error) {
	type active struct {
		f    filter[T]
		want map[string]bool
	}
	var act []active
	for _, f := range filters {
		vals, ok := q[f.key]
		if !ok {
			continue
		}
		want := map[string]bool{}
		for _, v := range vals {
			switch {
			case f.isInt:
				n, err := strconv.Atoi(strings.TrimSpace(v))
				if err != nil {
					return nil, apierr.Invalid("query parameter %s=%q is not an integer", f.key, v)
				}
				v = strconv.Itoa(n)
			case f.isBoo:
				b, err := strconv.ParseBool(v)
				if err != nil {
					return nil, apierr.Invalid("query parameter %s=%q is not true or false", f.key, v)
				}
				v = strconv.FormatBool(b)
			}
			want[v] = true
		}
		act = append(act, active{f, want})
	}
	var out []T
next:
	for _, it := range items {
		for _, a := range act {
			hit := false
			for _, v := range a.f.get(it) {
				if a.want[v] {
					hit = true
					break
				}
			}
			if !hit {
				continue next
			}
		}
		out = append(out, it)
	}
	return out, nil
}

// paginate cuts one page out of items (oldest first) by limit, marker and page_reverse:
// forward, the page is the first limit items after marker; reversed, the last limit items
// before it. page_info.previous_marker is the page's first ID, next_marker its last ID, given
// only when more items lie beyond the page in the paging direction.
func paginate[T any](q url.Values, items []T, id func(T) string) ([]T, pageInfo, error) {
	// limit takes 0-2000, default 2000 (model_list_pools_request.go and the other v3 List*Request
	// models; E6j). 0 is answered like the default, as OpenStack Neutron, which the v3 API follows,
	// reads limit=0: a page of no items would stop every pager at once.
	limit := MaxPageLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > MaxPageLimit {
			return nil, pageInfo{}, apierr.Invalid("limit %q is invalid; use 0-%d (0 or none: %d)", v, MaxPageLimit, MaxPageLimit)
		}
		if n > 0 {
			limit = n
		}
	}
	reverse := false
	if v := q.Get("page_reverse"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, pageInfo{}, apierr.Invalid("page_reverse %q is not true or false", v)
		}
		reverse = b
	}
	start, end := 0, len(items) // the window the page is cut from
	if m := q.Get("marker"); m != "" {
		at := -1
		for i, it := range items {
			if id(it) == m {
				at = i
				break
			}
		}
		if at < 0 {
			return nil, pageInfo{}, apierr.Invalid("marker %s is not the ID of a listed resource; use an ID from the previous page", m)
		}
		if reverse {
			end = at
		} else {
			start = at + 1
		}
	}
	var page []T
	more := false
	if reverse {
		from := max(start, end-limit)
		page, more = items[from:end], from > start
	} else {
		to := min(end, start+limit)
		page, more = items[start:to], to < end
	}
	info := pageInfo{CurrentCount: len(page)}
	if len(page) > 0 {
		info.PreviousMarker = id(page[0])
		if more {
			last := id(page[len(page)-1])
			info.NextMarker = &last
		}
	}
	return page, info, nil
}

// listQuery filters then paginates items and writes {key: page, page_info, request_id}.
func listQuery[T any, R any](w http.ResponseWriter, r *http.Request, key string, items []T, filters []filter[T], id func(T) string, render func(T) R) {
	q := r.URL.Query()
	items, err := applyFilters(q, items, filters)
	if err != nil {
		apierr.Write(w, r, err)
		return
	}
	page, info, err := paginate(q, items, id)
	if err != nil {
		apierr.Write(w, r, err)
		return
	}
	out := make([]R, 0, len(page))
	for _, it := range page {
		out = append(out, render(it))
	}
	apierr.WriteJSON(w, http.StatusOK, map[string]any{key: out, "page_info": info, "request_id": apierr.RequestID(r)})
}
