package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fleetlb/fleetlb/internal/testbed/playground"
)

// TestUsageErrors checks that every mistake on the command line is refused
// before anything starts, with a message saying what to change.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "expected a subcommand"},
		{[]string{"start"}, `unknown subcommand "start"`},
		{[]string{"up"}, "--state-dir is required"},
		{[]string{"up", "--state-dir", "x", "extra"}, `unexpected argument "extra"`},
		{[]string{"up", "--state-dir", "x", "--pod-network", "a=flat"}, "use vpc or overlay"},
		{[]string{"up", "--state-dir", "x", "--pod-network", "c=vpc"}, "not in --clusters"},
		{[]string{"up", "--state-dir", "x", "--clusters", "a,,b"}, "empty name"},
		{[]string{"demo", "--state-dir", "x", "--separate-vpcs"}, "use `fleetlb-local up` for other layouts"},
		{[]string{"demo", "--state-dir", "x", "--requests", "0"}, "--requests must be at least 1"},
		{[]string{"vm", "--name", "vm-1"}, "--name and --listen are required"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), tc.args, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("fleetlb-local %s: %v, want an error with %q", strings.Join(tc.args, " "), err, tc.want)
		}
		if stdout.Len() > 0 {
			t.Errorf("fleetlb-local %s wrote %q on stdout; only \"ready\" belongs there", strings.Join(tc.args, " "), stdout.String())
		}
	}
}

func TestHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"help"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"fleetlb-local up", "fleetlb-local demo", "fleetlb-local vm"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

// TestMemberMode checks that the demo's S1 heading follows --pod-network
// instead of always claiming a=vpc, b=overlay.
func TestMemberMode(t *testing.T) {
	if got := memberMode("vpc"); !strings.Contains(got, "pass-through") {
		t.Errorf("memberMode(vpc) = %q, want pass-through", got)
	}
	if got := memberMode("overlay"); strings.Contains(got, "pass-through") || !strings.Contains(got, "node port") {
		t.Errorf("memberMode(overlay) = %q, want node-port members", got)
	}
}

// TestByHandAfterExit checks that with --exit the by-hand section says the
// playground is gone, so nobody tries its commands against stopped processes.
func TestByHandAfterExit(t *testing.T) {
	elb, err := playground.NewELB("http://127.0.0.1:1", playground.Credentials{AccessKey: "AK", SecretKey: "SK", ProjectID: "p"})
	if err != nil {
		t.Fatal(err)
	}
	for _, exit := range []bool{false, true} {
		var out bytes.Buffer
		d := &demo{out: &out, binDir: "/bin", p: &playground.Playground{ELB: elb, StateDir: "/state"}}
		d.byHand(exit)
		if !strings.Contains(out.String(), "source /state/elb.env") {
			t.Errorf("exit=%v: no `source /state/elb.env` in\n%s", exit, out.String())
		}
		if said := strings.Contains(out.String(), "the playground stops now"); said != exit {
			t.Errorf("exit=%v: says the playground stops: %v\n%s", exit, said, out.String())
		}
	}
}

// TestDemoOutcome checks that failed requests make the demo fail, so that
// `DEMO_FLAGS=--exit make demo` in a script exits non-zero.
func TestDemoOutcome(t *testing.T) {
	d := &demo{p: &playground.Playground{LogDir: "/state/logs"}}
	if err := d.outcome(); err != nil {
		t.Errorf("no failed request: %v", err)
	}
	d.failed = 3
	if err := d.outcome(); err == nil || !strings.Contains(err.Error(), "3 request(s) through the ELB failed") || !strings.Contains(err.Error(), "/state/logs") {
		t.Errorf("3 failed requests: %v, want an error naming them and the logs", err)
	}
}

// TestByHandKubectl checks that the by-hand commands put the kubectl that
// make k8s-bins builds on PATH when it is there (a fresh machine has none).
func TestByHandKubectl(t *testing.T) {
	elb, err := playground.NewELB("http://127.0.0.1:1", playground.Credentials{AccessKey: "AK", SecretKey: "SK", ProjectID: "p"})
	if err != nil {
		t.Fatal(err)
	}
	k8s := t.TempDir()
	run := func() string {
		var out bytes.Buffer
		d := &demo{out: &out, binDir: "/repo/bin", k8sDir: k8s, p: &playground.Playground{ELB: elb, StateDir: "/state"}}
		d.byHand(false)
		return out.String()
	}
	if out := run(); !strings.Contains(out, "export PATH=/repo/bin:$PATH") || !strings.Contains(out, "any recent one works") {
		t.Errorf("without bin/k8s/kubectl:\n%s", out)
	}
	if err := os.WriteFile(filepath.Join(k8s, "kubectl"), []byte("#!/bin/sh\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	if out := run(); !strings.Contains(out, "export PATH=/repo/bin:"+k8s+":$PATH   # elbctl, fleetlb-local, kubectl") {
		t.Errorf("with %s/kubectl, PATH should name it:\n%s", k8s, out)
	}
}
