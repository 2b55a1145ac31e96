package apiop

import "testing"

func TestName(t *testing.T) {
	for _, c := range []struct{ method, path, want string }{
		{"GET", "/v3/0123456789abcdef0123456789abcdef/elb/listeners/4b1c2d3e-0000-4a4b-8c8d-123456789abc", "GET /v3/elb/listeners/{id}"},
		{"POST", "/v3/p1/elb/pools/4b1c2d3e-0000-4a4b-8c8d-123456789abc/members/batch-add", "POST /v3/elb/pools/{id}/members/batch-add"},
		{"GET", "/v2/0123456789abcdef0123456789abcdef/elb/loadbalancers/4b1c2d3e-0000-4a4b-8c8d-123456789abc/statuses", "GET /v2/elb/loadbalancers/{id}/statuses"},
		{"POST", "/v3/p1/loadbalancers/4b1c2d3e-0000-4a4b-8c8d-123456789abc/tags/action", "POST /v3/loadbalancers/{id}/tags/action"},
		{"GET", "/v1/0123456789abcdef0123456789abcdef/subnets", "GET /v1/subnets"},
		{"GET", "/v3/p1/elb/loadbalancers", "GET /v3/elb/loadbalancers"},
		{"GET", "/v2.0/subnets/4b1c2d3e-0000-4a4b-8c8d-123456789abc", "GET /v2.0/subnets/{id}"},
	} {
		if got := Name(c.method, c.path); got != c.want {
			t.Errorf("Name(%s %s) = %q, want %q", c.method, c.path, got, c.want)
		}
	}
}
