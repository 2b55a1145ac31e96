package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
)

// E9: tags of load balancers and listeners through the SDK's Change/Show/List*Tags calls
// (paths /v3/{project_id}/loadbalancers|listeners/..., without /elb/), with the limits of
// services/elb/v3/model/model_change_resource_tag_option.go and at most 20 tags per resource.
func TestTagsOfLoadBalancersAndListeners(t *testing.T) {
	e, c, lb := newEnvLB(t, false)
	l := e.listener(c, lb.Id, "TCP", 80)
	create := model.GetChangeLoadbalancerTagsRequestBodyActionEnum().CREATE
	del := model.GetChangeLoadbalancerTagsRequestBodyActionEnum().DELETE
	changeLB := func(action model.ChangeLoadbalancerTagsRequestBodyAction, tags ...model.ChangeResourceTagOption) error {
		_, err := c.ChangeLoadbalancerTags(&model.ChangeLoadbalancerTagsRequest{LoadbalancerId: lb.Id,
			Body: &model.ChangeLoadbalancerTagsRequestBody{Action: action, Tags: tags}})
		return err
	}
	lCreate := model.GetChangeListenerTagsRequestBodyActionEnum().CREATE
	changeL := func(id string, tags ...model.ChangeResourceTagOption) error {
		_, err := c.ChangeListenerTags(&model.ChangeListenerTagsRequest{ListenerId: id,
			Body: &model.ChangeListenerTagsRequestBody{Action: lCreate, Tags: tags}})
		return err
	}
	tag := func(k, v string) model.ChangeResourceTagOption {
		return model.ChangeResourceTagOption{Key: k, Value: v}
	}
	showLB := func() map[string]string {
		t.Helper()
		resp := must[*model.ShowLoadbalancerTagsResponse](t)(c.ShowLoadbalancerTags(&model.ShowLoadbalancerTagsRequest{LoadbalancerId: lb.Id}))
		out := map[string]string{}
		for _, tg := range *resp.Tags {
			out[tg.Key] = tg.Value
		}
		return out
	}

	// Create, overwrite a value, delete by key (empty value matches any) and by key and value.
	if err := changeLB(create, tag("owner", "team-a"), tag("env", "prod"), tag("x", "1")); err != nil {
		t.Fatal(err)
	}
	if err := changeLB(create, tag("env", "test")); err != nil {
		t.Fatal(err)
	}
	if err := changeLB(del, tag("owner", ""), tag("x", "other"), tag("absent", "")); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(showLB()); got != "map[env:test x:1]" {
		t.Fatalf("load balancer tags %s, want env=test x=1 (x's value did not match the delete)", got)
	}
	// The load balancer's own body carries them too.
	got := must[*model.ShowLoadBalancerResponse](t)(c.ShowLoadBalancer(&model.ShowLoadBalancerRequest{LoadbalancerId: lb.Id}))
	if len(got.Loadbalancer.Tags) != 2 {
		t.Fatalf("ShowLoadBalancer tags %v, want 2", got.Loadbalancer.Tags)
	}

	// Limits: each refused call changes nothing.
	bad := []struct {
		name string
		tags []model.ChangeResourceTagOption
		want string
	}{
		{"key too long", []model.ChangeResourceTagOption{tag(strings.Repeat("k", 37), "v")}, "at most 36"},
		{"value too long", []model.ChangeResourceTagOption{tag("k", strings.Repeat("v", 256))}, "at most 255"},
		{"forbidden character", []model.ChangeResourceTagOption{tag("a/b", "v")}, "cannot contain"},
		{"forbidden in value", []model.ChangeResourceTagOption{tag("k", "a=b")}, "cannot contain"},
		{"empty key", []model.ChangeResourceTagOption{tag("", "v")}, "key is empty"},
		{"key twice", []model.ChangeResourceTagOption{tag("k", "1"), tag("k", "2")}, "given twice"},
	}
	for _, b := range bad {
		wantErr(t, changeLB(create, b.tags...), 400, "ELB.8902", b.want)
	}
	var many []model.ChangeResourceTagOption
	for i := 0; i < 19; i++ {
		many = append(many, tag(fmt.Sprintf("k%02d", i), "v"))
	}
	wantErr(t, changeLB(create, many...), 400, "ELB.8902", "at most 20 tags", "would leave 21")
	if got := fmt.Sprint(showLB()); got != "map[env:test x:1]" {
		t.Fatalf("refused calls changed the tags: %s", got)
	}
	if err := changeLB(create, many[:18]...); err != nil {
		t.Fatalf("20 tags refused: %v", err)
	}

	// Listener tags, and the project-wide lists grouped by key.
	if err := changeL(l.Id, tag("fleetlb.cluster.a", "w=3")); err == nil {
		t.Fatal("a value with '=' was accepted")
	}
	l2 := e.listener(c, lb.Id, "UDP", 53)
	if err := changeL(l.Id, tag("cluster", "a")); err != nil {
		t.Fatal(err)
	}
	if err := changeL(l2.Id, tag("cluster", "b")); err != nil {
		t.Fatal(err)
	}
	sl := must[*model.ShowListenerTagsResponse](t)(c.ShowListenerTags(&model.ShowListenerTagsRequest{ListenerId: l2.Id}))
	if len(*sl.Tags) != 1 || (*sl.Tags)[0].Key != "cluster" || (*sl.Tags)[0].Value != "b" {
		t.Fatalf("listener tags %+v, want cluster=b", *sl.Tags)
	}
	ll := must[*model.ListListenerTagsResponse](t)(c.ListListenerTags(&model.ListListenerTagsRequest{}))
	if len(*ll.Tags) != 1 || fmt.Sprint((*ll.Tags)[0].Values) != "[a b]" {
		t.Fatalf("listener tag list %+v, want cluster: [a b]", *ll.Tags)
	}
	lt := must[*model.ListLoadbalancerTagsResponse](t)(c.ListLoadbalancerTags(&model.ListLoadbalancerTagsRequest{}))
	if len(*lt.Tags) != 20 {
		t.Fatalf("load balancer tag list has %d keys, want 20", len(*lt.Tags))
	}
	// An update of the listener keeps its tags.
	must[*model.UpdateListenerResponse](t)(c.UpdateListener(&model.UpdateListenerRequest{ListenerId: l.Id,
		Body: &model.UpdateListenerRequestBody{Listener: &model.UpdateListenerOption{Name: ptr("renamed")}}}))
	sl = must[*model.ShowListenerTagsResponse](t)(c.ShowListenerTags(&model.ShowListenerTagsRequest{ListenerId: l.Id}))
	if len(*sl.Tags) != 1 {
		t.Fatalf("listener update lost its tags: %+v", *sl.Tags)
	}

	// Another project sees neither the resources nor their tags.
	_, err := e.c2().ShowLoadbalancerTags(&model.ShowLoadbalancerTagsRequest{LoadbalancerId: lb.Id})
	wantErr(t, err, 404, "ELB.8904")
}
