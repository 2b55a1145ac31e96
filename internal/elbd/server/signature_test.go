package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"

	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/auth"
	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
)

// signedCreate is the v3 CreateLoadBalancer request for project p1 as the SDK builds and signs it
// with ak/sk, carrying body; date, when not zero, replaces the signing time.
func signedCreate(t *testing.T, endpoint, ak, sk string, body any, date time.Time) *http.Request {
	t.Helper()
	b := request.NewHttpRequestBuilder().WithEndpoint(endpoint).WithMethod("POST").WithPath("/v3/p1/elb/loadbalancers").
		AddHeaderParam("User-Agent", "huaweicloud-usdk-go/3.0").AddHeaderParam("X-Project-Id", "p1").
		AddHeaderParam("Content-Type", "application/json;charset=UTF-8").WithBody("body", body)
	if !date.IsZero() {
		b.AddHeaderParam(auth.DateHeader, date.UTC().Format(auth.DateFormat))
	}
	return elbdtest.SignedRequest(t, b, ak, sk)
}

func lbBody(name string) map[string]any {
	return map[string]any{"loadbalancer": map[string]any{"name": name, "vip_subnet_cidr_id": "subnet-a1"}}
}

// F2: every bad signature is refused over real HTTP through elbd with the real API's error shape,
// changes nothing, and no secret key or signature reaches the logs.
func TestSignatureRefusalsThroughElbd(t *testing.T) {
	var logs elbdtest.Logs
	srv := elbdtest.Start(t, elbdtest.Config, elbdtest.Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	var signatures []string
	cases := []struct {
		name       string
		req        func() *http.Request
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{"wrong secret", func() *http.Request {
			return signedCreate(t, srv.URL, "AK1", "SK1-wrong", lbBody("a"), time.Time{})
		}, 401, apierr.CodeUnauthorized, "verify aksk signature fail"},
		{"another project's key", func() *http.Request {
			return signedCreate(t, srv.URL, "AK2", "SK2-secret", lbBody("a"), time.Time{})
		}, 403, apierr.CodeForbidden, "access key AK2 may act only in project p2, not in project p1"},
		{"date 16 minutes ago", func() *http.Request {
			return signedCreate(t, srv.URL, "AK1", "SK1-secret", lbBody("a"), time.Now().Add(-16*time.Minute))
		}, 401, apierr.CodeUnauthorized, "check the client clock"},
		{"date 16 minutes ahead", func() *http.Request {
			return signedCreate(t, srv.URL, "AK1", "SK1-secret", lbBody("a"), time.Now().Add(16*time.Minute))
		}, 401, apierr.CodeUnauthorized, "more than 15m0s from server time"},
		{"replayed with an altered body", func() *http.Request {
			r := signedCreate(t, srv.URL, "AK1", "SK1-secret", lbBody("a"), time.Time{})
			altered, _ := json.Marshal(lbBody("evil"))
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(altered)), int64(len(altered))
			return r
		}, 401, apierr.CodeUnauthorized, "verify aksk signature fail"},
		{"signed header missing", func() *http.Request {
			r := signedCreate(t, srv.URL, "AK1", "SK1-secret", lbBody("a"), time.Time{})
			r.Header.Del("X-Project-Id")
			return r
		}, 401, apierr.CodeUnauthorized, "header x-project-id is listed in SignedHeaders but not sent"},
		{"oversized body", func() *http.Request {
			body := lbBody("a")
			body["loadbalancer"].(map[string]any)["description"] = strings.Repeat("x", apierr.MaxBody)
			return signedCreate(t, srv.URL, "AK1", "SK1-secret", body, time.Time{})
		}, 413, apierr.CodeTooLarge, "larger than 1048576 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := c.req()
			signatures = append(signatures, req.Header.Get("Authorization"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var env apierr.Envelope
			dec := json.NewDecoder(resp.Body)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&env); err != nil {
				t.Fatalf("%s: body is not the API's error envelope: %v", resp.Status, err)
			}
			if resp.StatusCode != c.wantStatus || env.ErrorCode != c.wantCode || !strings.Contains(env.ErrorMsg, c.wantMsg) {
				t.Errorf("got %d %s %q; want %d %s containing %q", resp.StatusCode, env.ErrorCode, env.ErrorMsg, c.wantStatus, c.wantCode, c.wantMsg)
			}
			if env.RequestID == "" || resp.Header.Get(apierr.HeaderRequestID) != env.RequestID {
				t.Errorf("request_id %q, X-Request-Id %q: want the same non-empty ID", env.RequestID, resp.Header.Get(apierr.HeaderRequestID))
			}
		})
	}
	// Nothing was created in either project.
	c1 := elbdtest.V3Client(t, srv.URL, "AK1", "SK1-secret", "p1")
	for _, c := range []struct{ ak, sk, project string }{{"AK1", "SK1-secret", "p1"}, {"AK2", "SK2-secret", "p2"}} {
		lbs, err := elbdtest.V3Client(t, srv.URL, c.ak, c.sk, c.project).ListLoadBalancers(&model.ListLoadBalancersRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(*lbs.Loadbalancers); n != 0 {
			t.Errorf("project %s has %d load balancers after refused requests, want 0", c.project, n)
		}
	}
	// The same request, correctly signed, is accepted: the refusals were the signatures' doing.
	resp, err := http.DefaultClient.Do(signedCreate(t, srv.URL, "AK1", "SK1-secret", lbBody("a"), time.Time{}))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("correctly signed create: %s, want 201", resp.Status)
	}
	if lbs, err := c1.ListLoadBalancers(&model.ListLoadBalancersRequest{}); err != nil || len(*lbs.Loadbalancers) != 1 {
		t.Errorf("after the signed create: %v, %v; want one load balancer", lbs, err)
	}
	// No secret, and no signature that could be replayed, in any log line.
	out := logs.String()
	if !strings.Contains(out, "request refused") {
		t.Fatalf("no refusal logged; the check below would prove nothing:\n%s", out)
	}
	for _, secret := range []string{"SK1-secret", "SK2-secret", "SK1-wrong"} {
		if strings.Contains(out, secret) {
			t.Errorf("a log line holds the secret key %q:\n%s", secret, out)
		}
	}
	for _, a := range signatures {
		if _, sig, ok := strings.Cut(a, "Signature="); ok && strings.Contains(out, sig) {
			t.Errorf("a log line holds a request signature %s", sig)
		}
	}
}
