package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
)

// elbdAPI starts elbd's real API (store, auth, router with v3 and v2) on a loopback port.
func elbdAPI(t *testing.T) func(string) string {
	t.Helper()
	srv := elbdtest.Start(t, elbdtest.Config, elbdtest.Options{})
	return env(map[string]string{"HUAWEICLOUD_SDK_AK": "AK1", "HUAWEICLOUD_SDK_SK": "SK1-secret",
		"HUAWEICLOUD_SDK_PROJECT_ID": "p1", "ELB_ENDPOINT": srv.URL})
}

// cli runs elbctl and fails the test unless it succeeds.
func cli(t *testing.T, e func(string) string, args ...string) string {
	t.Helper()
	code, stdout, stderr := runCLI(t, e, args...)
	if code != 0 {
		t.Fatalf("elbctl %s: exit %d: %s", strings.Join(args, " "), code, stderr)
	}
	return stdout
}

// cliJSON runs elbctl -o json and decodes the result.
func cliJSON[T any](t *testing.T, e func(string) string, args ...string) T {
	t.Helper()
	var v T
	out := cli(t, e, append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("elbctl %s: output is not JSON: %q", strings.Join(args, " "), out)
	}
	return v
}

// cliFails runs elbctl, wants it to fail, and returns stderr.
func cliFails(t *testing.T, e func(string) string, args ...string) string {
	t.Helper()
	code, stdout, stderr := runCLI(t, e, args...)
	if code == 0 {
		t.Fatalf("elbctl %s succeeded (%q), want failure", strings.Join(args, " "), stdout)
	}
	return stderr
}

type obj = map[string]any

// TestScenarioS3Dedicated does S3's manual steps with elbctl against elbd's v3 API: a listener
// on port 80 with a pool and two VM members of weight 10 each; then the rest of the CLI.
func TestScenarioS3Dedicated(t *testing.T) {
	e := elbdAPI(t)
	lb := cliJSON[obj](t, e, "loadbalancer", "create", "--name", "edge", "--vip-subnet-id", "subnet-a1")
	lbID := lb["id"].(string)
	if lb["guaranteed"] != true || lb["ip_target_enable"] != false || lb["vip_address"] != "127.10.1.2" {
		t.Fatalf("load balancer %v", lb)
	}
	lb = cliJSON[obj](t, e, "lb", "update", lbID, "--ip-target-enable")
	if lb["ip_target_enable"] != true {
		t.Fatalf("after enabling IP-type backends: %v", lb)
	}

	listener := cliJSON[obj](t, e, "listener", "create", "--lb", lbID, "--protocol", "tcp", "--port", "80", "--name", "web")
	pool := cliJSON[obj](t, e, "pool", "create", "--listener", listener["id"].(string), "--protocol", "TCP", "--algorithm", "ROUND_ROBIN", "--name", "vms")
	poolID := pool["id"].(string)
	for i, addr := range []string{"127.10.1.21", "127.10.1.22"} {
		m := cliJSON[obj](t, e, "member", "add", "--pool", poolID, "--address", addr, "--port", "8080", "--weight", "10",
			"--subnet-id", "subnet-a1", "--name", []string{"vm-1", "vm-2"}[i])
		if m["weight"] != 10.0 || m["member_type"] != "instance" {
			t.Fatalf("member %v", m)
		}
		// The API's create reply has no pool_id; the operator still sees which pool the member is in.
		if m["pool_id"] != poolID {
			t.Errorf("member add shows pool_id %v, want %s", m["pool_id"], poolID)
		}
		if shown := cli(t, e, "member", "show", "--pool", poolID, m["id"].(string)); !strings.Contains(shown, "pool_id           "+poolID) {
			t.Errorf("member show table does not name pool %s:\n%s", poolID, shown)
		}
	}
	// The table an operator reads.
	table := cli(t, e, "member", "list", "--pool", poolID)
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "WEIGHT") || !strings.Contains(lines[1], "vm-1") ||
		!strings.Contains(lines[1], "127.10.1.21") || !strings.Contains(lines[2], "127.10.1.22") {
		t.Fatalf("member table:\n%s", table)
	}
	if got := cliJSON[obj](t, e, "listener", "show", listener["id"].(string)); got["default_pool_id"] != poolID {
		t.Fatalf("listener's default pool: %v", got)
	}

	// An IP-type member (no subnet) is allowed now that the LB has IP-type backends on.
	ipm := cliJSON[obj](t, e, "member", "add", "--pool", poolID, "--address", "10.0.0.5", "--port", "8080")
	if ipm["member_type"] != "ip" || ipm["weight"] != 1.0 {
		t.Fatalf("IP-type member %v", ipm)
	}
	stderr := cliFails(t, e, "lb", "update", lbID, "--ip-target-enable=false")
	if !strings.Contains(stderr, "HTTP 400") || !strings.Contains(stderr, "cannot be turned off once it is on") {
		t.Fatalf("turning IP-type backends off: %s", stderr)
	}
	cli(t, e, "member", "delete", "--pool", poolID, ipm["id"].(string))

	// Weight update, show. Lists follow every page, however small.
	members := cliJSON[[]obj](t, e, "--page-size", "1", "member", "list", "--pool", poolID)
	if len(members) != 2 || members[0]["name"] != "vm-1" || members[1]["name"] != "vm-2" {
		t.Fatalf("members over pages of 1: %v", members)
	}
	m := cliJSON[obj](t, e, "member", "update", "--pool", poolID, members[1]["id"].(string), "--weight", "0")
	if m["weight"] != 0.0 || m["name"] != "vm-2" {
		t.Fatalf("updated member %v", m)
	}
	if got := cliJSON[obj](t, e, "member", "show", "--pool", poolID, members[1]["id"].(string)); got["weight"] != 0.0 {
		t.Fatalf("member after update %v", got)
	}

	// Health monitor.
	hm := cliJSON[obj](t, e, "healthmonitor", "create", "--pool", poolID, "--type", "TCP", "--delay", "2", "--timeout", "1")
	if hm["delay"] != 2.0 || hm["max_retries"] != 3.0 {
		t.Fatalf("monitor %v", hm)
	}
	if got := cliJSON[[]obj](t, e, "hm", "list"); len(got) != 1 {
		t.Fatalf("monitors %v", got)
	}
	if got := cliJSON[obj](t, e, "hm", "show", hm["id"].(string)); got["type"] != "TCP" {
		t.Fatalf("monitor %v", got)
	}

	// The status outline.
	tree := cli(t, e, "lb", "status", lbID)
	for _, want := range []string{"loadbalancer " + lbID + " edge ONLINE", "\n  listener " + listener["id"].(string) + " web",
		"\n    pool " + poolID + " vms", "\n      member ", " 127.10.1.22:8080 ", "\n      healthmonitor " + hm["id"].(string) + " TCP"} {
		if !strings.Contains(tree, want) {
			t.Fatalf("status outline lacks %q:\n%s", want, tree)
		}
	}
	if st := cliJSON[obj](t, e, "lb", "status", lbID); st["id"] != lbID || len(st["listeners"].([]any)) != 1 {
		t.Fatalf("status JSON %v", st)
	}

	// Conflicts and refusals come back with the API's code and message.
	stderr = cliFails(t, e, "listener", "create", "--lb", lbID, "--protocol", "TCP", "--port", "80")
	if !strings.Contains(stderr, "HTTP 409 ELB.8907") || !strings.Contains(stderr, "port 80") || !strings.Contains(stderr, "request_id") {
		t.Fatalf("duplicate listener: %s", stderr)
	}
	stderr = cliFails(t, e, "lb", "delete", lbID)
	if !strings.Contains(stderr, "HTTP 409") || strings.Contains(stderr, "SK1-secret") {
		t.Fatalf("deleting a busy LB: %s", stderr)
	}

	// Tear down in order.
	if out := cli(t, e, "hm", "delete", hm["id"].(string)); !strings.Contains(out, "deleted") {
		t.Fatalf("delete output %q", out)
	}
	for _, m := range members {
		cli(t, e, "member", "delete", "--pool", poolID, m["id"].(string))
	}
	cli(t, e, "pool", "delete", poolID)
	cli(t, e, "listener", "delete", listener["id"].(string))
	cli(t, e, "lb", "delete", lbID)
	if got := cliJSON[[]obj](t, e, "lb", "list"); len(got) != 0 {
		t.Fatalf("load balancers left: %v", got)
	}
	if table := cli(t, e, "lb", "list"); len(strings.Split(strings.TrimSpace(table), "\n")) != 1 || !strings.HasPrefix(table, "ID") {
		t.Fatalf("an empty list prints only the header: %q", table)
	}
}

// TestSharedFamily runs the same steps through the v2 (shared) API.
func TestSharedFamily(t *testing.T) {
	e := elbdAPI(t)
	v2 := func(args ...string) []string { return append([]string{"--family", "v2"}, args...) }
	lb := cliJSON[obj](t, e, v2("lb", "create", "--name", "shared", "--vip-subnet-id", "subnet-a1")...)
	lbID := lb["id"].(string)
	if lb["vip_subnet_id"] != "subnet-a1" || lb["vip_address"] != "127.10.1.2" {
		t.Fatalf("shared LB %v", lb)
	}
	listener := cliJSON[obj](t, e, v2("listener", "create", "--lb", lbID, "--protocol", "UDP", "--port", "53")...)
	pool := cliJSON[obj](t, e, v2("pool", "create", "--listener", listener["id"].(string), "--protocol", "UDP")...)
	poolID := pool["id"].(string)
	m := cliJSON[obj](t, e, v2("member", "add", "--pool", poolID, "--address", "127.10.1.30", "--port", "5353", "--subnet-id", "subnet-a1", "--weight", "7")...)
	if m["subnet_id"] != "subnet-a1" || m["weight"] != 7.0 {
		t.Fatalf("shared member %v", m)
	}
	hm := cliJSON[obj](t, e, v2("hm", "create", "--pool", poolID, "--type", "UDP_CONNECT")...)
	if tree := cli(t, e, v2("lb", "status", lbID)...); !strings.Contains(tree, "member "+m["id"].(string)+" 127.10.1.30:5353 NO_MONITOR") {
		t.Fatalf("shared status outline:\n%s", tree)
	}
	if got := cliJSON[[]obj](t, e, v2("member", "list", "--pool", poolID)...); len(got) != 1 {
		t.Fatalf("shared members %v", got)
	}
	// The dedicated family shows the shared load balancer as guaranteed=false (E8) and refuses to change it.
	if shown := cli(t, e, "lb", "show", lbID); !strings.Contains(shown, "guaranteed           false") {
		t.Fatalf("v3 show of a v2 LB:\n%s", shown)
	}
	if stderr := cliFails(t, e, "lb", "delete", lbID); !strings.Contains(stderr, "HTTP 400") || !strings.Contains(stderr, "shared load balancer") {
		t.Fatalf("v3 delete of a v2 LB: %s", stderr)
	}
	cli(t, e, v2("hm", "delete", hm["id"].(string))...)
	cli(t, e, v2("member", "delete", "--pool", poolID, m["id"].(string))...)
	cli(t, e, v2("pool", "delete", poolID)...)
	cli(t, e, v2("listener", "delete", listener["id"].(string))...)
	cli(t, e, v2("lb", "delete", lbID)...)
}
