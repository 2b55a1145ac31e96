package main

import (
	"reflect"
	"testing"

	m2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"
	m3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
)

func TestResourceTakesTheOneResourceOutOfAResponse(t *testing.T) {
	lb := &m3.LoadBalancer{Id: "lb1"}
	id, req := "lb1", "r1"
	ls := []m2.ListenerResp{{Id: "l1"}}
	for _, c := range []struct {
		name string
		resp any
		want any
	}{
		{"create: the IDs of prepaid orders are not the resource", &m3.CreateLoadBalancerResponse{Loadbalancer: lb, LoadbalancerId: &id, RequestId: &req}, lb},
		{"list: the items, not the pointer", &m2.ListListenersResponse{Listeners: &ls}, ls},
		{"list without items: an empty list", &m2.ListListenersResponse{}, []m2.ListenerResp{}},
		{"not a response: as it is", ls, ls},
	} {
		got, err := resource(c.resp)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %#v, %v; want %#v", c.name, got, err, c.want)
		}
	}
	if _, err := resource(&m3.ShowLoadBalancerStatusResponse{}); err != nil {
		t.Errorf("status response: %v", err)
	}
}

func TestAllPagesFollowsNextMarker(t *testing.T) {
	pages := map[string]*m3.ListListenersResponse{
		"":  {Listeners: &[]m3.Listener{{Id: "a"}, {Id: "b"}}, PageInfo: &m3.PageInfo{NextMarker: ptrTo("b")}},
		"b": {Listeners: &[]m3.Listener{{Id: "c"}}, PageInfo: &m3.PageInfo{NextMarker: ptrTo("c")}},
		"c": {Listeners: &[]m3.Listener{}, PageInfo: &m3.PageInfo{NextMarker: ptrTo("c")}}, // a repeated marker ends it
	}
	var asked []string
	got, err := allPages(func(marker *string) (any, error) {
		m := ""
		if marker != nil {
			m = *marker
		}
		asked = append(asked, m)
		return pages[m], nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, l := range got.([]m3.Listener) {
		ids = append(ids, l.Id)
	}
	if !reflect.DeepEqual(ids, []string{"a", "b", "c"}) || !reflect.DeepEqual(asked, []string{"", "b", "c"}) {
		t.Errorf("listed %v asking %q; want a,b,c asking \"\", b, c", ids, asked)
	}
}

func ptrTo(s string) *string { return &s }
