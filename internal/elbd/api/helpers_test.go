package api_test

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	elb "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"

	"github.com/fleetlb/fleetlb/internal/elbd/api"
	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// env is elbd's API over real HTTP: store in a temp dir, the real SDK-HMAC verifier, the router.
type env struct {
	t     testing.TB
	st    *store.Store
	srv   *elbdtest.Server
	syncs *atomic.Int64
}

// countingDP records Sync calls; statuses are fixed.
type countingDP struct {
	api.NopDataPlane
	n *atomic.Int64
}

func (c countingDP) Sync() { c.n.Add(1) }

func newEnv(t *testing.T) *env {
	t.Helper()
	return openEnv(t, t.TempDir(), nil)
}

// newEnvLB is how most tests begin: elbd, project p1's client and one dedicated load balancer
// in subnet-a1 (ipTarget: with IP-type backends allowed).
func newEnvLB(t *testing.T, ipTarget bool) (*env, *elb.ElbClient, model.LoadBalancer) {
	t.Helper()
	e := newEnv(t)
	c := e.c1()
	return e, c, e.lb(c, ipTarget)
}

// newEnvStack is newEnvLB with a TCP listener on port 80 and its TCP pool, the setting most
// member tests need.
func newEnvStack(t *testing.T, ipTarget bool) (*env, *elb.ElbClient, model.LoadBalancer, model.Listener, model.Pool) {
	t.Helper()
	e, c, lb := newEnvLB(t, ipTarget)
	l := e.listener(c, lb.Id, "TCP", 80)
	return e, c, lb, l, e.pool(c, model.CreatePoolOption{Protocol: "TCP", ListenerId: &l.Id})
}

// openEnv serves the store in dir; dp nil counts Sync calls and reports no statuses.
func openEnv(t testing.TB, dir string, dp api.DataPlane) *env {
	t.Helper()
	syncs := &atomic.Int64{}
	if dp == nil {
		dp = countingDP{n: syncs}
	}
	srv := elbdtest.Start(t, elbdtest.Config, elbdtest.Options{Dir: dir, DataPlane: dp})
	return &env{t: t, st: srv.Store, srv: srv, syncs: syncs}
}

// client is the official v3 SDK client for a key.
func (e *env) client(ak, sk, project string) *elb.ElbClient {
	e.t.Helper()
	return elbdtest.V3Client(e.t, e.srv.URL, ak, sk, project)
}

func (e *env) c1() *elb.ElbClient { return e.client("AK1", "SK1-secret", "p1") }
func (e *env) c2() *elb.ElbClient { return e.client("AK2", "SK2-secret", "p2") }

func ptr[T any](v T) *T { return &v }

// errOf is the error of an SDK call whose response the test does not need.
func errOf[R any](_ R, err error) error { return err }

// wantErr asserts err is the API error envelope with this status and code, and that its
// message contains every fragment.
func wantErr(t *testing.T, err error, status int, code string, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("call succeeded; want %d %s", status, code)
	}
	var se *sdkerr.ServiceResponseError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a service response error", err, err)
	}
	if se.StatusCode != status || se.ErrorCode != code {
		t.Fatalf("got %d %s %q; want %d %s", se.StatusCode, se.ErrorCode, se.ErrorMessage, status, code)
	}
	if len(se.RequestId) != 32 {
		t.Errorf("X-Request-Id %q, want 32 hex digits", se.RequestId)
	}
	for _, f := range fragments {
		if !strings.Contains(se.ErrorMessage, f) {
			t.Errorf("message %q does not mention %q", se.ErrorMessage, f)
		}
	}
}

// must is elbdtest.Must, short for the many calls here.
func must[T any](t *testing.T) func(T, error) T { return elbdtest.Must[T](t) }

// createLB is the CreateLoadBalancer call with opt as its body.
func createLB(c *elb.ElbClient, opt model.CreateLoadBalancerOption) (*model.CreateLoadBalancerResponse, error) {
	return c.CreateLoadBalancer(&model.CreateLoadBalancerRequest{Body: &model.CreateLoadBalancerRequestBody{Loadbalancer: &opt}})
}

// lb creates a dedicated load balancer in subnet-a1.
func (e *env) lb(c *elb.ElbClient, ipTarget bool) model.LoadBalancer {
	e.t.Helper()
	resp, err := createLB(c, model.CreateLoadBalancerOption{Name: ptr("lb"), VipSubnetCidrId: ptr("subnet-a1"), IpTargetEnable: ptr(ipTarget)})
	if err != nil {
		e.t.Fatal(err)
	}
	return *resp.Loadbalancer
}

func (e *env) listener(c *elb.ElbClient, lbID, protocol string, port int32) model.Listener {
	e.t.Helper()
	resp, err := c.CreateListener(&model.CreateListenerRequest{Body: &model.CreateListenerRequestBody{
		Listener: &model.CreateListenerOption{LoadbalancerId: lbID, Protocol: protocol, ProtocolPort: ptr(port)},
	}})
	if err != nil {
		e.t.Fatal(err)
	}
	return *resp.Listener
}

func (e *env) pool(c *elb.ElbClient, opt model.CreatePoolOption) model.Pool {
	e.t.Helper()
	if opt.LbAlgorithm == "" {
		opt.LbAlgorithm = "ROUND_ROBIN"
	}
	resp, err := c.CreatePool(&model.CreatePoolRequest{Body: &model.CreatePoolRequestBody{Pool: &opt}})
	if err != nil {
		e.t.Fatal(err)
	}
	return *resp.Pool
}

func (e *env) member(c *elb.ElbClient, poolID string, opt model.CreateMemberOption) (*model.Member, error) {
	resp, err := c.CreateMember(&model.CreateMemberRequest{PoolId: poolID, Body: &model.CreateMemberRequestBody{Member: &opt}})
	if err != nil {
		return nil, err
	}
	return resp.Member, nil
}

// raw sends an unsigned request to a router whose authenticator admits everyone, to test what
// the SDK cannot send (malformed JSON, unknown routes).
func rawRouter(t testing.TB, st *store.Store) *httptest.Server {
	t.Helper()
	h, err := api.NewRouter(api.Options{Store: st, Auth: allowAll{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

type allowAll struct{}

func (allowAll) Authenticate(*http.Request, string) error { return nil }
