package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
)

type envelope struct {
	ErrorMsg  string `json:"error_msg"`
	ErrorCode string `json:"error_code"`
	RequestID string `json:"request_id"`
}

func do(t *testing.T, method, url, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func TestErrorEnvelopeAndJSONHandling(t *testing.T) {
	e := newEnv(t)
	srv := rawRouter(t, e.st)
	base := srv.URL + "/v3/p1/elb/"
	for _, c := range []struct {
		name, method, path, body string
		status                   int
		code, fragment           string
	}{
		{"malformed JSON", "POST", "loadbalancers", `{"loadbalancer": {"name": `, 400, "ELB.8902", "malformed JSON"},
		{"empty body", "POST", "loadbalancers", ``, 400, "ELB.0002", "empty"},
		{"not an object", "POST", "loadbalancers", `[1, 2]`, 400, "ELB.8902", "must be a JSON object, got array"},
		{"missing wrapper", "POST", "loadbalancers", `{"name": "x"}`, 400, "ELB.8902", `"loadbalancer" object`},
		{"wrong type", "POST", "loadbalancers", `{"loadbalancer": {"name": 5}}`, 400, "ELB.8902", "loadbalancer.name must be a JSON string"},
		{"wrong type of an option", "POST", "listeners", `{"listener": {"http2_enable": "yes"}}`, 400, "ELB.8902", "listener.http2_enable must be a JSON bool"},
		{"unknown API", "GET", "nosuch", ``, 404, "APIGW.0101", "no such API"},
		{"wrong method", "PATCH", "loadbalancers", ``, 404, "APIGW.0101", "no such API"},
		{"outside the API", "GET", "../../x", ``, 404, "APIGW.0101", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, hdr, body := do(t, c.method, base+c.path, c.body)
			var env envelope
			if err := json.Unmarshal(body, &env); err != nil {
				t.Fatalf("body %q is not the envelope: %v", body, err)
			}
			if status != c.status || env.ErrorCode != c.code || !strings.Contains(env.ErrorMsg, c.fragment) {
				t.Fatalf("got %d %+v; want %d %s mentioning %q", status, env, c.status, c.code, c.fragment)
			}
			if env.RequestID == "" || hdr.Get("X-Request-Id") != env.RequestID {
				t.Errorf("request_id %q, X-Request-Id %q: want the same non-empty ID", env.RequestID, hdr.Get("X-Request-Id"))
			}
		})
	}
	// Unknown fields are tolerated.
	status, _, body := do(t, "POST", base+"loadbalancers", `{"loadbalancer": {"vip_subnet_cidr_id": "subnet-a1", "flavor": "huge", "tags": [{"key": "k"}]}, "extra": 1}`)
	if status != 201 {
		t.Fatalf("unknown fields: %d %s", status, body)
	}
}

func TestAuthThroughSDK(t *testing.T) {
	e := newEnv(t)
	list := &model.ListLoadBalancersRequest{}
	if _, err := e.c1().ListLoadBalancers(list); err != nil {
		t.Fatalf("signed call: %v", err)
	}
	_, err := e.client("AK1", "wrong", "p1").ListLoadBalancers(list)
	wantErr(t, err, 401, "APIGW.0301")
	_, err = e.client("AK9", "SK1-secret", "p1").ListLoadBalancers(list)
	wantErr(t, err, 401, "APIGW.0301")
	_, err = e.client("AK1", "SK1-secret", "p2").ListLoadBalancers(list)
	wantErr(t, err, 403, "APIGW.0302")
	// Unsigned raw requests get the envelope too.
	status, _, body := do(t, "GET", e.srv.URL+"/v3/p1/elb/loadbalancers", "")
	if status != 401 || !strings.Contains(string(body), "APIGW.0301") {
		t.Errorf("unsigned: %d %s", status, body)
	}
}
