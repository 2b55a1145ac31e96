package playground

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestPrepareStateDir(t *testing.T) {
	// refused: with file in dir, dir is refused with a message naming want, and file stays.
	refused := func(dir, file, want string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, file), []byte("old"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := prepareStateDir(dir); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s with %s: %v, want a refusal saying %q", dir, file, err, want)
		}
		if _, err := os.Stat(filepath.Join(dir, file)); err != nil {
			t.Errorf("the refusal removed %s: %v", file, err)
		}
	}
	refused(t.TempDir(), "notes.txt", "not a fleetlb-local directory") // a directory with other files

	dir := filepath.Join(t.TempDir(), "state")
	_, lock, err := prepareStateDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	refused(dir, "elb.env", "a playground is running") // a second playground in a running one's directory
	lock.Close()
	_, lock, err = prepareStateDir(dir)
	if err != nil {
		t.Fatalf("reusing a stopped playground's directory: %v", err)
	}
	defer lock.Close()
	if _, err := os.Stat(filepath.Join(dir, "elb.env")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the previous playground's elb.env is still there (%v)", err)
	}
}

func TestCheckPort80Taken(t *testing.T) {
	p, err := NewPlan(96, []ClusterSpec{{Name: "a"}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.96.0.2:80")
	if errors.Is(err, syscall.EACCES) {
		t.Skip("binding port 80 needs root here")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := checkPort80(p); err == nil || !strings.Contains(err.Error(), "--address-base") {
		t.Errorf("checkPort80 with 127.96.0.2:80 taken: %v, want advice to pass another --address-base", err)
	}
	ln.Close()
	if err := checkPort80(p); err != nil {
		t.Errorf("checkPort80 with the port free: %v", err)
	}
}

func TestChildPortClash(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		script string
		clash  bool
	}{
		{`echo "--api-address 127.0.0.1:9: listen tcp 127.0.0.1:9: bind: address already in use" >&2; exit 1`, true},
		{`echo "config: credentials are missing" >&2; exit 1`, false},
	} {
		c, err := startChild("sh", "/bin/sh", []string{"-c", tc.script}, nil, filepath.Join(dir, "log"))
		if err != nil {
			t.Fatal(err)
		}
		<-c.Done()
		if got := portClash(c); got != tc.clash {
			t.Errorf("portClash after %q = %v, want %v", tc.script, got, tc.clash)
		}
		if !strings.Contains(c.ExitError().Error(), "exited") {
			t.Errorf("exitError %v", c.ExitError())
		}
		c.Stop(time.Second)
		os.Remove(filepath.Join(dir, "log"))
	}
}

// TestWaitInterrupted checks that Ctrl-C during a wait is reported as an
// interruption, not as a time-out that would send the user to the logs.
func TestWaitInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	c, err := startChild("sleep", "/bin/sh", []string{"-c", "sleep 30"}, nil, filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(time.Second)
	err = waitFor(ctx, time.Minute, c, "something", func() error { return errors.New("not yet") })
	if err == nil || !strings.Contains(err.Error(), "interrupted while waiting for something") || !errors.Is(err, context.Canceled) {
		t.Errorf("waitFor after Ctrl-C: %v, want an interruption", err)
	}

	elb, err := NewELB("http://127.0.0.1:1", Credentials{AccessKey: "AK", SecretKey: "SK", ProjectID: "p"})
	if err != nil {
		t.Fatal(err)
	}
	p := &Playground{ELB: elb, Owners: Owners{}}
	_, err = p.WaitPool(ctx, PoolWait{Class: ClassPerformance, ELBID: "lb", Port: 80, Timeout: time.Minute})
	if err == nil || !strings.Contains(err.Error(), "interrupted while waiting for the pool") || !errors.Is(err, context.Canceled) {
		t.Errorf("WaitPool after Ctrl-C: %v, want an interruption", err)
	}
	_, err = p.WaitNoMembersOf(ctx, ClassPerformance, "lb", 80, "b", time.Minute)
	if err == nil || !strings.Contains(err.Error(), "interrupted while waiting for the members of b") || !errors.Is(err, context.Canceled) {
		t.Errorf("WaitNoMembersOf after Ctrl-C: %v, want an interruption", err)
	}
}
