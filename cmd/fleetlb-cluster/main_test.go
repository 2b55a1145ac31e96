package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fleetlb/fleetlb/internal/testbed/localk8s/k8stest"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, `expected the subcommand "up"`},
		{[]string{"down"}, `expected the subcommand "up"`},
		{[]string{"up"}, "--state-dir is required"},
		{[]string{"up", "--state-dir", t.TempDir(), "--clusters", "a,a"}, `names "a" twice`},
		{[]string{"up", "--state-dir", t.TempDir(), "--clusters", "A"}, "lowercase DNS label"},
	} {
		err := run(context.Background(), tc.args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run %q: got %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}

// TestUpServesUntilCancelled runs `fleetlb-cluster up` with one cluster: it
// prints the cluster line and "ready", its kubeconfig reaches a cluster with
// the requested nodes, and cancelling (what SIGINT/SIGTERM do) stops every
// process.
func TestUpServesUntilCancelled(t *testing.T) {
	bin := k8stest.BinDir(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"up", "--state-dir", dir, "--clusters", "solo", "--nodes", "3", "--bin-dir", bin}, pw, io.Discard)
		pw.Close()
	}()

	lines := make(chan string)
	go func() {
		s := bufio.NewScanner(pr)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	var out []string
	timeout := time.After(k8stest.StartTimeout)
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("output ended before ready: %q; run: %v", out, <-done)
			}
			out = append(out, l)
			if l == "ready" {
				break wait
			}
		case <-timeout:
			t.Fatalf("no ready line after %s; output %q", k8stest.StartTimeout, out)
		}
	}
	go func() {
		for range lines {
		}
	}()
	if len(out) != 2 || !strings.HasPrefix(out[0], "cluster solo kubeconfig="+filepath.Join(dir, "solo.kubeconfig")) {
		t.Fatalf("output %q: want one cluster line, then ready", out)
	}

	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dir, "solo.kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := cs.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("the written kubeconfig does not reach the cluster: %v", err)
	}
	if len(nodes.Items) != 3 {
		t.Errorf("cluster has %d nodes, want 3", len(nodes.Items))
	}
	pids := componentPIDs(t, dir)
	if len(pids) != 4 {
		t.Errorf("found %d component processes for the state dir, want 4: %v", len(pids), pids)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after cancel: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return within 30 s of cancellation")
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
			t.Errorf("process %d still exists after stop", pid)
		}
	}
}

// componentPIDs finds the processes whose command line mentions dir.
func componentPIDs(t *testing.T, dir string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		pid := 0
		for _, c := range e.Name() {
			if c < '0' || c > '9' {
				pid = -1
				break
			}
			pid = pid*10 + int(c-'0')
		}
		if pid <= 0 {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmdline), dir) {
			pids = append(pids, pid)
		}
	}
	return pids
}
