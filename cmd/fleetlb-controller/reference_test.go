package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/fleetlb/fleetlb/internal/controller/model"
)

const referenceFile = "../../docs/reference.md"

// P6, P8: docs/reference.md is what `fleetlb-controller reference` (make reference) generates from
// the flag set, model.AnnotationDocs and reconciler.ReasonDocs; a flag, annotation or reason added
// or changed without regenerating it fails here.
func TestReferenceIsCurrent(t *testing.T) {
	var want bytes.Buffer
	if err := writeReference(&want); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(referenceFile)
	if err != nil {
		t.Fatalf("%v: run `make reference` to write docs/reference.md", err)
	}
	if bytes.Equal(got, want.Bytes()) {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(want.String(), "\n")
	for i := 0; i < len(gl) || i < len(wl); i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Fatalf("docs/reference.md differs from what the code generates: run `make reference` and commit it.\nline %d is\n\t%s\nthe code generates\n\t%s", i+1, g, w)
		}
	}
}

// The reference names every flag of the controller, including the ones read from the Secret.
func TestReferenceNamesEveryFlag(t *testing.T) {
	var out bytes.Buffer
	if err := writeReference(&out); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"elb-endpoint", "project-id", "leader-elect", "deregistration-delay"} {
		if !strings.Contains(out.String(), "| `--"+name) || !strings.Contains(out.String(), "`flags."+name+"`") {
			t.Errorf("the reference has no row for --%s with its chart value flags.%s", name, name)
		}
	}
	// --deregistration-delay is not one of the flag package's types: its default still shows.
	if row := "| `--deregistration-delay duration` | `" + model.DefaultDeregistrationDelay.String() + "` |"; !strings.Contains(out.String(), row) {
		t.Errorf("the reference has no row %q: --deregistration-delay shows no default", row)
	}
	if !strings.Contains(out.String(), "https://elb.&lt;region&gt;.myhuaweicloud.com") {
		t.Errorf("the placeholder <region> of --elb-endpoint is not escaped for Markdown")
	}
}
