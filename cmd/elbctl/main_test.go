package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// recorded is one request the canned server saw.
type recorded struct {
	method, path, query, auth string
	body                      map[string]any
}

// cannedServer answers every request with status and body, and records what it got.
// It stands in for the API only where elbctl's own parsing and printing is tested;
// end-to-end tests run against the real elbd API.
func cannedServer(t *testing.T, status int, body string) (*httptest.Server, *[]recorded) {
	t.Helper()
	var seen []recorded
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := recorded{method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, auth: r.Header.Get("Authorization")}
		if b, _ := io.ReadAll(r.Body); len(b) > 0 {
			_ = json.Unmarshal(b, &rec.body)
		}
		seen = append(seen, rec)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "req-123")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func credsFor(endpoint string) map[string]string {
	return map[string]string{"HUAWEICLOUD_SDK_AK": "AKENV", "HUAWEICLOUD_SDK_SK": "SKENV-very-secret",
		"HUAWEICLOUD_SDK_PROJECT_ID": "penv", "ELB_ENDPOINT": endpoint}
}

func runCLI(t *testing.T, getenv func(string) string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb, getenv)
	return code, out.String(), errb.String()
}

func TestMissingSettingsAreNamed(t *testing.T) {
	code, _, stderr := runCLI(t, env(nil), "lb", "list")
	if code == 0 {
		t.Fatal("want failure without credentials")
	}
	for _, want := range []string{"--endpoint (or ELB_ENDPOINT)", "--ak (or HUAWEICLOUD_SDK_AK)", "--sk (or HUAWEICLOUD_SDK_SK)", "--project-id"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q does not name %s", stderr, want)
		}
	}
}

func TestFlagErrorsBeforeAnyCall(t *testing.T) {
	srv, seen := cannedServer(t, 200, `{}`)
	e := env(credsFor(srv.URL))
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"lb", "create", "--vip-subnet-id", "s", "--ip-target-enable", "--family", "v2"}, "--ip-target-enable exists only for dedicated"},
		{[]string{"lb", "create"}, "missing --vip-subnet-id"},
		{[]string{"lb", "update", "x"}, "nothing to change"},
		{[]string{"listener", "create", "--lb", "x", "--protocol", "SCTP", "--port", "80"}, `--protocol "SCTP": use one of TCP, UDP`},
		{[]string{"listener", "create", "--lb", "x", "--protocol", "tcp", "--port", "70000"}, "a port is 1-65535"},
		{[]string{"listener", "create", "--lb", "x"}, "missing --protocol, --port"},
		{[]string{"pool", "create", "--protocol", "TCP"}, "give at least one of --listener, --lb"},
		{[]string{"pool", "create", "--protocol", "TCP", "--lb", "x", "--algorithm", "RANDOM"}, "--algorithm"},
		{[]string{"member", "add", "--pool", "p", "--address", "1.2.3.4", "--port", "80", "--weight", "101"}, "a weight is 0-100"},
		{[]string{"member", "add", "--pool", "p", "--address", "1.2.3.4", "--port", "80", "--family", "v2"}, "missing --subnet-id"},
		{[]string{"member", "list"}, "missing --pool"},
		{[]string{"hm", "create", "--pool", "p", "--type", "PING"}, "--type"},
		{[]string{"lb", "list", "--family", "v4"}, `--family "v4"`},
		{[]string{"lb", "list", "-o", "xml"}, `-o "xml"`},
		{[]string{"lb", "show"}, "accepts 1 arg"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(t, e, c.args...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want failure containing %q", c.args, code, stderr, c.want)
		}
	}
	if len(*seen) != 0 {
		t.Fatalf("flag errors must not reach the API, got %d calls", len(*seen))
	}
}

func TestRequestsCarryFlagsAndEnvironment(t *testing.T) {
	srv, seen := cannedServer(t, 201, `{"member":{"id":"m1","address":"127.10.1.5","protocol_port":8080,"weight":10,"subnet_cidr_id":"subnet-a1","member_type":"instance"}}`)
	code, stdout, stderr := runCLI(t, env(credsFor(srv.URL)), "member", "add", "--pool", "pool-1", "--address", "127.10.1.5",
		"--port", "8080", "--weight", "10", "--subnet-id", "subnet-a1", "--name", "vm-1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	r := (*seen)[0]
	if r.method != "POST" || r.path != "/v3/penv/elb/pools/pool-1/members" || !strings.Contains(r.auth, "Access=AKENV") {
		t.Fatalf("request %+v", r)
	}
	m := r.body["member"].(map[string]any)
	if m["address"] != "127.10.1.5" || m["protocol_port"] != 8080.0 || m["weight"] != 10.0 || m["subnet_cidr_id"] != "subnet-a1" || m["name"] != "vm-1" {
		t.Fatalf("body %v", m)
	}
	if !strings.Contains(stdout, "member_type") || !strings.Contains(stdout, "instance") {
		t.Fatalf("output %q", stdout)
	}

	// Flags win over the environment.
	code, _, stderr = runCLI(t, env(credsFor(srv.URL)), "--ak", "AKFLAG", "--project-id", "pflag", "--family", "v2", "lb", "list", "--name", "web")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	r = (*seen)[1]
	if r.path != "/v2/pflag/elb/loadbalancers" || r.query != "name=web" || !strings.Contains(r.auth, "Access=AKFLAG") {
		t.Fatalf("request %+v", r)
	}
}

func TestTableAndJSONOutput(t *testing.T) {
	srv, _ := cannedServer(t, 200, `{"listeners":[
		{"id":"l1","name":"web","protocol":"TCP","protocol_port":80,"loadbalancers":[{"id":"lb1"}],"default_pool_id":"p1"},
		{"id":"l2","name":"dns","protocol":"UDP","protocol_port":53,"loadbalancers":[{"id":"lb1"}],"default_pool_id":""}],
		"page_info":{"current_count":2}}`)
	e := env(credsFor(srv.URL))
	code, stdout, stderr := runCLI(t, e, "listener", "list")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[0], "PROTOCOL_PORT") {
		t.Fatalf("table:\n%s", stdout)
	}
	if f := strings.Fields(lines[1]); strings.Join(f, " ") != "l1 web TCP 80 lb1 p1" {
		t.Fatalf("row %q", lines[1])
	}

	code, stdout, _ = runCLI(t, e, "listener", "list", "-o", "json")
	var got []map[string]any
	if code != 0 || json.Unmarshal([]byte(stdout), &got) != nil || len(got) != 2 || got[1]["protocol_port"] != 53.0 {
		t.Fatalf("json output %q", stdout)
	}
}

func TestAPIErrorsAreShownWithoutSecrets(t *testing.T) {
	srv, _ := cannedServer(t, 409, `{"error_msg":"load balancer lb1 already has a TCP listener on port 80","error_code":"ELB.8907","request_id":"req-123"}`)
	code, stdout, stderr := runCLI(t, env(credsFor(srv.URL)), "listener", "create", "--lb", "lb1", "--protocol", "TCP", "--port", "80")
	if code == 0 || stdout != "" {
		t.Fatalf("exit %d stdout %q", code, stdout)
	}
	want := "Error: the ELB API refused the call: HTTP 409 ELB.8907: load balancer lb1 already has a TCP listener on port 80 (request_id req-123)\n"
	if stderr != want {
		t.Fatalf("stderr %q\nwant   %q", stderr, want)
	}
	if strings.Contains(stderr, "SKENV") {
		t.Fatal("secret key printed")
	}
}

func TestUnreachableEndpoint(t *testing.T) {
	srv, _ := cannedServer(t, 200, `{}`)
	url := srv.URL
	srv.Close()
	code, _, stderr := runCLI(t, env(credsFor(url)), "--timeout", "2s", "lb", "list")
	if code == 0 || !strings.Contains(stderr, "cannot reach the ELB API") {
		t.Fatalf("exit %d stderr %q", code, stderr)
	}
}
