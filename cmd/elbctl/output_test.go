package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestEveryPrintingCommandSpeaksJSONAndYAML: O5, -o json and -o yaml give the same data, for
// lists, single objects, the status outline and deletions.
func TestEveryPrintingCommandSpeaksJSONAndYAML(t *testing.T) {
	e := elbdAPI(t)
	lbID := cliJSON[obj](t, e, "lb", "create", "--name", "edge", "--vip-subnet-id", "subnet-a1")["id"].(string)
	for _, args := range [][]string{{"lb", "list"}, {"lb", "show", lbID}, {"lb", "status", lbID}, {"listener", "list"}} {
		var fromJSON, fromYAML any
		if err := json.Unmarshal([]byte(cli(t, e, append(args, "-o", "json")...)), &fromJSON); err != nil {
			t.Fatalf("%v -o json: %v", args, err)
		}
		out := cli(t, e, append(args, "-o", "yaml")...)
		if err := yaml.Unmarshal([]byte(out), &fromYAML); err != nil {
			t.Fatalf("%v -o yaml: %v\n%s", args, err, out)
		}
		a, _ := json.Marshal(fromJSON)
		b, _ := json.Marshal(fromYAML)
		if string(a) != string(b) {
			t.Errorf("%v: json and yaml differ:\n%s\n%s", args, a, b)
		}
	}
	var del map[string]any
	if err := yaml.Unmarshal([]byte(cli(t, e, "lb", "delete", lbID, "-o", "yaml")), &del); err != nil || del["id"] != lbID || del["deleted"] != true {
		t.Errorf("delete -o yaml: %v %v", del, err)
	}
	if code, _, stderr := runCLI(t, e, "lb", "list", "-o", "xml"); code != exitUsage || !strings.Contains(stderr, "use table, json, yaml") {
		t.Errorf("-o xml: exit %d %q", code, stderr)
	}
}

// TestExitCodes: O5, each category of failure has its documented exit code, and --help lists them.
func TestExitCodes(t *testing.T) {
	for _, c := range []struct {
		status int
		code   int
	}{{401, exitAuth}, {403, exitAuth}, {404, exitNotFound}, {409, exitAPI}, {500, exitAPI}} {
		srv, _ := cannedServer(t, c.status, `{"error_msg":"x","error_code":"ELB.0001","request_id":"r"}`)
		if code, _, stderr := runCLI(t, env(credsFor(srv.URL)), "lb", "show", "lb1"); code != c.code {
			t.Errorf("HTTP %d: exit %d (%s), want %d", c.status, code, stderr, c.code)
		}
	}
	srv, _ := cannedServer(t, 200, `{}`)
	url := srv.URL
	srv.Close()
	if code, _, _ := runCLI(t, env(credsFor(url)), "--timeout", "2s", "lb", "list"); code != exitUnreachable {
		t.Errorf("unreachable: exit %d, want %d", code, exitUnreachable)
	}
	// Nothing is sent for these: the endpoint would not answer.
	for _, args := range [][]string{{"lb", "list", "--no-such-flag"}, {"lb", "show"}, {"no-such-command"}, {"member", "add", "--pool", "p"}} {
		if code, _, stderr := runCLI(t, env(credsFor(url)), args...); code != exitUsage {
			t.Errorf("%v: exit %d (%s), want %d", args, code, stderr, exitUsage)
		}
	}
	if code, _, _ := runCLI(t, env(nil), "lb", "list"); code != exitUsage {
		t.Errorf("missing settings: exit %d, want %d", code, exitUsage)
	}
	help := cli(t, env(nil), "--help")
	for _, c := range exitCodes {
		if !strings.Contains(help, c.what) {
			t.Errorf("--help does not list exit code %d (%s):\n%s", c.code, c.what, help)
		}
	}
}

// TestCompletion: O5, cobra's completion scripts for the four shells, and completion of -o's values.
func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		if out := cli(t, env(nil), "completion", shell); !strings.Contains(out, "elbctl") || len(out) < 500 {
			t.Errorf("completion %s: %q", shell, out)
		}
	}
	out := cli(t, env(nil), "__complete", "lb", "list", "-o", "")
	if !strings.Contains(out, "table\njson\nyaml\n") {
		t.Errorf("-o completion: %q", out)
	}
	if out := cli(t, env(nil), "__complete", "list"); !strings.Contains(out, "listener") {
		t.Errorf("command completion: %q", out)
	}
}

// TestREADMEListsExitCodes: the README's table of exit codes is exitCodes.
func TestREADMEListsExitCodes(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range exitCodes {
		if row := fmt.Sprintf("| %d | %s |", c.code, c.what); !strings.Contains(string(readme), row) {
			t.Errorf("README.md lacks the exit code row %q", row)
		}
	}
}
