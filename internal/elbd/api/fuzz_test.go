package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"

	"github.com/fleetlb/fleetlb/internal/elbd/api"
	apiv2 "github.com/fleetlb/fleetlb/internal/elbd/api/v2"
	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
)

// FuzzAPI (F4): any method, path, query string and JSON body sent to elbd's API (v3 and v2, signed
// requests assumed: the fuzz is after authentication) is answered without a panic and below 500;
// every refusal is a 4xx in the API's error envelope with a code and a message. Paths and bodies may
// hold {lb}, {listener}, {pool}, {member} and {hm}, replaced by the IDs of resources created first,
// so the committed corpus reaches the handlers behind an ID on every run.
func FuzzAPI(f *testing.F) {
	seeds := []struct{ method, path, query, body string }{
		{"GET", "/v3/p1/elb/loadbalancers", "limit=2&marker={lb}&page_reverse=true&name=lb&vip_address=127.10.1.2", ""},
		{"GET", "/v3/p1/elb/loadbalancers", "limit=-1&guaranteed=maybe&id={lb}&id=x", ""},
		{"POST", "/v3/p1/elb/loadbalancers", "", `{"loadbalancer":{"name":"x","vip_subnet_cidr_id":"subnet-a1","availability_zone_list":["az1"]}}`},
		{"PUT", "/v3/p1/elb/loadbalancers/{lb}", "", `{"loadbalancer":{"name":"y","admin_state_up":false}}`},
		{"GET", "/v3/p1/elb/loadbalancers/{lb}/statuses", "", ""},
		{"POST", "/v3/p1/elb/listeners", "", `{"listener":{"loadbalancer_id":"{lb}","protocol":"UDP","protocol_port":53}}`},
		{"PUT", "/v3/p1/elb/listeners/{listener}", "", `{"listener":{"keepalive_timeout":1e9,"default_pool_id":null}}`},
		{"GET", "/v3/p1/elb/listeners", "protocol_port=80&protocol_port=x", ""},
		{"POST", "/v3/p1/elb/pools", "", `{"pool":{"lb_algorithm":"ROUND_ROBIN","protocol":"TCP","loadbalancer_id":"{lb}","session_persistence":{"type":"SOURCE_IP"}}}`},
		{"PUT", "/v3/p1/elb/pools/{pool}", "", `{"pool":{"lb_algorithm":"NOPE"}}`},
		{"POST", "/v3/p1/elb/pools/{pool}/members", "", `{"member":{"address":"127.10.1.50","protocol_port":80,"subnet_cidr_id":"subnet-a1","weight":101}}`},
		{"POST", "/v3/p1/elb/pools/{pool}/members/batch-add", "", `{"members":[{"address":"127.10.1.51","protocol_port":80},{"address":"::1","protocol_port":0}]}`},
		{"POST", "/v3/p1/elb/pools/{pool}/members/batch-update", "", `{"members":[{"id":"{member}","weight":-1}]}`},
		{"POST", "/v3/p1/elb/pools/{pool}/members/batch-delete", "", `{"members":[{"address":"127.10.1.10","protocol_port":80},{}]}`},
		{"PUT", "/v3/p1/elb/pools/{pool}/members/{member}", "", `{"member":{"weight":"5"}}`},
		{"GET", "/v3/p1/elb/members", "loadbalancer_id={lb}&weight=abc&limit=1", ""},
		{"POST", "/v3/p1/elb/healthmonitors", "", `{"healthmonitor":{"pool_id":"{pool}","type":"HTTP","delay":0,"timeout":51,"max_retries":11,"url_path":"x"}}`},
		{"PUT", "/v3/p1/elb/healthmonitors/{hm}", "", `{"healthmonitor":{"delay":2147483648}}`},
		{"POST", "/v3/p1/loadbalancers/{lb}/tags/action", "", `{"action":"create","tags":[{"key":"a=b","value":"c"}]}`},
		{"GET", "/v3/p1/elb/quotas/details", "quota_key=member&quota_key=x", ""},
		{"DELETE", "/v3/p1/elb/pools/{pool}/delete-cascade", "", ""},
		{"POST", "/v2/p1/elb/loadbalancers", "", `{"loadbalancer":{"vip_subnet_id":"subnet-a2","name":"s"}}`},
		{"POST", "/v2/p1/elb/listeners", "", `{"listener":{"loadbalancer_id":"{lb}","protocol":"TCP","protocol_port":80}}`},
		{"GET", "/v2/p1/elb/loadbalancers", "limit=0&marker=zz", ""},
		{"PUT", "/v2/p1/elb/pools/{pool}/members/{member}", "", `[]`},
		{"GET", "/v1/p1/subnets", "vpc_id=vpc-a", ""},
		{"PATCH", "/v3/p1/elb/loadbalancers", "", "{"},
		{"PATCH", "/v2/p1/elb/loadbalancers", "", ""},
		{"GET", "/v2/p1/elb/nothing/../loadbalancers", "", ""},
		{"GET", "/v3/p1/elb/pools/%2F/members", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.query, []byte(s.body))
	}

	e := openEnv(f, f.TempDir(), nil)
	c := e.c1()
	lb := e.lb(c, true)
	ln := e.listener(c, lb.Id, "TCP", 80)
	pool := e.pool(c, model.CreatePoolOption{Protocol: "TCP", ListenerId: &ln.Id})
	mem, err := e.member(c, pool.Id, model.CreateMemberOption{Address: "127.10.1.10", ProtocolPort: ptr(int32(80)), SubnetCidrId: ptr("subnet-a1")})
	if err != nil {
		f.Fatal(err)
	}
	hm, err := c.CreateHealthMonitor(&model.CreateHealthMonitorRequest{Body: &model.CreateHealthMonitorRequestBody{
		Healthmonitor: &model.CreateHealthMonitorOption{PoolId: pool.Id, Type: "TCP", Delay: 5, Timeout: 3, MaxRetries: 3}}})
	if err != nil {
		f.Fatal(err)
	}
	ids := strings.NewReplacer("{lb}", lb.Id, "{listener}", ln.Id, "{pool}", pool.Id, "{member}", mem.Id, "{hm}", hm.Healthmonitor.Id)
	router, err := api.NewRouter(api.Options{Store: e.st, Auth: allowAll{}, V2: apiv2.New(e.st, api.NopDataPlane{}),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, method, path, query string, body []byte) {
		if method == "" || strings.ContainsAny(method, " \t\r\n") {
			return // not a method a client can send
		}
		r := &http.Request{Method: method, URL: &url.URL{Path: ids.Replace(path), RawQuery: ids.Replace(query)},
			Host: "127.0.0.1", Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(bytes.NewReader([]byte(ids.Replace(string(body))))), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
		r = r.WithContext(t.Context())
		w := httptest.NewRecorder()
		router.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %s?%s %q: %d %s", method, path, query, body, w.Code, w.Body)
		}
		if w.Code < 400 {
			return
		}
		var env apierr.Envelope
		dec := json.NewDecoder(w.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&env); err != nil || env.ErrorCode == "" || strings.TrimSpace(env.ErrorMsg) == "" || env.RequestID == "" {
			t.Fatalf("%s %s?%s %q: %d answered %q, not the error envelope with a code and a message (%v)", method, path, query, body, w.Code, w.Body, err)
		}
	})
}
