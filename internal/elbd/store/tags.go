package store

import (
	"strings"
	"unicode/utf8"

	"github.com/fleetlb/fleetlb/internal/common/elbrules"
	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
)

// Tag is a key/value label of a load balancer or listener (E9).
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Tag limits: elbrules.MaxTagKeyLen, MaxTagValueLen, MaxTagsPerObject and TagForbidden.

// Tag actions of Change*Tags (model_change_loadbalancer_tags_request_body.go).
const (
	TagActionCreate = "create"
	TagActionDelete = "delete"
)

// CheckTag checks one tag's key and value.
func CheckTag(t Tag) error {
	if strings.TrimSpace(t.Key) == "" {
		return apierr.Invalid("tag key is empty; give every tag a key")
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"key", t.Key, elbrules.MaxTagKeyLen}, {"value", t.Value, elbrules.MaxTagValueLen}} {
		if n := utf8.RuneCountInString(f.v); n > f.max {
			return apierr.Invalid("tag %s %q is %d characters long; at most %d are allowed", f.name, f.v, n, f.max)
		}
		if i := strings.IndexAny(f.v, elbrules.TagForbidden); i >= 0 {
			return apierr.Invalid("tag %s %q contains %q; a tag key or value cannot contain any of %s", f.name, f.v, f.v[i:i+1], elbrules.TagForbidden)
		}
		for _, r := range f.v {
			if r < 0x20 || r == 0x7f {
				return apierr.Invalid("tag %s %q contains a non-printing character; remove it", f.name, f.v)
			}
		}
	}
	return nil
}

// CheckTags checks the tags given when a resource is created: each valid, keys unique, at most
// elbrules.MaxTagsPerObject.
func CheckTags(tags []Tag) error {
	if len(tags) == 0 {
		return nil
	}
	_, err := ChangeTags(nil, TagActionCreate, tags)
	return err
}

// ChangeTags returns cur changed by one Change*Tags call. create adds each tag, or sets the
// value of a key that is there; delete removes each key whose value matches (an empty value
// matches any), and a key that is not there is no error. The call is all or nothing: a bad tag,
// a key given twice, or more than elbrules.MaxTagsPerObject tags after it leaves cur as it was.
func ChangeTags(cur []Tag, action string, change []Tag) ([]Tag, error) {
	if err := CheckOneOf("action", action, []string{TagActionCreate, TagActionDelete}); err != nil {
		return nil, err
	}
	if len(change) == 0 {
		return nil, apierr.Invalid("tags is empty; name at least one tag to %s", action)
	}
	seen := map[string]bool{}
	for _, t := range change {
		if err := CheckTag(t); err != nil {
			return nil, err
		}
		if seen[t.Key] {
			return nil, apierr.Invalid("tag key %q is given twice; give each key once", t.Key)
		}
		seen[t.Key] = true
	}
	out := append([]Tag(nil), cur...)
	for _, t := range change {
		at := -1
		for i, c := range out {
			if c.Key == t.Key {
				at = i
			}
		}
		switch {
		case action == TagActionCreate && at >= 0:
			out[at].Value = t.Value
		case action == TagActionCreate:
			out = append(out, t)
		case at >= 0 && (t.Value == "" || out[at].Value == t.Value):
			out = append(out[:at], out[at+1:]...)
		}
	}
	if len(out) > elbrules.MaxTagsPerObject {
		return nil, apierr.Invalid("a resource has at most %d tags; this call would leave %d (it has %d): delete some first", elbrules.MaxTagsPerObject, len(out), len(cur))
	}
	return out, nil
}
