package childproc

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
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

// TestChildDiesWithKilledParent checks that a child (elbd, a controller)
// does not outlive its parent (fleetlb-local) when that is killed with SIGKILL
// and can stop nothing itself: the test binary re-runs itself as the parent, starts
// a child, and is killed.
func TestChildDiesWithKilledParent(t *testing.T) {
	if os.Getenv("CHILDPROC_TEST_PARENT") == "1" {
		c, err := Start("sleeper", "/bin/sh", []string{"-c", "sleep 120"}, nil, os.Getenv("CHILDPROC_TEST_LOG"), 0o600)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println(c.Pid())
		time.Sleep(2 * time.Minute) // until killed
		return
	}
	parent := exec.Command(os.Args[0], "-test.run=^TestChildDiesWithKilledParent$")
	parent.Env = append(os.Environ(), "CHILDPROC_TEST_PARENT=1", "CHILDPROC_TEST_LOG="+filepath.Join(t.TempDir(), "log"))
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	pid, perr := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || perr != nil {
		_ = parent.Process.Kill()
		_ = parent.Wait()
		t.Fatalf("the parent did not report its child's pid: %q, %v", line, err)
	}
	defer syscall.Kill(-pid, syscall.SIGKILL) // in case the test fails

	if err := parent.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = parent.Wait()
	for deadline := time.Now().Add(10 * time.Second); alive(pid); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("child %d still runs 10s after its parent was killed with SIGKILL", pid)
		}
	}
}

// alive reports whether pid exists and is not a zombie waiting to be reaped.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses, which may hold spaces.
	i := strings.LastIndexByte(string(stat), ')')
	return i < 0 || !strings.HasPrefix(strings.TrimSpace(string(stat[i+1:])), "Z")
}
