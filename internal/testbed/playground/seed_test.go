package playground

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestSeedCopy checks that the repository's copy of the source document's
// examples is byte-identical to shared/seed/examples when that is beside the
// repository, and that every copied manifest loads as a Service, so the demo
// and the end-to-end tests use the Services exactly as written.
func TestSeedCopy(t *testing.T) {
	copies, err := filepath.Glob(filepath.Join("seed", "*.yaml"))
	if err != nil || len(copies) != 5 {
		t.Fatalf("want the 5 seed examples in seed/, got %v (%v)", copies, err)
	}
	for _, c := range copies {
		if _, err := LoadService(c, "elb-id"); err != nil {
			t.Errorf("%s: %v", c, err)
		}
	}
	orig := filepath.Join("..", "..", "..", "..", "shared", "seed", "examples")
	originals, _ := filepath.Glob(filepath.Join(orig, "*.yaml"))
	if len(originals) == 0 {
		t.Skipf("no originals in %s to compare the copy with", orig)
	}
	if len(originals) != len(copies) {
		t.Errorf("%d originals in %s, %d copies in seed/", len(originals), orig, len(copies))
	}
	for _, o := range originals {
		want, err := os.ReadFile(o)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("seed", filepath.Base(o)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("seed/%s differs from %s (%v); copy it again", filepath.Base(o), o, err)
		}
	}
}

// TestSeedDirFreshClone checks where the demo finds the examples: shared/
// beside the repository when it is there, else the repository's own copy.
func TestSeedDirFreshClone(t *testing.T) {
	t.Setenv("FLEETLB_SEED_DIR", "")
	top := t.TempDir()
	repo := filepath.Join(top, "fleetlb")
	copyDir := filepath.Join(repo, "internal", "testbed", "playground", "seed")
	shared := filepath.Join(top, "shared", "seed", "examples")
	for _, d := range []string{copyDir, filepath.Join(repo, "cmd")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path, text string) {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(repo, "go.mod"), "module github.com/fleetlb/fleetlb\n")
	write(filepath.Join(copyDir, "s1-cluster-a-weight-80.yaml"), "kind: Service\n")
	t.Chdir(filepath.Join(repo, "cmd"))

	if d, err := SeedDir(); err != nil || d != copyDir {
		t.Errorf("a fresh clone: SeedDir() = %q, %v; want the repository's copy %s", d, err, copyDir)
	}
	if err := os.MkdirAll(shared, 0o700); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(shared, "s1-cluster-a-weight-80.yaml"), "kind: Service\n")
	if d, err := SeedDir(); err != nil || d != shared {
		t.Errorf("with shared/ beside the repository: SeedDir() = %q, %v; want %s", d, err, shared)
	}
}
