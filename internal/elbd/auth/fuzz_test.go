package auth_test

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/auth"
)

// FuzzIdentify (F4): whatever a client sends as Authorization, X-Sdk-Date, X-Sdk-Content-Sha256,
// path, query and body, the verifier never panics, and a refusal is a 401, 403 or 413 in the API's
// error shape with a message that never holds a secret key. The seeds include requests the SDK
// signed at a fixed time (the verifier's clock is pinned to it), so the fuzzer mutates valid
// signatures too.
func FuzzIdentify(f *testing.F) {
	signedAt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, in := range []sdkReq{
		{method: "GET", path: "/v3/p1/elb/loadbalancers", query: map[string]any{"limit": 10, "name": "a b"}},
		{method: "POST", path: "/v3/p1/elb/pools", body: map[string]any{"pool": map[string]any{"protocol": "TCP"}}},
		{method: "DELETE", path: "/v2/p1/elb/members/x"},
	} {
		in.headers = map[string]string{auth.DateHeader: signedAt.Format(auth.DateFormat)}
		r := signWithSDK(f, "http://127.0.0.1:1", in, testAK, testSK)
		var body []byte
		if r.Body != nil {
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(r.Body)
			body = buf.Bytes()
		}
		f.Add(r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get(auth.DateHeader),
			r.Header.Get("X-Sdk-Content-Sha256"), r.Header.Get("X-Project-Id"), body)
	}
	f.Add("GET", "/v3/p1/elb/pools", "", "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=x-sdk-date, Signature=00", "20260102T030405Z", "UNSIGNED-PAYLOAD", "", []byte("x"))
	f.Add("GET", "/v3/p2/elb/pools", "a=%zz", "SDK-HMAC-SHA256 Access=, SignedHeaders=;;, Signature=", "", "", "p2", []byte(nil))
	v := newVerifier(f, auth.WithClock(func() time.Time { return signedAt }))
	f.Fuzz(func(t *testing.T, method, path, rawQuery, authorization, date, contentHash, projectHeader string, body []byte) {
		r, err := http.NewRequest("GET", "http://127.0.0.1:1/", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r.Method, r.URL.Path, r.URL.RawQuery = method, path, rawQuery
		r.Header.Set("User-Agent", "huaweicloud-usdk-go/3.0")
		for k, val := range map[string]string{"Authorization": authorization, auth.DateHeader: date,
			"X-Sdk-Content-Sha256": contentHash, "X-Project-Id": projectHeader} {
			if val != "" {
				r.Header[k] = []string{val}
			}
		}
		project := ""
		if parts := strings.Split(path, "/"); len(parts) > 2 {
			project = parts[2]
		}
		id, err := v.Identify(r, project)
		if err == nil {
			if id.ProjectID != project || id.AccessKey == "" {
				t.Fatalf("accepted as %+v for project %q", id, project)
			}
			return
		}
		var ae *apierr.Error
		if !errors.As(err, &ae) {
			t.Fatalf("refusal %v is %T, not the API's error", err, err)
		}
		switch ae.Status {
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("refusal %d %s %q; want 401, 403 or 413", ae.Status, ae.Code, ae.Msg)
		}
		if ae.Code == "" || strings.TrimSpace(ae.Msg) == "" {
			t.Fatalf("refusal without a code or message: %+v", ae)
		}
		for _, secret := range []string{testSK, "SK2"} {
			if strings.Contains(ae.Msg, secret) {
				t.Fatalf("refusal message %q holds a secret key", ae.Msg)
			}
		}
	})
}
