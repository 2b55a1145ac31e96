package api

import (
	"net/http"
	"sort"

	"github.com/fleetlb/fleetlb/internal/elbd/api/handler"
	"github.com/fleetlb/fleetlb/internal/elbd/api/wire"
	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// Tags of load balancers and listeners (E9). Their paths have no /elb/ segment:
// /v3/{project_id}/loadbalancers/{loadbalancer_id}/tags[/action], /v3/{project_id}/listeners/...
// (services/elb/v3/elb_meta.go GenReqDefFor{Change,Show,List}{Loadbalancer,Listener}Tags). The
// limits are in store/tags.go.

const v3TagsPrefix = "/v3/{project_id}/"

// taggable is a kind of resource that carries tags: the store calls that read and change it,
// and where its tags are. One set of tag handlers serves every such kind.
type taggable[T any] struct {
	get    func(store.Scope, string) (T, error)
	list   func(store.Scope) ([]T, error)
	update func(store.Scope, string, func(*T) error) (T, error)
	tags   func(*T) *[]store.Tag
}

func (h *v3) tagRoutes(mux *http.ServeMux) {
	handle := routeOn(mux, v3TagsPrefix)
	routeTags(handle, "loadbalancers", taggable[store.LoadBalancer]{h.st.GetLoadBalancer, h.st.ListLoadBalancers,
		h.st.UpdateLoadBalancer, func(lb *store.LoadBalancer) *[]store.Tag { return &lb.Tags }})
	routeTags(handle, "listeners", taggable[store.Listener]{h.st.GetListener, h.st.ListListeners,
		h.st.UpdateListener, func(l *store.Listener) *[]store.Tag { return &l.Tags }})
}

// routeTags serves the Change, Show and List*Tags calls of one kind under path.
func routeTags[T any](handle func(string, handler.Func), path string, k taggable[T]) {
	handle("POST "+path+"/{id}/tags/action", k.change)
	handle("GET "+path+"/{id}/tags", k.show)
	handle("GET "+path+"/tags", k.listAll)
}

// isTagPath reports whether the third segment of a /v3/{project_id}/... path starts a tag API.
func isTagPath(segment string) bool { return segment == "loadbalancers" || segment == "listeners" }

// v3ChangeTags is the SDK's Change{Loadbalancer,Listener}TagsRequestBody.
type v3ChangeTags struct {
	Action *string     `json:"action"`
	Tags   []store.Tag `json:"tags"`
}

func (k taggable[T]) change(r *http.Request, sc store.Scope) (int, any, error) {
	var in v3ChangeTags
	if err := apierr.Decode(r, &in); err != nil {
		return 0, nil, err
	}
	_, err := k.update(sc, r.PathValue("id"), func(v *T) error {
		tags, err := store.ChangeTags(*k.tags(v), wire.Or(in.Action, ""), in.Tags)
		*k.tags(v) = tags
		return err
	})
	return gone(err)
}

func (k taggable[T]) show(r *http.Request, sc store.Scope) (int, any, error) {
	v, err := k.get(sc, r.PathValue("id"))
	return answered(r, http.StatusOK, "tags", *k.tags(&v), err, tagList)
}

func (k taggable[T]) listAll(r *http.Request, sc store.Scope) (int, any, error) {
	vs, err := k.list(sc)
	var all [][]store.Tag
	for i := range vs {
		all = append(all, *k.tags(&vs[i]))
	}
	return answered(r, http.StatusOK, "tags", all, err, groupTags)
}

func tagList(tags []store.Tag) []store.Tag { return append([]store.Tag{}, tags...) }

// v3ListTag is the SDK's ListTag: a key with every value it has on the project's resources.
type v3ListTag struct {
	Key    string   `json:"key"`
	Values []string `json:"values"`
}

// groupTags merges the tags of many resources by key, keys and values sorted, each value once.
func groupTags(all [][]store.Tag) []v3ListTag {
	values := map[string]map[string]bool{}
	for _, tags := range all {
		for _, t := range tags {
			if values[t.Key] == nil {
				values[t.Key] = map[string]bool{}
			}
			values[t.Key][t.Value] = true
		}
	}
	out := make([]v3ListTag, 0, len(values))
	for k, vs := range values {
		lt := v3ListTag{Key: k, Values: []string{}}
		for v := range vs {
			lt.Values = append(lt.Values, v)
		}
		sort.Strings(lt.Values)
		out = append(out, lt)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
