package annotations

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fleetlb/fleetlb/internal/controller/model"
)

// P6: model.AnnotationDocs (the annotation table of docs/reference.md) agrees with the parser:
// every user annotation in it is read by Parse (an invalid value is refused naming it), its
// Example is accepted, a Required one is required and an optional one is not; and every
// Annotation* constant of the model has a row.
func TestAnnotationDocsMatchTheParser(t *testing.T) {
	base := map[string]string{
		model.AnnotationELBID: "elb-1", model.AnnotationClass: "performance", model.AnnotationMultiCluster: "true",
	}
	if _, err := Parse(base); err != nil {
		t.Fatalf("the base annotations are refused: %v", err)
	}
	rows := map[string]bool{}
	for _, d := range model.AnnotationDocs {
		rows[d.Name] = true
		if d.Values == "" || d.Meaning == "" {
			t.Errorf("AnnotationDocs row %s needs Values and Meaning", d.Name)
		}
		if !d.User {
			continue
		}
		with := func(v string) map[string]string {
			ann := maps.Clone(base)
			ann[d.Name] = v
			return ann
		}
		if _, err := Parse(with(d.Example)); err != nil {
			t.Errorf("AnnotationDocs gives %s=%q as an example, and the parser refuses it: %v", d.Name, d.Example, err)
		}
		if fe := fieldError(Parse(with("not valid!"))); fe == nil || fe.Annotation != d.Name {
			t.Errorf("%s=%q: want a refusal naming %s (the parser must read every annotation the table lists), got %v", d.Name, "not valid!", d.Name, fe)
		}
		without := maps.Clone(base)
		delete(without, d.Name)
		fe := fieldError(Parse(without))
		if d.Required && (fe == nil || fe.Annotation != d.Name || !fe.Missing) {
			t.Errorf("AnnotationDocs says %s is required, but without it the parser says %v", d.Name, fe)
		}
		if !d.Required && fe != nil {
			t.Errorf("AnnotationDocs says %s is optional, but without it the parser says %v", d.Name, fe)
		}
	}
	names := annotationConstants(t, "../model")
	if len(names) < 10 {
		t.Fatalf("found only %d Annotation* constants in internal/controller/model: the scan is broken", len(names))
	}
	for value, name := range names {
		if !rows[value] {
			t.Errorf("annotation %s (model.%s) has no row in model.AnnotationDocs (internal/controller/model/annotationdocs.go): add it, then run make reference", value, name)
		}
	}
	for r := range rows {
		if _, ok := names[r]; !ok {
			t.Errorf("model.AnnotationDocs has a row for %s, which no Annotation* constant of the model defines", r)
		}
	}
}

// fieldError is the first FieldError of a Parse result, or nil.
func fieldError(_ Config, err error) *FieldError {
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe
	}
	return nil
}

// annotationConstants returns the string constants named Annotation* in the non-test files of
// the package in dir (value -> name).
func annotationConstants(t *testing.T, dir string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if !strings.HasPrefix(n.Name, "Annotation") || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						v, _ := strconv.Unquote(lit.Value)
						out[v] = n.Name
					}
				}
			}
		}
	}
	return out
}
