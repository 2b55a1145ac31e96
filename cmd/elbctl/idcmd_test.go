package main

import (
	"strings"
	"testing"

	elbv3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3"
	m3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
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
