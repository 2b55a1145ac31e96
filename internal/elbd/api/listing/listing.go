// Package listing is the list engine of both API versions (v3 in internal/elbd/api, v2 in
// internal/elbd/api/v2): it keeps the items that match the query's filters, then cuts one page
// out of them by limit, marker and page_reverse. Each version renders the page its own way (v3:
// page_info; v2: <key>_links).
package listing

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
)

// Filter is one query key a list accepts and the values an item has for it, as strings.
type Filter[T any] struct {
	key string
	// norm turns a query value into the form values returns, or refuses it.
	norm   func(key, v string) (string, error)
	values func(T) []string
}

// String filters on a text field, compared exactly.
func String[T any](key string, get func(T) string) Filter[T] {
	return Filter[T]{key: key, values: func(v T) []string { return []string{get(v)} }}
}

// Strings filters on a field with several text values (a list), compared exactly: an item
// matches when any of its values is asked for.
func Strings[T any](key string, values func(T) []string) Filter[T] {
	return Filter[T]{key: key, values: values}
}

// Int filters on a number field, compared as numbers ("080" matches 80); a query value that is
// not a number is refused.
func Int[T any](key string, get func(T) int) Filter[T] {
	return Filter[T]{key: key, norm: normInt, values: func(v T) []string { return []string{strconv.Itoa(get(v))} }}
}

// Bool filters on a true/false field; a query value that is not one is refused.
func Bool[T any](key string, get func(T) bool) Filter[T] {
	return Filter[T]{key: key, norm: normBool, values: func(v T) []string { return []string{strconv.FormatBool(get(v))} }}
}

// Text filters on values already in their query-string form; true and false match in any case.
// The v2 API filters this way on the fields of its response bodies.
func Text[T any](key string, values func(T) []string) Filter[T] {
	return Filter[T]{key: key, norm: foldBool, values: values}
}

// Absent filters on fields no elbd resource carries (ECS device IDs, EIPs, flavors, IPv6
// addresses...): whatever value is asked for, nothing matches, as on a real ELB where no
// resource has one. Without it the key would be ignored and the whole list returned.
func Absent[T any](keys ...string) []Filter[T] {
	out := make([]Filter[T], 0, len(keys))
	for _, k := range keys {
		out = append(out, Filter[T]{key: k, values: func(T) []string { return nil }})
	}
	return out
}

func normInt(key, v string) (string, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return "", apierr.Invalid("query parameter %s=%q is not an integer", key, v)
	}
	return strconv.Itoa(n), nil
}

func normBool(key, v string) (string, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return "", apierr.Invalid("query parameter %s=%q is not true or false", key, v)
	}
	return strconv.FormatBool(b), nil
}

func foldBool(_, v string) (string, error) {
	if strings.EqualFold(v, "true") || strings.EqualFold(v, "false") {
		return strings.ToLower(v), nil
	}
	return v, nil
}

// Apply keeps the items that match every filter the query gives; a filter given several times
// (?protocol_port=80&protocol_port=81) matches any of its values. Keys no filter names are
// ignored, as the real API does.
func Apply[T any](q url.Values, items []T, filters []Filter[T]) ([]T, error) {
	type active struct {
		f    Filter[T]
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
			if f.norm != nil {
				var err error
				if v, err = f.norm(f.key, v); err != nil {
					return nil, err
				}
			}
			want[v] = true
		}
		act = append(act, active{f, want})
	}
	if len(act) == 0 {
		return items, nil
	}
	var out []T
next:
	for _, it := range items {
		for _, a := range act {
			hit := false
			for _, v := range a.f.values(it) {
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

// Paging is a list query's limit, marker and page_reverse.
type Paging struct {
	Limit   int // 0: every item
	Marker  string
	Reverse bool
}

// ParsePaging reads limit, marker and page_reverse. maxLimit is the largest limit accepted (0: no
// bound); limit 0 or none asks for the largest page. On v3 that is 2000, as OpenStack Neutron,
// which the v3 API follows, reads limit=0: a page of no items would stop every pager at once.
func ParsePaging(q url.Values, maxLimit int) (Paging, error) {
	p := Paging{Limit: maxLimit, Marker: q.Get("marker")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || maxLimit > 0 && n > maxLimit {
			if maxLimit > 0 {
				return p, apierr.Invalid("limit %q is invalid; use 0-%d (0 or none: %d)", v, maxLimit, maxLimit)
			}
			return p, apierr.Invalid("limit %q is invalid; use a whole number of at least 0 (0 or none: no limit)", v)
		}
		if n > 0 {
			p.Limit = n
		}
	}
	if v := q.Get("page_reverse"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return p, apierr.Invalid("page_reverse %q is not true or false", v)
		}
		p.Reverse = b
	}
	return p, nil
}

// Cut cuts one page out of items (oldest first, and the page keeps that order): forward, the
// first Limit items after Marker; reversed, the last Limit items before it. more says whether
// items lie beyond the page in the paging direction.
func Cut[T any](p Paging, items []T, id func(T) string) (page []T, more bool, err error) {
	start, end := 0, len(items) // the window the page is cut from
	if p.Marker != "" {
		at := -1
		for i, it := range items {
			if id(it) == p.Marker {
				at = i
				break
			}
		}
		if at < 0 {
			return nil, false, apierr.Invalid("marker %s is not the ID of a listed resource; use an ID from the previous page", p.Marker)
		}
		if p.Reverse {
			end = at
		} else {
			start = at + 1
		}
	}
	if p.Limit > 0 && end-start > p.Limit {
		if p.Reverse {
			return items[end-p.Limit : end], true, nil
		}
		return items[start : start+p.Limit], true, nil
	}
	return items[start:end], false, nil
}
