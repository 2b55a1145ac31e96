package elbclient

import (
	"context"
	"fmt"

	v3model "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"

	"github.com/fleetlb/fleetlb/internal/common/fleetrecord"
)

// Tag is a listener tag: the fleet records of owner clusters are kept in them (T10).
type Tag = fleetrecord.Tag

// ErrNoTags is returned (wrapped) by the tag calls on shared (union) ELBs: fleetlb keeps fleet
// records on dedicated (performance, v3) ELBs only.
var ErrNoTags = fmt.Errorf("listener tags are kept on dedicated (performance) ELBs only")

// ListenerTags is ShowListenerTags (services/elb/v3/model/model_show_listener_tags_response.go).
func (a *v3API) ListenerTags(ctx context.Context, listenerID string) ([]Tag, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, err := read(ctx, a.c, false, "v3 ShowListenerTags", "", func() (*v3model.ShowListenerTagsResponse, error) {
		return a.c.v3.ShowListenerTags(&v3model.ShowListenerTagsRequest{ListenerId: listenerID})
	})
	if err != nil {
		return nil, err
	}
	var out []Tag
	for _, t := range deref(r.Tags) {
		out = append(out, Tag{Key: t.Key, Value: t.Value})
	}
	return out, nil
}

// TagListener sets tags (action create: adds each key or sets its value,
// services/elb/v3/model/model_change_listener_tags_request_body.go). Idempotent.
func (a *v3API) TagListener(ctx context.Context, listenerID string, tags []Tag) error {
	return a.changeListenerTags(ctx, listenerID, v3model.GetChangeListenerTagsRequestBodyActionEnum().CREATE, tags)
}

// UntagListener deletes the tags with these keys, whatever their values (an empty value matches
// any, model_change_resource_tag_option.go). A key that is not there is no error.
func (a *v3API) UntagListener(ctx context.Context, listenerID string, keys []string) error {
	tags := make([]Tag, len(keys))
	for i, k := range keys {
		tags[i] = Tag{Key: k}
	}
	return a.changeListenerTags(ctx, listenerID, v3model.GetChangeListenerTagsRequestBodyActionEnum().DELETE, tags)
}

func (a *v3API) changeListenerTags(ctx context.Context, listenerID string, action v3model.ChangeListenerTagsRequestBodyAction, tags []Tag) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(tags) == 0 {
		return nil
	}
	opts := make([]v3model.ChangeResourceTagOption, len(tags))
	for i, t := range tags {
		opts[i] = v3model.ChangeResourceTagOption{Key: t.Key, Value: t.Value}
	}
	return a.c.call(ctx, false, "v3 ChangeListenerTags", kindUpdate, "", func() error {
		_, err := a.c.v3.ChangeListenerTags(&v3model.ChangeListenerTagsRequest{ListenerId: listenerID, Body: &v3model.ChangeListenerTagsRequestBody{Action: action, Tags: opts}})
		return err
	}, nil)
}

func (a *v2API) ListenerTags(context.Context, string) ([]Tag, error) {
	return nil, ErrNoTags
}

func (a *v2API) TagListener(context.Context, string, []Tag) error { return ErrNoTags }

func (a *v2API) UntagListener(context.Context, string, []string) error { return ErrNoTags }
