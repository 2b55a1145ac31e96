package childproc

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A component that ignores SIGTERM and has a child of its own is killed,
// child and all, once the grace period is over.
func TestProcessStopKillsTheWholeGroup(t *testing.T) {
	dir := t.TempDir()
	childPIDFile := filepath.Join(dir, "child.pid")
	script := `trap "" TERM; sleep 60 & echo $! > ` + childPIDFile + `; echo started; wait`
	p, err := Start("stubborn", "/bin/sh", []string{"-c", script}, nil, filepath.Join(dir, "stubborn.log"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	var child int
	deadline := time.Now().Add(5 * time.Second)
	for child == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the test process did not start; log:\n%s", p.LogTail(5))
		}
		if b, err := os.ReadFile(childPIDFile); err == nil && strings.HasSuffix(string(b), "\n") {
			child, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		time.Sleep(20 * time.Millisecond)
	}

	start := time.Now()
	p.Stop(300 * time.Millisecond)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("stop took %s with a 300ms grace", took)
	}
	if !p.Exited() {
		t.Error("the process was not reaped")
	}
	// The child is not ours to reap; it is gone once it is not a live process.
	deadline = time.Now().Add(2 * time.Second)
	for alive(child) {
		if time.Now().After(deadline) {
			t.Fatalf("the component's child %d survived stop", child)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(p.LogTail(5), "started") {
		t.Errorf("the log does not hold the process output: %q", p.LogTail(5))
	}
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat))
	return len(fields) > 2 && fields[2] != "Z"
}
