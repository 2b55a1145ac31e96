package listing_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/fleetlb/fleetlb/internal/elbd/api/listing"
)

type thing struct {
	id   string
	port int
	up   bool
	tags []string
}

var things = []thing{
	{"a", 80, true, []string{"x"}}, {"b", 81, false, nil}, {"c", 80, false, []string{"x", "y"}},
	{"d", 82, true, nil}, {"e", 80, true, []string{"y"}},
}

var filters = []listing.Filter[thing]{
	listing.String("id", func(t thing) string { return t.id }),
	listing.Int("port", func(t thing) int { return t.port }),
	listing.Bool("up", func(t thing) bool { return t.up }),
	listing.Strings("tag", func(t thing) []string { return t.tags }),
	listing.Text("up_text", func(t thing) []string {
		if t.up {
			return []string{"true"}
		}
		return []string{"false"}
	}),
}

func ids(ts []thing) string {
	var out []string
	for _, t := range ts {
		out = append(out, t.id)
	}
	return strings.Join(out, ",")
}

func TestApplyFilters(t *testing.T) {
	for _, c := range []struct{ query, want string }{
		{"", "a,b,c,d,e"},
		{"port=080", "a,c,e"},      // numbers compare as numbers
		{"port=81&port=82", "b,d"}, // a repeated key matches any of its values
		{"port=80&up=true", "a,e"}, // every key must match
		{"tag=y", "c,e"},           // any of a list's values
		{"up_text=TRUE", "a,d,e"},  // v2's text filters fold true/false
		{"unknown=1", "a,b,c,d,e"}, // unknown keys are ignored
		{"id=zzz", ""},
	} {
		q, _ := url.ParseQuery(c.query)
		got, err := listing.Apply(q, things, filters)
		if err != nil || ids(got) != c.want {
			t.Errorf("?%s: %q, %v; want %q", c.query, ids(got), err, c.want)
		}
	}
	for _, c := range []struct{ query, want string }{
		{"port=eighty", `port="eighty" is not an integer`},
		{"up=maybe", `up="maybe" is not true or false`},
	} {
		q, _ := url.ParseQuery(c.query)
		if _, err := listing.Apply(q, things, filters); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("?%s: %v; want an error with %q", c.query, err, c.want)
		}
	}
}

func TestPaging(t *testing.T) {
	id := func(t thing) string { return t.id }
	for _, c := range []struct {
		query string
		max   int
		want  string
		more  bool
	}{
		{"", 0, "a,b,c,d,e", false},
		{"limit=0", 3, "a,b,c", true}, // 0 is the largest page
		{"limit=2", 0, "a,b", true},
		{"limit=2&marker=b", 0, "c,d", true},
		{"limit=2&marker=c", 0, "d,e", false},
		{"limit=2&page_reverse=true", 0, "d,e", true}, // reversed without a marker: the last page
		{"limit=2&marker=d&page_reverse=true", 0, "b,c", true},
		{"limit=2&marker=c&page_reverse=true", 0, "a,b", false},
		{"marker=e", 0, "", false},
	} {
		q, _ := url.ParseQuery(c.query)
		p, err := listing.ParsePaging(q, c.max)
		if err != nil {
			t.Fatalf("?%s: %v", c.query, err)
		}
		page, more, err := listing.Cut(p, things, id)
		if err != nil || ids(page) != c.want || more != c.more {
			t.Errorf("?%s (max %d): %q more=%v, %v; want %q more=%v", c.query, c.max, ids(page), more, err, c.want, c.more)
		}
	}
	for _, c := range []struct {
		query string
		max   int
		want  string
	}{
		{"limit=2001", 2000, `limit "2001" is invalid; use 0-2000`},
		{"limit=-1", 0, `limit "-1" is invalid; use a whole number of at least 0`},
		{"page_reverse=maybe", 0, `page_reverse "maybe" is not true or false`},
	} {
		q, _ := url.ParseQuery(c.query)
		if _, err := listing.ParsePaging(q, c.max); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("?%s: %v; want an error with %q", c.query, err, c.want)
		}
	}
	q, _ := url.ParseQuery("marker=zzz")
	p, _ := listing.ParsePaging(q, 0)
	if _, _, err := listing.Cut(p, things, id); err == nil || !strings.Contains(err.Error(), "marker zzz is not the ID of a listed resource") {
		t.Errorf("unknown marker: %v", err)
	}
}
