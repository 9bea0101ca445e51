package sseview_test

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// exampleFiles parses the package's external test files, where its
// examples live.
func exampleFiles(t *testing.T) (*token.FileSet, []*ast.File) {
	t.Helper()
	names, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range names {
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name.Name == "sseview_test" {
			files = append(files, f)
		}
	}
	return fset, files
}

// TestExamplesAreRunnable asks go/doc, which pkg.go.dev uses, to make a
// whole program of each example: it cannot when an example leans on a
// helper from another test file, and then pkg.go.dev offers no Run button.
// An example that ranges over an iterator call with one variable drops the
// error a Seq2 yields, and would panic on the nil event beside it.
func TestExamplesAreRunnable(t *testing.T) {
	fset, files := exampleFiles(t)
	examples := doc.Examples(files...)
	if len(examples) == 0 {
		t.Fatal("no examples found")
	}
	for _, ex := range examples {
		t.Run("Example"+ex.Name, func(t *testing.T) {
			if ex.Play == nil {
				t.Error("go/doc cannot make a runnable program of it: it uses a declaration of another file")
			}
			ast.Inspect(ex.Code, func(n ast.Node) bool {
				if r, ok := n.(*ast.RangeStmt); ok {
					if _, call := r.X.(*ast.CallExpr); call && r.Key != nil && r.Value == nil {
						t.Errorf("%v: ranges over a call without its error", fset.Position(r.Pos()))
					}
				}
				return true
			})
		})
	}
}

// imports returns the import specs of f's declarations (go/doc's programs
// leave f.Imports empty).
func imports(f *ast.File) []*ast.ImportSpec {
	var specs []*ast.ImportSpec
	for _, d := range f.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.IMPORT {
			for _, s := range g.Specs {
				specs = append(specs, s.(*ast.ImportSpec))
			}
		}
	}
	return specs
}

// TestExamplesUseOnlyTheStandardLibrary checks the examples of
// example_test.go: a reader can copy them into a program that needs nothing
// but sseview, and none of them throws an error away.
func TestExamplesUseOnlyTheStandardLibrary(t *testing.T) {
	fset, files := exampleFiles(t)
	var file *ast.File
	for _, f := range files {
		if filepath.Base(fset.Position(f.Pos()).Filename) == "example_test.go" {
			file = f
		}
	}
	if file == nil {
		t.Fatal("example_test.go not found")
	}
	examples := doc.Examples(file)
	if len(examples) == 0 {
		t.Fatal("no examples in example_test.go")
	}
	for _, ex := range examples {
		t.Run("Example"+ex.Name, func(t *testing.T) {
			if ex.Play == nil {
				t.Skip("not runnable: TestExamplesAreRunnable says why")
			}
			for _, imp := range imports(ex.Play) {
				path, err := strconv.Unquote(imp.Path.Value)
				if err != nil {
					t.Fatal(err)
				}
				first, _, _ := strings.Cut(path, "/")
				if strings.Contains(first, ".") && path != "github.com/sseview/sseview/sseview" {
					t.Errorf("imports %s", path)
				}
			}
			ast.Inspect(ex.Play, func(n ast.Node) bool {
				a, ok := n.(*ast.AssignStmt)
				if !ok || len(a.Rhs) != 1 {
					return true
				}
				if _, call := a.Rhs[0].(*ast.CallExpr); !call {
					return true
				}
				for _, lhs := range a.Lhs {
					if id, ok := lhs.(*ast.Ident); ok && id.Name == "_" {
						t.Errorf("%v: a result of a call is thrown away", fset.Position(a.Pos()))
					}
				}
				return true
			})
		})
	}
}
