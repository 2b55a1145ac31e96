package api

import (
	"net/http"

	"github.com/fleetlb/fleetlb/internal/elbd/api/listing"
	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
)

// MaxPageLimit is the largest limit a v3 list call accepts, and the default: limit takes 0-2000,
// default 2000 (model_list_pools_request.go and the other v3 List*Request models; E6j).
const MaxPageLimit = 2000

// pageInfo is the page_info object of list responses.
type pageInfo struct {
	PreviousMarker string  `json:"previous_marker"`
	NextMarker     *string `json:"next_marker,omitempty"`
	CurrentCount   int     `json:"current_count"`
}

// The v3 lists filter with the shared engine (internal/elbd/api/listing).
type filter[T any] = listing.Filter[T]

func strF[T any](key string, get func(T) string) filter[T] { return listing.String(key, get) }
func strsF[T any](key string, get func(T) []string) filter[T] {
	return listing.Strings(key, get)
}
func intF[T any](key string, get func(T) int) filter[T]   { return listing.Int(key, get) }
func boolF[T any](key string, get func(T) bool) filter[T] { return listing.Bool(key, get) }
func absent[T any](keys ...string) []filter[T]            { return listing.Absent[T](keys...) }

// listed filters then pages items and answers {key: page, page_info, request_id}.
// page_info.previous_marker is the page's first ID, next_marker its last ID, given only when
// more items lie beyond the page in the paging direction.
func listed[T any, R any](r *http.Request, key string, items []T, filters []filter[T], id func(T) string, render func(T) R) (int, any, error) {
	q := r.URL.Query()
	items, err := listing.Apply(q, items, filters)
	if err != nil {
		return 0, nil, err
	}
	paging, err := listing.ParsePaging(q, MaxPageLimit)
	if err != nil {
		return 0, nil, err
	}
	page, more, err := listing.Cut(paging, items, id)
	if err != nil {
		return 0, nil, err
	}
	info := pageInfo{CurrentCount: len(page)}
	out := make([]R, 0, len(page))
	for _, it := range page {
		out = append(out, render(it))
	}
	if len(page) > 0 {
		info.PreviousMarker = id(page[0])
		if more {
			last := id(page[len(page)-1])
			info.NextMarker = &last
		}
	}
	return http.StatusOK, map[string]any{key: out, "page_info": info, "request_id": apierr.RequestID(r)}, nil
}
