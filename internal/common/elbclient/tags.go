package elbclient

import (
	"context"

	v2model "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"
	v3model "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"

	"github.com/fleetlb/fleetlb/internal/common/fleetrecord"
)

// Tag is a listener tag: the fleet records of owner clusters are kept in them (T10).
type Tag = fleetrecord.Tag

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

// ListenerTags is the v2 ShowListenerTags (services/elb/v2/model/model_show_listener_tags_response.go).
func (a *v2API) ListenerTags(ctx context.Context, listenerID string) ([]Tag, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var r *v2model.ShowListenerTagsResponse
	if err := a.c.call(ctx, true, "v2 ShowListenerTags", kindRead, "", func() (err error) {
		r, err = a.c.v2.ShowListenerTags(&v2model.ShowListenerTagsRequest{ListenerId: listenerID})
		return err
	}, nil); err != nil {
		return nil, err
	}
	var out []Tag
	for _, t := range deref(r.Tags) {
		out = append(out, Tag{Key: t.Key, Value: t.Value})
	}
	return out, nil
}

// TagListener is the v2 BatchCreateListenerTags (action create; model_batch_create_listener_tags_request_body.go).
func (a *v2API) TagListener(ctx context.Context, listenerID string, tags []Tag) error {
	if err := ctx.Err(); err != nil || len(tags) == 0 {
		return err
	}
	return a.c.call(ctx, true, "v2 BatchCreateListenerTags", kindUpdate, "", func() error {
		_, err := a.c.v2.BatchCreateListenerTags(&v2model.BatchCreateListenerTagsRequest{ListenerId: listenerID, Body: &v2model.BatchCreateListenerTagsRequestBody{
			Action: v2model.GetBatchCreateListenerTagsRequestBodyActionEnum().CREATE, Tags: v2Tags(tags)}})
		return err
	}, nil)
}

// UntagListener is the v2 BatchDeleteListenerTags (action delete; an empty value matches any).
func (a *v2API) UntagListener(ctx context.Context, listenerID string, keys []string) error {
	if err := ctx.Err(); err != nil || len(keys) == 0 {
		return err
	}
	tags := make([]Tag, len(keys))
	for i, k := range keys {
		tags[i] = Tag{Key: k}
	}
	return a.c.call(ctx, true, "v2 BatchDeleteListenerTags", kindUpdate, "", func() error {
		_, err := a.c.v2.BatchDeleteListenerTags(&v2model.BatchDeleteListenerTagsRequest{ListenerId: listenerID, Body: &v2model.BatchDeleteListenerTagsRequestBody{
			Action: v2model.GetBatchDeleteListenerTagsRequestBodyActionEnum().DELETE, Tags: v2Tags(tags)}})
		return err
	}, nil)
}

func v2Tags(tags []Tag) []v2model.ResourceTag {
	out := make([]v2model.ResourceTag, len(tags))
	for i, t := range tags {
		out[i] = v2model.ResourceTag{Key: t.Key, Value: t.Value}
	}
	return out
}
