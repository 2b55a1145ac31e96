package auth_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	elb "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"

	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/auth"
	"github.com/fleetlb/fleetlb/internal/elbd/config"
	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
)

// The API router's Authenticator (internal/elbd/api) is what elbd wires this
// package into; its method set is repeated here so this package's tests do not
// depend on the API's.
var _ interface {
	Authenticate(r *http.Request, projectID string) error
} = (*auth.Verifier)(nil)

const (
	testAK      = "AK1"
	testSK      = "SK1-secret"
	testProject = "p1"
)

// server answers every request with the outcome of Authenticate, plus the body
// the handler could read after it, so tests can see what a real handler sees.
type outcome struct {
	Status    int    `json:"status"`
	Code      string `json:"error_code,omitempty"`
	Message   string `json:"error_msg,omitempty"`
	AccessKey string `json:"access_key,omitempty"`
	Body      string `json:"body,omitempty"`
}

func newServer(t *testing.T, v *auth.Verifier) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// /v3/{project_id}/elb/...
		parts := strings.Split(r.URL.Path, "/")
		project := ""
		if len(parts) > 2 {
			project = parts[2]
		}
		id, err := v.Identify(r, project)
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			var ae *apierr.Error
			if !errors.As(err, &ae) {
				t.Errorf("Identify returned %T, want *apierr.Error", err)
				w.WriteHeader(500)
				return
			}
			w.WriteHeader(ae.Status)
			_ = json.NewEncoder(w).Encode(outcome{Status: ae.Status, Code: ae.Code, Message: ae.Msg})
			return
		}
		body, _ := io.ReadAll(r.Body)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"loadbalancers": []any{}, "page_info": map[string]any{"current_count": 0},
			"access_key": id.AccessKey, "body": string(body), "status": 200,
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func newVerifier(t testing.TB, opts ...auth.Option) *auth.Verifier {
	t.Helper()
	v, err := auth.NewVerifier([]config.Credential{
		{AccessKey: testAK, SecretKey: testSK, ProjectID: testProject},
		{AccessKey: "AK2", SecretKey: "SK2", ProjectID: "p2"},
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

type sdkReq struct {
	method, path string
	query        map[string]any
	headers      map[string]string
	body         any
}

// signWithSDK builds the request exactly as the SDK's HTTP client does and signs
// it with the SDK's own signer, then converts it to the *http.Request it sends.
func signWithSDK(t testing.TB, endpoint string, in sdkReq, ak, sk string) *http.Request {
	t.Helper()
	b := request.NewHttpRequestBuilder().WithEndpoint(endpoint).WithMethod(in.method).WithPath(in.path).
		AddHeaderParam("User-Agent", "huaweicloud-usdk-go/3.0").
		AddHeaderParam("X-Project-Id", testProject)
	for k, v := range in.query {
		b.AddQueryParam(k, reflect.ValueOf(v))
	}
	for k, v := range in.headers {
		b.AddHeaderParam(k, v)
	}
	if in.body != nil {
		b.AddHeaderParam("Content-Type", "application/json;charset=UTF-8").WithBody("body", in.body)
	}
	return elbdtest.SignedRequest(t, b, ak, sk)
}

func send(t *testing.T, req *http.Request) outcome {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var o outcome
	if err := json.NewDecoder(resp.Body).Decode(&o); err != nil {
		t.Fatal(err)
	}
	if o.Status != resp.StatusCode {
		t.Fatalf("status %d, body says %d", resp.StatusCode, o.Status)
	}
	return o
}

type createBody struct {
	Loadbalancer map[string]any `json:"loadbalancer"`
}

func TestSDKSignedRequestsVerify(t *testing.T) {
	srv := newServer(t, newVerifier(t))
	cases := map[string]sdkReq{
		"get without query": {method: "GET", path: "/v3/p1/elb/loadbalancers"},
		"trailing slash":    {method: "GET", path: "/v3/p1/elb/loadbalancers/"},
		"repeated query keys and odd characters": {method: "GET", path: "/v3/p1/elb/listeners",
			query: map[string]any{"protocol_port": []int32{81, 80}, "name": "a b/c+d=é&", "limit": 2, "empty": ""}},
		"escaped path segment": {method: "GET", path: "/v3/p1/elb/loadbalancers/a%2Fb c"},
		"post with json body": {method: "POST", path: "/v3/p1/elb/loadbalancers",
			body: createBody{Loadbalancer: map[string]any{"name": "<lb & 1>", "ip_target_enable": true}}},
		"delete": {method: "DELETE", path: "/v3/p1/elb/loadbalancers/123"},
		"unsigned underscore header and extra header": {method: "PUT", path: "/v3/p1/elb/pools/1",
			headers: map[string]string{"Weird_Header": "x", "X-Extra": "  padded  "}, body: map[string]any{"pool": map[string]any{}}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			req := signWithSDK(t, srv.URL, c, testAK, testSK)
			o := send(t, req)
			if o.Status != 200 {
				t.Fatalf("got %d %s %q, want 200", o.Status, o.Code, o.Message)
			}
			if o.AccessKey != testAK {
				t.Fatalf("identity %q, want %q", o.AccessKey, testAK)
			}
			if c.body != nil && !strings.Contains(o.Body, "loadbalancer") && !strings.Contains(o.Body, "pool") {
				t.Fatalf("handler could not read the body after auth: %q", o.Body)
			}
		})
	}
}

func TestRejections(t *testing.T) {
	srv := newServer(t, newVerifier(t))
	base := sdkReq{method: "POST", path: "/v3/p1/elb/listeners", query: map[string]any{"limit": 10},
		body: map[string]any{"listener": map[string]any{"protocol_port": 80}}}
	cases := []struct {
		name       string
		ak, sk     string
		in         sdkReq
		tamper     func(*http.Request)
		wantStatus int
		wantMsg    string
	}{
		{name: "tampered body", tamper: func(r *http.Request) {
			b := []byte(`{"listener":{"protocol_port":81}}` + "\n")
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		}, wantStatus: 401, wantMsg: "signature"},
		{name: "tampered query", tamper: func(r *http.Request) { r.URL.RawQuery = "limit=11" }, wantStatus: 401, wantMsg: "signature"},
		{name: "added query", tamper: func(r *http.Request) { r.URL.RawQuery += "&marker=x" }, wantStatus: 401, wantMsg: "signature"},
		{name: "tampered path", tamper: func(r *http.Request) { r.URL.Path = "/v3/p1/elb/pools" }, wantStatus: 401, wantMsg: "signature"},
		{name: "tampered method", tamper: func(r *http.Request) { r.Method = "PUT" }, wantStatus: 401, wantMsg: "signature"},
		{name: "tampered signed header", tamper: func(r *http.Request) { r.Header.Set("User-Agent", "evil") }, wantStatus: 401, wantMsg: "signature"},
		{name: "date moved", tamper: func(r *http.Request) {
			r.Header.Set(auth.DateHeader, time.Now().UTC().Add(time.Minute).Format(auth.DateFormat))
		}, wantStatus: 401, wantMsg: "signature"},
		{name: "content hash header claims other body", tamper: func(r *http.Request) {
			r.Header.Set("X-Sdk-Content-Sha256", "UNSIGNED-PAYLOAD")
		}, wantStatus: 401, wantMsg: "X-Sdk-Content-Sha256"},
		{name: "signed header not sent", tamper: func(r *http.Request) { r.Header.Del("X-Project-Id") }, wantStatus: 401, wantMsg: "header x-project-id is listed in SignedHeaders but not sent"},
		{name: "date header not signed", tamper: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), ";x-sdk-date", "", 1))
		}, wantStatus: 401, wantMsg: "header X-Sdk-Date must be signed"},
		{name: "no authorization", tamper: func(r *http.Request) { r.Header.Del("Authorization") }, wantStatus: 401, wantMsg: "missing Authorization"},
		{name: "other algorithm", tamper: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "SDK-HMAC-SHA256", "SDK-HMAC-SM3", 1))
		}, wantStatus: 401, wantMsg: "unsupported signing algorithm"},
		{name: "garbage signature", tamper: func(r *http.Request) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:strings.Index(a, "Signature=")]+"Signature=zz")
		}, wantStatus: 401, wantMsg: "not a hex"},
		{name: "wrong secret key", sk: "SK1-wrong", wantStatus: 401, wantMsg: "verify aksk signature fail"},
		{name: "unknown access key", ak: "AK9", wantStatus: 401, wantMsg: `access key "AK9" does not exist`},
		{name: "other key's secret", ak: "AK2", sk: testSK, wantStatus: 401, wantMsg: "signature"},
		{name: "old date", in: sdkReq{method: "GET", path: "/v3/p1/elb/listeners", headers: map[string]string{
			auth.DateHeader: time.Now().UTC().Add(-16 * time.Minute).Format(auth.DateFormat)}},
			wantStatus: 401, wantMsg: "more than 15m0s from server time"},
		{name: "future date", in: sdkReq{method: "GET", path: "/v3/p1/elb/listeners", headers: map[string]string{
			auth.DateHeader: time.Now().UTC().Add(16 * time.Minute).Format(auth.DateFormat)}},
			wantStatus: 401, wantMsg: "check the client clock"},
		{name: "wrong project in path", in: sdkReq{method: "GET", path: "/v3/p2/elb/listeners"},
			wantStatus: 403, wantMsg: "access key AK1 may act only in project p1, not in project p2"},
		{name: "wrong project header", tamper: nil, in: sdkReq{method: "GET", path: "/v3/p1/elb/listeners",
			headers: map[string]string{"X-Project-Id": "p2"}}, wantStatus: 403, wantMsg: "not in project p2"},
		{name: "project valid for other key", ak: "AK2", sk: "SK2", wantStatus: 403, wantMsg: "access key AK2 may act only in project p2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ak, sk, in := testAK, testSK, base
			if c.ak != "" {
				ak = c.ak
			}
			if c.sk != "" {
				sk = c.sk
			}
			if c.in.method != "" {
				in = c.in
			}
			req := signWithSDK(t, srv.URL, in, ak, sk)
			if c.tamper != nil {
				c.tamper(req)
			}
			o := send(t, req)
			if o.Status != c.wantStatus || !strings.Contains(o.Message, c.wantMsg) {
				t.Fatalf("got %d %q, want %d containing %q", o.Status, o.Message, c.wantStatus, c.wantMsg)
			}
			wantCode := apierr.CodeUnauthorized
			if c.wantStatus == 403 {
				wantCode = apierr.CodeForbidden
			}
			if o.Code != wantCode {
				t.Fatalf("error_code %q, want %q", o.Code, wantCode)
			}
			if strings.Contains(o.Message, sk) {
				t.Fatalf("error message leaks the secret key: %q", o.Message)
			}
		})
	}
}

func TestClockInjectedWindowEdges(t *testing.T) {
	signedAt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		offset time.Duration
		ok     bool
	}{{15 * time.Minute, true}, {-15 * time.Minute, true}, {15*time.Minute + time.Second, false}, {-15*time.Minute - time.Second, false}} {
		now := signedAt.Add(c.offset)
		srv := newServer(t, newVerifier(t, auth.WithClock(func() time.Time { return now })))
		req := signWithSDK(t, srv.URL, sdkReq{method: "GET", path: "/v3/p1/elb/pools",
			headers: map[string]string{auth.DateHeader: signedAt.Format(auth.DateFormat)}}, testAK, testSK)
		if got := send(t, req).Status == 200; got != c.ok {
			t.Errorf("server clock %v from signing time: accepted=%v, want %v", c.offset, got, c.ok)
		}
	}
}

func TestBodyTooLarge(t *testing.T) {
	srv := newServer(t, newVerifier(t))
	big := strings.Repeat("x", apierr.MaxBody)
	req := signWithSDK(t, srv.URL, sdkReq{method: "POST", path: "/v3/p1/elb/pools", body: map[string]string{"pad": big}}, testAK, testSK)
	if o := send(t, req); o.Status != http.StatusRequestEntityTooLarge || o.Code != apierr.CodeTooLarge || !strings.Contains(o.Message, "larger than") {
		t.Fatalf("got %d %s %q, want 413 %s saying the body is too large", o.Status, o.Code, o.Message, apierr.CodeTooLarge)
	}
}

// TestOfficialClient goes through the SDK's real ELB v3 client end to end.
func TestOfficialClient(t *testing.T) {
	srv := newServer(t, newVerifier(t))
	client := func(ak, sk, project string) *elb.ElbClient {
		cred, err := basic.NewCredentialsBuilder().WithAk(ak).WithSk(sk).WithProjectId(project).SafeBuild()
		if err != nil {
			t.Fatal(err)
		}
		hc, err := elb.ElbClientBuilder().WithEndpoints([]string{srv.URL}).WithCredential(cred).SafeBuild()
		if err != nil {
			t.Fatal(err)
		}
		return elb.NewElbClient(hc)
	}
	limit := int32(5)
	name := []string{"lb a", "lb/b"}
	req := &model.ListLoadBalancersRequest{Limit: &limit, Name: &name}
	if _, err := client(testAK, testSK, testProject).ListLoadBalancers(req); err != nil {
		t.Fatalf("signed SDK call rejected: %v", err)
	}
	for _, c := range []struct {
		name, ak, sk, project string
		status                int
	}{
		{"wrong SK", testAK, "nope", testProject, 401},
		{"unknown AK", "AKX", testSK, testProject, 401},
		{"wrong project", testAK, testSK, "p2", 403},
	} {
		_, err := client(c.ak, c.sk, c.project).ListLoadBalancers(req)
		var se *sdkerr.ServiceResponseError
		if !errors.As(err, &se) {
			t.Fatalf("%s: got %v, want a service error", c.name, err)
		}
		if se.StatusCode != c.status || se.ErrorCode == "" || se.ErrorMessage == "" {
			t.Fatalf("%s: got %d %q %q, want %d with code and message", c.name, se.StatusCode, se.ErrorCode, se.ErrorMessage, c.status)
		}
	}
}

func TestNewVerifierRejectsBadCredentials(t *testing.T) {
	for _, c := range []struct {
		creds []config.Credential
		want  string
	}{
		{[]config.Credential{{SecretKey: "s", ProjectID: "p"}}, "accessKey is empty"},
		{[]config.Credential{{AccessKey: "a", ProjectID: "p"}}, "secretKey is empty"},
		{[]config.Credential{{AccessKey: "a", SecretKey: "s"}}, "projectID is empty"},
		{[]config.Credential{{AccessKey: "a", SecretKey: "s", ProjectID: "p"}, {AccessKey: "a", SecretKey: "t", ProjectID: "q"}}, "listed twice"},
	} {
		_, err := auth.NewVerifier(c.creds)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want error containing %q", err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), `"s"`) {
			t.Errorf("error leaks a secret: %v", err)
		}
	}
}
