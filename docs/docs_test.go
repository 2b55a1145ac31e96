// Package docs checks that the documents in this directory stay true to the code: every
// requirement ID a comment cites has a row in requirements.md (H2), nothing points at the folder
// outside the repository that the requirements came from (H2), and the rules defined once stay
// defined once (H3).
package docs

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// root is the repository, one level up from this package.
const root = ".."

// idPattern matches the requirement IDs of docs/requirements.md: R1–R13 and S1–S3 (the source
// document), E (elbd), C (the controller on a real cloud), H (the repository), P (packaging; not
// P256, the curve), with an optional sub-row letter (E6a).
var idPattern = regexp.MustCompile(`\b(R[0-9]+|S[1-9]|E[0-9]+[a-z]?|C[0-9]+|H[0-9]+|P[1-9][0-9]?)\b`)

// rowPattern matches the first cell of a table row of docs/requirements.md.
var rowPattern = regexp.MustCompile(`(?m)^\|\s*([A-Z][0-9]+[a-z]?)\s*\|`)

// walk calls f for every file of the repository that people write (not .git, build output or
// the playground's state), with its path relative to the repository.
func walk(t *testing.T, f func(rel string, data []byte)) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			switch rel {
			case ".git", "bin", "tmp":
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(rel) {
		case ".go", ".md", ".sh", ".yaml", ".yml", ".txt", ".mod":
		default:
			if filepath.Base(rel) != "Makefile" {
				return nil
			}
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f(filepath.ToSlash(rel), data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Every requirement ID cited in the Go code resolves to a row of docs/requirements.md: E6 is
// resolved by a row E6 or by sub-rows E6a, E6b...; E6a by its own row or by E6.
func TestEveryCitedIDResolves(t *testing.T) {
	doc, err := os.ReadFile("requirements.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]bool{}
	for _, m := range rowPattern.FindAllStringSubmatch(string(doc), -1) {
		rows[m[1]] = true
		rows[strings.TrimRight(m[1], "abcdefghijklmnopqrstuvwxyz")] = true // E6a resolves E6
	}
	citedIn := map[string][]string{}
	walk(t, func(rel string, data []byte) {
		if !strings.HasSuffix(rel, ".go") || rel == "docs/docs_test.go" {
			return
		}
		for _, id := range idPattern.FindAllString(string(data), -1) {
			if !slices.Contains(citedIn[id], rel) {
				citedIn[id] = append(citedIn[id], rel)
			}
		}
	})
	if len(citedIn) == 0 {
		t.Fatal("no requirement ID found in the code; is the walk looking at the repository?")
	}
	for id, files := range citedIn {
		base := strings.TrimRight(id, "abcdefghijklmnopqrstuvwxyz")
		if !rows[id] && !rows[base] {
			t.Errorf("%s is cited in %s but has no row in docs/requirements.md; add a row | %s | requirement | code | test |",
				id, strings.Join(files, ", "), id)
		}
	}
}

// The requirements and the design notes came from a folder beside the repository; the repository
// explains itself. Only the code that finds the source document's example manifests (a copy of
// which is in internal/testbed/playground/seed) may look there.
func TestNothingPointsAtShared(t *testing.T) {
	allowed := []string{
		"internal/testbed/playground/k8s.go",       // SeedDir: ../shared/seed/examples when present
		"internal/testbed/playground/seed_test.go", // the copy equals that folder
		"cmd/fleetlb-local/demo.go",                // --seed-dir's help says where SeedDir looks
		"docs/docs_test.go",
	}
	shared := regexp.MustCompile(`\.\./shared|shared/(SPEC|DESIGN)\.md|shared/seed`)
	walk(t, func(rel string, data []byte) {
		if slices.Contains(allowed, rel) {
			return
		}
		for i, line := range strings.Split(string(data), "\n") {
			if shared.MatchString(line) {
				t.Errorf("%s:%d points outside the repository: %q; point at docs/ (or the seed copy in internal/testbed/playground/seed)",
					rel, i+1, strings.TrimSpace(line))
			}
		}
	})
}

// Annotation names are spelled in one place (internal/controller/model/config.go) and the
// ownership marks in one (internal/common/ownership/ownership.go); every other file uses those
// definitions, as every other fleetlb.io/ key is spelled in one file. Comments and tests may
// spell them (a test asserts what a user sees).
func TestRulesDefinedOnce(t *testing.T) {
	homes := []struct {
		what, home string
		in         func(lit string) bool
	}{
		{"an annotation name", "internal/controller/model/config.go", func(s string) bool {
			return strings.Contains(s, "kubernetes.io/elb.") || strings.Contains(s, "fleetlb.io/applied-weight")
		}},
		{"an ownership mark", "internal/common/ownership/ownership.go", func(s string) bool {
			return strings.HasPrefix(s, "fleetlb/")
		}},
	}
	// Other fleetlb.io/ keys (the finalizer, the Bound condition, the class) each have one home:
	// the first file that spells one is its only file.
	keyHome := map[string]string{}
	fset := token.NewFileSet()
	walk(t, func(rel string, data []byte) {
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") || strings.HasPrefix(rel, "tools/") {
			return
		}
		f, err := parser.ParseFile(fset, rel, data, parser.SkipObjectResolution)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			for _, h := range homes {
				if h.in(s) && rel != h.home {
					t.Errorf("%s: the string %q spells %s, which is defined in %s; use that definition",
						fset.Position(lit.Pos()), s, h.what, h.home)
				}
			}
			if strings.HasPrefix(s, "fleetlb.io/") {
				if home, ok := keyHome[s]; ok && home != rel {
					t.Errorf("%s: the string %q is also spelled in %s; use that file's constant",
						fset.Position(lit.Pos()), s, home)
				}
				keyHome[s] = rel
			}
			return true
		})
	})
}
