package program_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"testing"

	"github.com/fleetlb/fleetlb/internal/common/program"
)

func TestReport(t *testing.T) {
	for _, c := range []struct {
		err    error
		failed bool
		out    string
	}{
		{nil, false, ""},
		{errors.New("--config is required"), true, "elbd: --config is required\n"},
		{fmt.Errorf("parse: %w", flag.ErrHelp), true, ""}, // the flag package printed the usage
	} {
		var b bytes.Buffer
		if failed := program.Report(&b, "elbd", c.err); failed != c.failed || b.String() != c.out {
			t.Errorf("Report(%v) = %v, %q; want %v, %q", c.err, failed, b.String(), c.failed, c.out)
		}
	}
}

func TestUnset(t *testing.T) {
	got := program.Unset("--endpoint", "http://127.0.0.1:1", "--ak", "", "--sk", "secret", "--project-id", "")
	if fmt.Sprint(got) != "[--ak --project-id]" {
		t.Errorf("Unset = %q, want --ak and --project-id in that order", got)
	}
	if got := program.Unset("--ak", "a"); got != nil {
		t.Errorf("Unset with every value set = %q, want nil", got)
	}
}
