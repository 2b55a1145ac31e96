package api

import (
	"net/http"
	"sort"

	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// Tags of load balancers and listeners (E9). Their paths have no /elb/ segment:
// /v3/{project_id}/loadbalancers/{loadbalancer_id}/tags[/action], /v3/{project_id}/listeners/...
// (services/elb/v3/elb_meta.go GenReqDefFor{Change,Show,List}{Loadbalancer,Listener}Tags). The
// limits are in store/tags.go.

const v3TagsPrefix = "/v3/{project_id}/"

func (h *v3) tagRoutes(mux *http.ServeMux) {
	handle := routeOn(mux, v3TagsPrefix)
	handle("POST loadbalancers/{id}/tags/action", h.changeLoadBalancerTags)
	handle("GET loadbalancers/{id}/tags", h.showLoadBalancerTags)
	handle("GET loadbalancers/tags", h.listLoadBalancerTags)
	handle("POST listeners/{id}/tags/action", h.changeListenerTags)
	handle("GET listeners/{id}/tags", h.showListenerTags)
	handle("GET listeners/tags", h.listListenerTags)
}

// isTagPath reports whether the third segment of a /v3/{project_id}/... path starts a tag API.
func isTagPath(segment string) bool { return segment == "loadbalancers" || segment == "listeners" }

// v3ChangeTags is the SDK's Change{Loadbalancer,Listener}TagsRequestBody.
type v3ChangeTags struct {
	Action *string     `json:"action"`
	Tags   []store.Tag `json:"tags"`
}

func (h *v3) changeLoadBalancerTags(r *http.Request, sc store.Scope) (int, any, error) {
	var in v3ChangeTags
	if err := apierr.Decode(r, &in); err != nil {
		return 0, nil, err
	}
	_, err := h.st.UpdateLoadBalancer(sc, r.PathValue("id"), func(lb *store.LoadBalancer) error {
		tags, err := store.ChangeTags(lb.Tags, orDefault(in.Action, ""), in.Tags)
		lb.Tags = tags
		return err
	})
	return gone(err)
}

func (h *v3) changeListenerTags(r *http.Request, sc store.Scope) (int, any, error) {
	var in v3ChangeTags
	if err := apierr.Decode(r, &in); err != nil {
		return 0, nil, err
	}
	_, err := h.st.UpdateListener(sc, r.PathValue("id"), func(l *store.Listener) error {
		tags, err := store.ChangeTags(l.Tags, orDefault(in.Action, ""), in.Tags)
		l.Tags = tags
		return err
	})
	return gone(err)
}

func (h *v3) showLoadBalancerTags(r *http.Request, sc store.Scope) (int, any, error) {
	lb, err := h.st.GetLoadBalancer(sc, r.PathValue("id"))
	return answered(r, http.StatusOK, "tags", lb.Tags, err, tagList)
}

func (h *v3) showListenerTags(r *http.Request, sc store.Scope) (int, any, error) {
	l, err := h.st.GetListener(sc, r.PathValue("id"))
	return answered(r, http.StatusOK, "tags", l.Tags, err, tagList)
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

func (h *v3) listLoadBalancerTags(r *http.Request, sc store.Scope) (int, any, error) {
	lbs, err := h.st.ListLoadBalancers(sc)
	var all [][]store.Tag
	for _, lb := range lbs {
		all = append(all, lb.Tags)
	}
	return answered(r, http.StatusOK, "tags", all, err, groupTags)
}

func (h *v3) listListenerTags(r *http.Request, sc store.Scope) (int, any, error) {
	ls, err := h.st.ListListeners(sc)
	var all [][]store.Tag
	for _, l := range ls {
		all = append(all, l.Tags)
	}
	return answered(r, http.StatusOK, "tags", all, err, groupTags)
}
