package apiv2

import (
	"net/http"

	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// Listener tags of shared load balancers (services/elb/v2 ShowListenerTags, BatchCreateListenerTags,
// BatchDeleteListenerTags, CreateListenerTags, DeleteListenerTags; elb_meta.go): their paths are
// /v2.0/{project_id}/listeners/{listener_id}/tags[/action|/{key}], without /elb/. The rules are the
// v3 ones (services/elb/v2/model/model_resource_tag.go: key at most 36 characters, value at most
// 255, neither with = * < > \ , | /; at most 20 tags): store.ChangeTags. A tag change is not a
// change of the load balancer's configuration: it is never busy (E2).
const v2TagPath = "/v2.0/{project_id}/listeners/{id}/tags"

func (h *Handler) tagRoutes() {
	for pattern, fn := range map[string]handlerFunc{
		"GET " + v2TagPath:               h.showListenerTags,
		"POST " + v2TagPath + "/action":  h.changeListenerTags,
		"POST " + v2TagPath:              h.createListenerTag,
		"DELETE " + v2TagPath + "/{key}": h.deleteListenerTag,
	} {
		h.mux.Handle(pattern, h.serve(fn))
	}
}

func (h *Handler) showListenerTags(r *http.Request, sc store.Scope) (int, any, error) {
	l, err := h.st.GetListener(sc, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"tags": append([]store.Tag{}, l.Tags...)}, nil
}

// changeListenerTags is BatchCreate/BatchDeleteListenerTags: {"action": "create"|"delete", "tags": [...]}.
func (h *Handler) changeListenerTags(r *http.Request, sc store.Scope) (int, any, error) {
	var in struct {
		Action string      `json:"action"`
		Tags   []store.Tag `json:"tags"`
	}
	if err := apierr.Decode(r, &in); err != nil {
		return 0, nil, err
	}
	return h.changeTags(r, sc, in.Action, in.Tags)
}

// createListenerTag is CreateListenerTags: {"tag": {"key": ..., "value": ...}}.
func (h *Handler) createListenerTag(r *http.Request, sc store.Scope) (int, any, error) {
	t, err := decodeBody[store.Tag](r, "tag")
	if err != nil {
		return 0, nil, err
	}
	return h.changeTags(r, sc, store.TagActionCreate, []store.Tag{*t})
}

// deleteListenerTag is DeleteListenerTags: the tag with that key, whatever its value.
func (h *Handler) deleteListenerTag(r *http.Request, sc store.Scope) (int, any, error) {
	return h.changeTags(r, sc, store.TagActionDelete, []store.Tag{{Key: r.PathValue("key")}})
}

func (h *Handler) changeTags(r *http.Request, sc store.Scope, action string, tags []store.Tag) (int, any, error) {
	_, err := h.st.UpdateListener(sc, r.PathValue("id"), func(l *store.Listener) error {
		out, err := store.ChangeTags(l.Tags, action, tags)
		l.Tags = out
		return err
	})
	return http.StatusNoContent, nil, err
}
