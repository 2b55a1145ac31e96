package playground

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

// TestChildDiesWithKilledParent checks that a child (elbd, a controller)
// does not outlive fleetlb-local when that is killed with SIGKILL and can
// stop nothing itself: the test binary re-runs itself as the parent, starts
// a child, and is killed.
func TestChildDiesWithKilledParent(t *testing.T) {
	if os.Getenv("PLAYGROUND_TEST_PARENT") == "1" {
		c, err := startChild("sleeper", "/bin/sh", []string{"-c", "sleep 120"}, nil, os.Getenv("PLAYGROUND_TEST_LOG"))
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println(c.Pid())
		time.Sleep(2 * time.Minute) // until killed
		return
	}
	parent := exec.Command(os.Args[0], "-test.run=^TestChildDiesWithKilledParent$")
	parent.Env = append(os.Environ(), "PLAYGROUND_TEST_PARENT=1", "PLAYGROUND_TEST_LOG="+filepath.Join(t.TempDir(), "log"))
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

// alive reports whether pid runs (a zombie waiting to be reaped does not).
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i < 0 || !strings.HasPrefix(strings.TrimSpace(string(stat[i+1:])), "Z")
}
