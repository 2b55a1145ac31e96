package main

import (
	"reflect"
	"strings"
	"testing"

	m2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"
	elbv3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3"
	m3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
	"github.com/spf13/cobra"
)

func TestByIDFillsThePathParameters(t *testing.T) {
	var got *m3.ShowMemberRequest
	showMember := func(_ *elbv3.ElbClient, r *m3.ShowMemberRequest) (*m3.ShowMemberResponse, error) {
		got = r
		return &m3.ShowMemberResponse{}, nil
	}
	pool := "pool-1"
	if _, err := byID(showMember, &pool)(nil, "member-1"); err != nil {
		t.Fatal(err)
	}
	if got.PoolId != "pool-1" || got.MemberId != "member-1" {
		t.Errorf("request %+v, want pool_id pool-1 and member_id member-1", *got)
	}
	// A member call without its pool is a mistake in elbctl, said before any call.
	if _, err := byID(showMember)(nil, "member-1"); err == nil || !strings.Contains(err.Error(), "2 path parameters, not 1") {
		t.Errorf("byID without the pool: %v", err)
	}
}

func TestListFiltersFillTheRequest(t *testing.T) {
	filters := []filter{{"lb", "LoadbalancerId", "h"}, {"listener", "ListenerId", "h"}, {"name", "Name", "h"}}
	cmd := &cobra.Command{}
	for _, f := range filters {
		cmd.Flags().String(f.flag, "", f.help)
	}
	if err := cmd.Flags().Parse([]string{"--lb", "lb-1", "--listener", "l-1"}); err != nil {
		t.Fatal(err)
	}
	var v3 m3.ListPoolsRequest
	marker, limit := "m-1", int32(7)
	if err := narrow(reflect.ValueOf(&v3).Elem(), cmd, filters[:2], &marker, &limit); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(v3.LoadbalancerId, &[]string{"lb-1"}) || !reflect.DeepEqual(v3.ListenerId, &[]string{"l-1"}) || v3.Marker != &marker || v3.Limit != &limit {
		t.Errorf("v3 request %+v: want loadbalancer_id [lb-1], listener_id [l-1], the marker and the limit", v3)
	}
	var v2 m2.ListPoolsRequest
	if err := narrow(reflect.ValueOf(&v2).Elem(), cmd, filters[:1], nil, nil); err != nil {
		t.Fatal(err)
	}
	if v2.LoadbalancerId == nil || *v2.LoadbalancerId != "lb-1" || v2.Marker != nil || v2.Limit != nil {
		t.Errorf("v2 request %+v: want loadbalancer_id lb-1 and no paging", v2)
	}
	// A filter given on the command line that the request lacks is a mistake in elbctl.
	if err := narrow(reflect.ValueOf(&v2).Elem(), cmd, filters[1:2], nil, nil); err == nil || !strings.Contains(err.Error(), "has no field ListenerId") {
		t.Errorf("v2 --listener: %v", err)
	}
}
