package elbclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fleetlb/fleetlb/internal/common/elbrules"
)

// scripted answers every request with fn, and records the requests. Its client makes each call
// once (Retry.Attempts 1): these tests are about one call; retry_test.go is about repeats.
type scripted struct {
	mu   sync.Mutex
	reqs []string
	srv  *httptest.Server
}

func newScripted(t *testing.T, fn func(w http.ResponseWriter, r *http.Request)) (*scripted, *SDK) {
	t.Helper()
	s := &scripted{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.reqs = append(s.reqs, r.Method+" "+r.URL.RequestURI())
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fn(w, r)
	}))
	t.Cleanup(s.srv.Close)
	c, err := New(Config{Endpoint: s.srv.URL, ProjectID: "p1", AK: "ak", SK: "sk", Timeout: 300 * time.Millisecond, Retry: Retry{Attempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func (s *scripted) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reqs...)
}

func envelope(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("X-Request-Id", "req-123")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error_code":%q,"error_msg":%q,"request_id":"req-123"}`, code, msg)
}

func TestErrorsAreTyped(t *testing.T) {
	cases := []struct {
		status    int
		kind      error
		retryable bool
	}{
		{404, ErrNotFound, false}, {409, ErrConflict, true}, {401, ErrUnauthorized, false}, {403, ErrForbidden, false},
		{400, ErrBadRequest, false}, {429, ErrThrottled, true}, {500, ErrServer, true}, {503, ErrServer, true},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			_, c := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
				envelope(w, tc.status, "ELB.8907", "the pool is busy")
			})
			err := c.API(elbrules.ClassPerformance).DeletePool(context.Background(), "pool-1")
			var ae *APIError
			if !errors.Is(err, tc.kind) || !errors.As(err, &ae) {
				t.Fatalf("err = %v, want %v", err, tc.kind)
			}
			if ae.StatusCode != tc.status || ae.Code != "ELB.8907" || ae.Message != "the pool is busy" || ae.Op != "v3 DeletePool" {
				t.Fatalf("APIError = %+v", ae)
			}
			if Retryable(err) != tc.retryable {
				t.Fatalf("Retryable = %v", !tc.retryable)
			}
			for _, s := range []string{"v3 DeletePool", fmt.Sprint(tc.status), "ELB.8907", "the pool is busy", "req-123"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%q does not mention %q", err.Error(), s)
				}
			}
		})
	}
}

func TestTimeoutIsUnreachableAndRetryable(t *testing.T) {
	release := make(chan struct{})
	s, c := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
	})
	defer close(release)
	err := c.API(elbrules.ClassPerformance).DeleteListener(context.Background(), "l1")
	if !errors.Is(err, ErrUnreachable) || !Retryable(err) {
		t.Fatalf("err = %v", err)
	}
	if len(s.requests()) != 1 {
		t.Fatalf("the SDK retried by itself: %v", s.requests())
	}
	if c.Writes() != 1 {
		t.Fatalf("writes = %d", c.Writes())
	}
}

func TestCanceledContextMakesNoCall(t *testing.T) {
	s, c := newScripted(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{}`)) })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.API(elbrules.ClassUnion).DeleteMembers(ctx, "p", []string{"a"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if len(s.requests()) != 0 || c.Writes() != 0 {
		t.Fatalf("requests %v, writes %d", s.requests(), c.Writes())
	}
}

// A shared ELB is not in the v3 API (404), so it is looked up in v2.
func TestGetLoadBalancerFallsBackToV2(t *testing.T) {
	s, c := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/v3/p1/elb/loadbalancers/lb-shared"):
			envelope(w, 404, "ELB.8904", "not found")
		case strings.HasPrefix(r.URL.Path, "/v2/p1/elb/loadbalancers/lb-shared"):
			w.Write([]byte(`{"loadbalancer":{"id":"lb-shared","name":"s","vip_address":"127.30.0.9","vip_subnet_id":"subnet-u","provisioning_status":"ACTIVE","operating_status":"ONLINE"}}`))
		case strings.HasPrefix(r.URL.Path, "/v3/p1/elb/loadbalancers/lb-ded"):
			w.Write([]byte(`{"loadbalancer":{"id":"lb-ded","vip_address":"127.10.0.9","guaranteed":true,"ip_target_enable":true,"vpc_id":"vpc-a","vip_subnet_cidr_id":"subnet-a1"}}`))
		default:
			envelope(w, 404, "APIGW.0101", "no route")
		}
	})
	lb, err := c.GetLoadBalancer(context.Background(), "lb-shared")
	if err != nil || lb.Class != elbrules.ClassUnion || lb.VIP != "127.30.0.9" || lb.SubnetID != "subnet-u" || lb.IPTargetEnable {
		t.Fatalf("shared = %+v, %v", lb, err)
	}
	lb, err = c.GetLoadBalancer(context.Background(), "lb-ded")
	if err != nil || lb.Class != elbrules.ClassPerformance || !lb.IPTargetEnable || lb.VPCID != "vpc-a" || lb.SubnetID != "subnet-a1" {
		t.Fatalf("dedicated = %+v, %v", lb, err)
	}
	if _, err := c.GetLoadBalancer(context.Background(), "lb-none"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	if c.Writes() != 0 {
		t.Fatalf("reads counted as writes: %d", c.Writes())
	}
	_ = s
}

// Union members: one call each, the ELB's subnet filled in, 409 on an existing one is Existed.
func TestV2MembersOneCallEachWithSubnet(t *testing.T) {
	var bodies []string
	var mu sync.Mutex
	_, c := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "GET" && r.URL.Path == "/v2/p1/elb/pools/pool-u":
			w.Write([]byte(`{"pool":{"id":"pool-u","protocol":"TCP","lb_algorithm":"ROUND_ROBIN","loadbalancers":[{"id":"lb-u"}]}}`))
		case r.Method == "GET" && r.URL.Path == "/v2/p1/elb/loadbalancers/lb-u":
			w.Write([]byte(`{"loadbalancer":{"id":"lb-u","vip_subnet_id":"subnet-u"}}`))
		case r.Method == "POST" && r.URL.Path == "/v2/p1/elb/pools/pool-u/members":
			body := readAll(r)
			mu.Lock()
			bodies = append(bodies, body)
			mu.Unlock()
			if strings.Contains(body, "10.0.0.2") {
				envelope(w, 409, "ELB.8907", "member exists")
				return
			}
			w.Write([]byte(`{"member":{"id":"m1","name":"n","address":"10.0.0.1","protocol_port":80,"weight":5,"subnet_id":"subnet-u"}}`))
		case r.Method == "GET" && r.URL.Path == "/v2/p1/elb/pools/pool-u/members":
			w.Write([]byte(`{"members":[{"id":"m1","address":"10.0.0.1","protocol_port":80,"weight":5,"subnet_id":"subnet-u"},{"id":"m2","name":"x","address":"10.0.0.2","protocol_port":80,"weight":7,"subnet_id":"subnet-u"}]}`))
		default:
			envelope(w, 404, "APIGW.0101", r.Method+" "+r.URL.Path)
		}
	})
	added, err := c.API(elbrules.ClassUnion).AddMembers(context.Background(), "pool-u", []MemberSpec{
		{Name: "n", Address: "10.0.0.1", Port: 80, Weight: 5},
		{Name: "n", Address: "10.0.0.2", Port: 80, Weight: 5},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(added) != 2 || added[0].Existed || !added[1].Existed || added[1].Member.ID != "m2" {
		t.Fatalf("added = %+v", added)
	}
	if len(bodies) != 2 || !strings.Contains(bodies[0], `"subnet_id":"subnet-u"`) {
		t.Fatalf("bodies = %v", bodies)
	}
	if c.Writes() != 2 {
		t.Fatalf("writes = %d, want one per member", c.Writes())
	}
}

func readAll(r *http.Request) string {
	b := new(strings.Builder)
	buf := make([]byte, 4096)
	for {
		n, err := r.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

func TestPaginateStopsOnRepeatsAndShortPages(t *testing.T) {
	calls := 0
	// A server that ignores the marker and always returns a full page must not loop forever.
	out, err := paginate(func(marker *string) ([]int, *string, error) {
		calls++
		page := make([]int, pageSize)
		for i := range page {
			page[i] = i
		}
		return page, nil, nil
	}, func(i int) string { return fmt.Sprint(i) })
	if err != nil || len(out) != pageSize || calls != 2 {
		t.Fatalf("len %d calls %d err %v", len(out), calls, err)
	}
	// Two full pages then a short one, following next markers.
	calls = 0
	var markers []string
	out, _ = paginate(func(marker *string) ([]int, *string, error) {
		markers = append(markers, deref(marker))
		calls++
		n := pageSize
		if calls == 3 {
			n = 3
		}
		page := make([]int, n)
		for i := range page {
			page[i] = calls*10000 + i
		}
		next := fmt.Sprint("m", calls)
		return page, &next, nil
	}, func(i int) string { return fmt.Sprint(i) })
	if len(out) != 2*pageSize+3 || strings.Join(markers, ",") != ",m1,m2" {
		t.Fatalf("len %d markers %v", len(out), markers)
	}
}

func TestEnumBuildsSDKEnums(t *testing.T) {
	_, c := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
		body := readAll(r)
		if !strings.Contains(body, `"protocol":"UDP"`) || !strings.Contains(body, `"description":"fleetlb/v1 x"`) {
			envelope(w, 400, "ELB.8902", "bad body "+body)
			return
		}
		w.Write([]byte(`{"listener":{"id":"l1","protocol":"UDP","protocol_port":53,"description":"fleetlb/v1 x","loadbalancers":[{"id":"lb-u"}]}}`))
	})
	l, err := c.API(elbrules.ClassUnion).CreateListener(context.Background(), ListenerSpec{LoadBalancerID: "lb-u", Protocol: "UDP", Port: 53, Description: "fleetlb/v1 x"})
	if err != nil || l.Protocol != "UDP" || l.Port != 53 || l.LoadBalancerID != "lb-u" {
		t.Fatalf("listener %+v, %v", l, err)
	}
}

func TestWriteCounterPerContext(t *testing.T) {
	_, c := newScripted(t, func(w http.ResponseWriter, r *http.Request) { envelope(w, 404, "ELB.8904", "gone") })
	var mine, theirs atomic.Int64
	ctxA := WithWriteCounter(context.Background(), &mine)
	ctxB := WithWriteCounter(context.Background(), &theirs)
	api := c.API(elbrules.ClassPerformance)
	_ = api.DeleteListener(ctxA, "a")
	_ = api.DeleteListener(ctxA, "b")
	_ = api.DeleteListener(ctxB, "c")
	_, _ = api.ListMembers(ctxA, "p")
	if mine.Load() != 2 || theirs.Load() != 1 || c.Writes() != 3 {
		t.Fatalf("mine %d theirs %d total %d", mine.Load(), theirs.Load(), c.Writes())
	}
}
