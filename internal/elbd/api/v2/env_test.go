package apiv2_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	elbv2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2"
	elbv3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3"

	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
)

// fixedStatus stands in for the data plane's health view.
type fixedStatus struct{}

func (fixedStatus) Sync()                           {}
func (fixedStatus) MemberStatus(string) string      { return "ONLINE" }
func (fixedStatus) ListenerStatus(string) string    { return "ONLINE" }
func (fixedStatus) ListenerDataPlane(string) string { return "" }

// env is elbd's whole API over real HTTP: a bbolt store in a temp dir, the SDK-HMAC verifier,
// the router with its v3 API, and this package's v2 handler mounted as the router's V2.
type env struct {
	t   *testing.T
	srv *elbdtest.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return openEnv(t, t.TempDir())
}

// stop shuts the server and closes the store, as elbd does on SIGTERM.
func (e *env) stop() {
	if err := e.srv.Close(); err != nil {
		e.t.Fatal(err)
	}
}

// openEnv starts elbd's API on the data directory dir.
func openEnv(t *testing.T, dir string) *env {
	t.Helper()
	return &env{t: t, srv: elbdtest.Start(t, elbdtest.Config, elbdtest.Options{Dir: dir, DataPlane: fixedStatus{}})}
}

func (e *env) v2As(ak, sk, project string) *elbv2.ElbClient {
	e.t.Helper()
	return elbdtest.V2Client(e.t, e.srv.URL, ak, sk, project)
}

func (e *env) v2() *elbv2.ElbClient { return e.v2As("AK1", "SK1-secret", "p1") }

// newShared is how most tests begin: elbd, project p1's client and createShared's objects.
func newShared(t *testing.T) (*env, *elbv2.ElbClient, shared) {
	t.Helper()
	e := newEnv(t)
	return e, e.v2(), createShared(t, e)
}

func (e *env) v3() *elbv3.ElbClient {
	e.t.Helper()
	return elbdtest.V3Client(e.t, e.srv.URL, "AK1", "SK1-secret", "p1")
}

// raw sends a request signed by the SDK's signer with a body the SDK itself would never send.
func (e *env) raw(method, path string, body string) (int, map[string]any) {
	e.t.Helper()
	path, rawQuery, _ := strings.Cut(path, "?")
	b := request.NewHttpRequestBuilder().WithEndpoint(e.srv.URL).WithMethod(method).WithPath(path).
		AddHeaderParam("Content-Type", "application/json;charset=UTF-8")
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, vs := range query {
		b.AddQueryParam(k, reflect.ValueOf(vs))
	}
	if body != "" {
		b.WithBody("body", body)
	}
	req := b.Build()
	headers, err := signer.Sign(req, "AK1", "SK1-secret")
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range headers {
		req.AddHeaderParam(k, v)
	}
	hr, err := req.ConvertRequest()
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &out); err != nil {
			e.t.Fatalf("%s %s: response is not JSON: %q", method, path, data)
		}
	}
	return resp.StatusCode, out
}

// wantAPIError checks that err is the API's error with this status, code and message part.
func wantAPIError(t *testing.T, what string, err error, status int, code, msgPart string) {
	t.Helper()
	var se *sdkerr.ServiceResponseError
	if !errors.As(err, &se) {
		t.Fatalf("%s: got %v, want HTTP %d", what, err, status)
	}
	if se.StatusCode != status || se.ErrorCode != code || !strings.Contains(se.ErrorMessage, msgPart) || se.RequestId == "" {
		t.Fatalf("%s: got %d %s %q (request id %q), want %d %s containing %q", what, se.StatusCode, se.ErrorCode, se.ErrorMessage,
			se.RequestId, status, code, msgPart)
	}
}

func ptr[T any](v T) *T { return &v }

// errOf is the error of an SDK call whose response the test does not need.
func errOf[R any](_ R, err error) error { return err }

// racing counts the outcomes of writes made at once: done (no error) and busy (409 Conflict);
// any other error fails the test. Safe for concurrent use.
type racing struct {
	mu         sync.Mutex
	done, busy int
}

func (r *racing) count(t *testing.T, what string, err error) {
	var se *sdkerr.ServiceResponseError
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case err == nil:
		r.done++
	case errors.As(err, &se) && se.StatusCode == 409:
		r.busy++
	default:
		t.Errorf("%s: %v", what, err)
	}
}
