package reconciler

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// reasonConst is a Reason*/Warn* constant: the name a reason is defined by in internal/controller/**.
var reasonConst = regexp.MustCompile(`^(Reason|Warn)[A-Z]`)

// P8: the troubleshooting table (ReasonDocs, rendered into docs/reference.md) has one row for
// every reason constant the controller's code defines and uses, and no other row; each row says
// where the reason shows, what it means and what to change.
func TestEveryReasonHasADoc(t *testing.T) {
	defined, used := reasonConstants(t, "..")
	rows := map[string]bool{}
	for _, d := range ReasonDocs {
		if rows[d.Reason] {
			t.Errorf("ReasonDocs has %q twice; keep one row", d.Reason)
		}
		rows[d.Reason] = true
		if d.Where == "" || d.Meaning == "" || d.Fix == "" {
			t.Errorf("ReasonDocs row %q needs Where, Meaning and Fix", d.Reason)
		}
	}
	if len(defined) < 20 {
		t.Fatalf("found only %d reason constants under internal/controller: the scan is broken", len(defined))
	}
	for value, name := range defined {
		switch {
		case !used[name]:
			t.Errorf("reason constant %s (%q) is defined but never used; remove it (and its row in ReasonDocs)", name, value)
		case !rows[value]:
			t.Errorf("reason %q (%s) has no row in ReasonDocs (internal/controller/reconciler/reasons.go): add what it means and what to change, then run make reference", value, name)
		}
	}
	for r := range rows {
		if _, ok := defined[r]; !ok {
			t.Errorf("ReasonDocs has a row for %q, which no Reason*/Warn* constant under internal/controller defines: remove the row, then run make reference", r)
		}
	}
}

// reasonConstants returns the string constants named Reason*/Warn* declared in the non-test Go
// files under root (value -> name), and which of those names the code refers to.
func reasonConstants(t *testing.T, root string) (defined map[string]string, used map[string]bool) {
	t.Helper()
	defined, used = map[string]string{}, map[string]bool{}
	refs := map[string]int{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.Ident:
				if filepath.Base(path) != "reasons.go" { // ReasonDocs itself is not a use
					refs[n.Name]++
				}
			case *ast.GenDecl:
				if n.Tok != token.CONST {
					return true
				}
				for _, spec := range n.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, name := range vs.Names {
						if !reasonConst.MatchString(name.Name) || i >= len(vs.Values) {
							continue
						}
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							v, _ := strconv.Unquote(lit.Value)
							defined[v] = name.Name
						}
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range defined {
		used[name] = refs[name] > 1 // more than its declaration
	}
	return defined, used
}
