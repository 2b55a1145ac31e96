package listing_test

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/fleetlb/fleetlb/internal/elbd/api/listing"
	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
)

type item struct {
	id, name string
	port     int
	up       bool
	tags     []string
}

// FuzzQuery (F4): any list query string filters and pages without a panic: what comes back is a
// page of the items that match, in order, never more than the limit; a refusal is a 400 in the
// API's error shape naming the parameter.
func FuzzQuery(f *testing.F) {
	for _, q := range []string{
		"", "limit=2", "limit=2&marker=b&page_reverse=true", "limit=-1", "limit=2001", "limit=99999999999999999999",
		"page_reverse=maybe", "marker=nope", "name=a&name=c&protocol_port=80", "protocol_port=x", "admin_state_up=TRUE",
		"description=x&tags=k%3Dv", "id=%zz&limit=1", "limit=0&marker=c&page_reverse=1",
	} {
		f.Add(q)
	}
	items := []item{
		{"a", "a", 80, true, []string{"k=v"}}, {"b", "b", 81, false, nil}, {"c", "c", 80, true, []string{"x"}}, {"d", "", 0, true, nil},
	}
	filters := []listing.Filter[item]{
		listing.String("id", func(i item) string { return i.id }),
		listing.String("name", func(i item) string { return i.name }),
		listing.Int("protocol_port", func(i item) int { return i.port }),
		listing.Bool("admin_state_up", func(i item) bool { return i.up }),
		listing.Text("tags", func(i item) []string { return i.tags }),
	}
	filters = append(filters, listing.Absent[item]("description")...)
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw) // what Request.URL.Query() gives a handler: the pairs that parse
		refused := func(err error) {
			t.Helper()
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Code == "" || strings.TrimSpace(ae.Msg) == "" {
				t.Fatalf("query %q refused with %v (%T), want a 400 with a code and a message", raw, err, err)
			}
		}
		matched, err := listing.Apply(q, items, filters)
		if err != nil {
			refused(err)
			return
		}
		for _, m := range matched {
			if !slices.ContainsFunc(items, func(i item) bool { return i.id == m.id }) {
				t.Fatalf("query %q matched %+v, which is not listed", raw, m)
			}
		}
		p, err := listing.ParsePaging(q, 2000)
		if err != nil {
			refused(err)
			return
		}
		if p.Limit < 1 || p.Limit > 2000 {
			t.Fatalf("query %q gives limit %d, outside 1-2000", raw, p.Limit)
		}
		page, _, err := listing.Cut(p, matched, func(i item) string { return i.id })
		if err != nil {
			refused(err)
			return
		}
		if len(page) > p.Limit {
			t.Fatalf("query %q: page of %d items over limit %d", raw, len(page), p.Limit)
		}
		// The page is a run of the matched items, in their order.
		if len(page) > 0 {
			at := slices.IndexFunc(matched, func(i item) bool { return i.id == page[0].id })
			if at < 0 || at+len(page) > len(matched) || !slices.EqualFunc(page, matched[at:at+len(page)], func(a, b item) bool { return a.id == b.id }) {
				t.Fatalf("query %q: page %v is not a run of %v", raw, page, matched)
			}
		}
	})
}
