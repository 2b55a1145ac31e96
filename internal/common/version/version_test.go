package version

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	settings := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	for _, c := range []struct {
		name    string
		stamped Info
		bi      debug.BuildInfo
		want    string
	}{
		{"go build in a clean checkout", Info{}, debug.BuildInfo{GoVersion: "go1.26.8", Settings: settings("vcs.revision", "abc123", "vcs.modified", "false")}, "abc123"},
		{"go build with local changes", Info{}, debug.BuildInfo{Settings: settings("vcs.revision", "abc123", "vcs.modified", "true")}, "abc123-dirty"},
		{"-buildvcs=false", Info{}, debug.BuildInfo{}, ""},
		{"stamped by the Makefile wins", Info{Commit: "def456"}, debug.BuildInfo{Settings: settings("vcs.revision", "abc123")}, "def456"},
	} {
		if got := fromBuildInfo(c.stamped, &c.bi).Commit; got != c.want {
			t.Errorf("%s: commit %q, want %q", c.name, got, c.want)
		}
	}
}

func TestString(t *testing.T) {
	got := Info{Version: "v1.2.3", Commit: "abc", GoVersion: "go1.26.8", Platform: "linux/arm64"}.String("elbd")
	if want := "elbd v1.2.3 (commit abc, go1.26.8 linux/arm64)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if i := Get(); i.Version != Devel || i.GoVersion != runtime.Version() {
		t.Errorf("a test binary is not stamped: got %+v", i)
	}
}

func TestRequested(t *testing.T) {
	for args, want := range map[string]bool{"--version": true, "-version": true, "": false, "up --version": false, "--versions": false, "-h": false} {
		if got := Requested(strings.Fields(args)); got != want {
			t.Errorf("Requested(%q) = %v", args, got)
		}
	}
}

// TestEveryBinaryAnswersVersion builds every command under cmd/ (new ones included) as the
// Makefile does, and once as a plain go build, and runs each with --version.
func TestEveryBinaryAnswersVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every binary")
	}
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	cmds, err := filepath.Glob(filepath.Join(root, "cmd", "*", "main.go"))
	if err != nil || len(cmds) < 5 {
		t.Fatalf("commands under cmd/: %v (%v)", cmds, err)
	}
	bin := t.TempDir()
	const pkg = "github.com/fleetlb/fleetlb/internal/common/version"
	build := func(dir string, ldflags ...string) {
		args := append([]string{"build", "-o", dir + "/"}, ldflags...)
		cmd := exec.Command("go", append(args, "./cmd/...")...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	build(bin, "-ldflags", "-X "+pkg+".version=v9.8.7 -X "+pkg+".commit=0123abcd")
	for _, m := range cmds {
		name := filepath.Base(filepath.Dir(m))
		out, err := exec.Command(filepath.Join(bin, name), "--version").CombinedOutput()
		want := name + " v9.8.7 (commit 0123abcd, " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")\n"
		if err != nil || string(out) != want {
			t.Errorf("%s --version: %v\n%s\nwant %s", name, err, out, want)
		}
	}

	// A plain go build: "devel" and the commit Go recorded from the checkout (-buildvcs=true: this
	// machine's GOFLAGS may turn it off; Go records none in a git worktree: "unknown" then), as
	// go version -m reads it.
	plain := t.TempDir()
	cmd := exec.Command("go", "build", "-buildvcs=true", "-o", plain+"/elbd", "./cmd/elbd")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	meta, err := exec.Command("go", "version", "-m", plain+"/elbd").Output()
	if err != nil {
		t.Fatal(err)
	}
	commit := "unknown"
	for _, l := range strings.Split(string(meta), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "build" && strings.HasPrefix(f[1], "vcs.revision=") {
			commit = strings.TrimPrefix(f[1], "vcs.revision=")
		}
	}
	if strings.Contains(string(meta), "vcs.modified=true") {
		commit += "-dirty"
	}
	out, err := exec.Command(plain+"/elbd", "--version").Output()
	if want := "elbd devel (commit " + commit + ", "; err != nil || !strings.HasPrefix(string(out), want) {
		t.Errorf("plain go build --version: %q (%v), want the prefix %q", out, err, want)
	}
}
