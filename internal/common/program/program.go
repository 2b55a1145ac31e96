// Package program is the main() of fleetlb's long-running commands (elbd, fleetlb-controller,
// fleetlb-cluster, fleetlb-local): answer --version, or run until SIGTERM or SIGINT (Ctrl-C),
// then report a failure and exit 1.
package program

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/fleetlb/fleetlb/internal/common/version"
)

// Main prints the version line and exits 0 when the first argument is --version (P1). Otherwise
// it runs run with a context that SIGTERM and SIGINT cancel, and exits 1 when it fails. The error
// goes to stderr as "name: error", except flag.ErrHelp, whose usage the flag package has already
// printed.
func Main(name string, run func(ctx context.Context) error) {
	if version.Requested(os.Args[1:]) {
		fmt.Println(version.Get().String(name))
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if Report(os.Stderr, name, err) {
		os.Exit(1)
	}
}

// Report writes err to w as "name: error" (nothing for flag.ErrHelp) and says whether the
// program failed.
func Report(w io.Writer, name string, err error) (failed bool) {
	if err == nil {
		return false
	}
	if !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(w, name+":", err)
	}
	return true
}

// Unset names the settings that have no value, in the order given; pairs alternates a setting's
// name and its value. Commands name every missing setting at once, not one per attempt.
func Unset(pairs ...string) []string {
	var out []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			out = append(out, pairs[i])
		}
	}
	return out
}
