package reconciler_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/fleetlb/fleetlb/internal/testbed/localk8s/childproc"
)

// buildController builds the real fleetlb-controller program into a temporary directory: tests
// that kill it or run replicas of it need a process of their own.
func buildController(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fleetlb-controller")
	build := exec.Command("go", "build", "-o", bin, "./cmd/fleetlb-controller")
	build.Dir = "../../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// runController starts bin with args and the test's ELB key in its environment, its output in
// logDir/name.log. The process is killed when the test ends, and the log's tail printed if the
// test failed.
func runController(t *testing.T, bin, logDir, name string, args ...string) *exec.Cmd {
	t.Helper()
	logf, err := os.Create(filepath.Join(logDir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HUAWEICLOUD_SDK_AK="+ak, "HUAWEICLOUD_SDK_SK="+sk)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		_ = logf.Close()
		if t.Failed() {
			t.Logf("the end of controller %s's log:\n%s", name, childproc.Tail(logf.Name(), 40))
		}
	})
	return cmd
}
