package elbclient

import (
	"context"

	v2model "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"
	v3model "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"

	"github.com/fleetlb/fleetlb/internal/common/fleetrecord"
)

// Tag is a listener tag: the fleet records of owner clusters are kept in them (T10).
type Tag = fleetrecord.Tag

// keysOnly are tags with these keys and empty values: an empty value matches any in a delete
// (model_change_resource_tag_option.go), so a key that is not there is no error.
func keysOnly(keys []string) []Tag {
	return convert(keys, func(k string) Tag { return Tag{Key: k} })
}

// ListenerTags is ShowListenerTags (services/elb/v3/model/model_show_listener_tags_response.go).
func (a *v3API) ListenerTags(ctx context.Context, listenerID string) ([]Tag, error) {
	return readAs(ctx, a.c, false, "v3 ShowListenerTags", a.c.v3.ShowListenerTags, &v3model.ShowListenerTagsRequest{ListenerId: listenerID},
		func(r *v3model.ShowListenerTagsResponse) []Tag {
			return convert(deref(r.Tags), func(t v3model.ResourceTag) Tag { return Tag{Key: t.Key, Value: t.Value} })
		})
}

// TagListener sets tags (action create: adds each key or sets its value,
// services/elb/v3/model/model_change_listener_tags_request_body.go). Idempotent.
func (a *v3API) TagListener(ctx context.Context, listenerID string, tags []Tag) error {
	return a.changeListenerTags(ctx, listenerID, v3model.GetChangeListenerTagsRequestBodyActionEnum().CREATE, tags)
}

// UntagListener deletes the tags with these keys, whatever their values.
func (a *v3API) UntagListener(ctx context.Context, listenerID string, keys []string) error {
	return a.changeListenerTags(ctx, listenerID, v3model.GetChangeListenerTagsRequestBodyActionEnum().DELETE, keysOnly(keys))
}

func (a *v3API) changeListenerTags(ctx context.Context, listenerID string, action v3model.ChangeListenerTagsRequestBodyAction, tags []Tag) error {
	if err := ctx.Err(); err != nil || len(tags) == 0 {
		return err
	}
	opts := convert(tags, func(t Tag) v3model.ChangeResourceTagOption {
		return v3model.ChangeResourceTagOption{Key: t.Key, Value: t.Value}
	})
	return write(ctx, a.c, false, "v3 ChangeListenerTags", kindUpdate, a.c.v3.ChangeListenerTags,
		&v3model.ChangeListenerTagsRequest{ListenerId: listenerID, Body: &v3model.ChangeListenerTagsRequestBody{Action: action, Tags: opts}})
}

// ListenerTags is the v2 ShowListenerTags (services/elb/v2/model/model_show_listener_tags_response.go).
func (a *v2API) ListenerTags(ctx context.Context, listenerID string) ([]Tag, error) {
	return readAs(ctx, a.c, true, "v2 ShowListenerTags", a.c.v2.ShowListenerTags, &v2model.ShowListenerTagsRequest{ListenerId: listenerID},
		func(r *v2model.ShowListenerTagsResponse) []Tag {
			return convert(deref(r.Tags), func(t v2model.ResourceTag) Tag { return Tag{Key: t.Key, Value: t.Value} })
		})
}

// TagListener is the v2 BatchCreateListenerTags (action create; model_batch_create_listener_tags_request_body.go).
func (a *v2API) TagListener(ctx context.Context, listenerID string, tags []Tag) error {
	if err := ctx.Err(); err != nil || len(tags) == 0 {
		return err
	}
	return write(ctx, a.c, true, "v2 BatchCreateListenerTags", kindUpdate, a.c.v2.BatchCreateListenerTags, &v2model.BatchCreateListenerTagsRequest{ListenerId: listenerID,
		Body: &v2model.BatchCreateListenerTagsRequestBody{Action: v2model.GetBatchCreateListenerTagsRequestBodyActionEnum().CREATE, Tags: v2Tags(tags)}})
}

// UntagListener is the v2 BatchDeleteListenerTags (action delete; an empty value matches any).
func (a *v2API) UntagListener(ctx context.Context, listenerID string, keys []string) error {
	if err := ctx.Err(); err != nil || len(keys) == 0 {
		return err
	}
	return write(ctx, a.c, true, "v2 BatchDeleteListenerTags", kindUpdate, a.c.v2.BatchDeleteListenerTags, &v2model.BatchDeleteListenerTagsRequest{ListenerId: listenerID,
		Body: &v2model.BatchDeleteListenerTagsRequestBody{Action: v2model.GetBatchDeleteListenerTagsRequestBodyActionEnum().DELETE, Tags: v2Tags(keysOnly(keys))}})
}

func v2Tags(tags []Tag) []v2model.ResourceTag {
	return convert(tags, func(t Tag) v2model.ResourceTag { return v2model.ResourceTag{Key: t.Key, Value: t.Value} })
}
