package health

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const localErrorsChildEnv = "FLEETLB_HEALTH_LOCAL_ERRORS_CHILD"

// A probe that cannot get a socket because this process is out of
// descriptors says nothing about the member: it must not take the member
// down. The checker runs in a child process (the test binary re-executed)
// whose own RLIMIT_NOFILE is lowered, then filled.
func TestCheckerIgnoresLocalResourceErrors(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestLocalErrorsChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), localErrorsChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	var flips, local int64
	var upAfter, downLater bool
	var lastErr string
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "RESULT "); ok {
			_, err = fmt.Sscanf(rest, "flips=%d local=%d up=%t down_later=%t err=%q", &flips, &local, &upAfter, &downLater, &lastErr)
		}
	}
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("child: flips=%d local=%d up=%v down_later=%v err=%q", flips, local, upAfter, downLater, lastErr)
	if flips != 0 || !upAfter || lastErr != "" {
		t.Errorf("out of descriptors, the checker flipped the member %d times (up=%v, last error %q); want no flip, up, no error", flips, upAfter, lastErr)
	}
	if !downLater {
		t.Error("the checker did not take the member down once its port closed")
	}
}

// TestLocalErrorsChild is the child process; it does nothing in a normal run.
func TestLocalErrorsChild(t *testing.T) {
	if os.Getenv(localErrorsChildEnv) == "" {
		t.Skip("child process of TestCheckerIgnoresLocalResourceErrors")
	}
	fail := func(format string, a ...any) {
		fmt.Printf("FAIL "+format+"\n", a...)
		os.Exit(2)
	}
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		fail("getrlimit %v", err)
	}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: 64, Max: lim.Max}); err != nil {
		fail("setrlimit %v", err)
	}
	ln, err := net.Listen("tcp", "127.56.9.1:0")
	if err != nil {
		fail("listen %v", err)
	}
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	m := Monitor{Type: TypeTCP, Delay: 10 * time.Millisecond, Timeout: 500 * time.Millisecond, MaxRetries: 1, MaxRetriesDown: 1}
	var flips atomic.Int64
	down := make(chan struct{}, 10)
	c := Start(m, netip.MustParseAddrPort(ln.Addr().String()), func(up bool, _ error) {
		flips.Add(1)
		if !up {
			down <- struct{}{}
		}
	})
	waitFor(func() bool { return accepted.Load() > 0 }, "a first probe", fail)

	filler := useEveryDescriptor()
	waitFor(func() bool { return c.localErrors.Load() >= 3 || flips.Load() > 0 }, "3 probes", fail)
	up, lastErr := c.Up()
	result := fmt.Sprintf("flips=%d local=%d up=%t", flips.Load(), c.localErrors.Load(), up)
	for _, f := range filler {
		f.Close()
	}

	ln.Close()
	downLater := false
	select {
	case <-down:
		downLater = true
	case <-time.After(10 * time.Second):
	}
	errText := ""
	if lastErr != nil {
		errText = lastErr.Error()
	}
	fmt.Printf("RESULT %s down_later=%t err=%q\n", result, downLater, errText)
	os.Exit(0)
}

// useEveryDescriptor opens /dev/null until the process has no descriptor left.
func useEveryDescriptor() []*os.File {
	var files []*os.File
	for {
		f, err := os.Open(os.DevNull)
		if err != nil {
			return files
		}
		files = append(files, f)
	}
}

func waitFor(cond func() bool, what string, fail func(string, ...any)) {
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			fail("no %s within 10s", what)
		}
	}
}
