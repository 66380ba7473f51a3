package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fzipp/gocyclo"
)

// TestNoBuildOutputsTracked: no tracked file is one .gitignore ignores
// (test binaries, profiles), and none is a compiled program (a chant
// binary was once committed by mistake).
func TestNoBuildOutputsTracked(t *testing.T) {
	root := projectRoot(t)
	if _, err := os.Stat(filepath.Join(root, ".git")); err != nil {
		t.Skip("not a git checkout")
	}
	out, err := exec.Command("git", "-C", root, "ls-files", "-ci", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Errorf("tracked files that .gitignore ignores (build outputs?):\n%s", s)
	}
	out, err = exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		f, err := os.Open(filepath.Join(root, name))
		if err != nil {
			continue // deleted in the work tree
		}
		head := make([]byte, 4)
		n, _ := f.Read(head)
		f.Close()
		if bytes.HasPrefix(head[:n], []byte("\x7fELF")) || bytes.HasPrefix(head[:n], []byte("\xcf\xfa\xed\xfe")) || bytes.HasPrefix(head[:n], []byte("MZ")) {
			t.Errorf("%s is a compiled program: build outputs are never committed", name)
		}
	}
}

// TestChantLinksNoTemporalCode: chant's own program links no Temporal
// (nor gRPC, nor protobuf) code, whose packages cost every command ~7 ms
// to initialise (issue 23); chant-temporal, the helper it runs for the
// temporal engine, links the SDK. The Temporal server (the dev server's
// module) is in neither, nor among the main module's dependencies.
// The bundled demo is one workspace among others, its fixture made by a
// program of its own (fixture/makerepo): no program of chant's links it.
func TestTheProductDoesNotImportTheFixture(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "./cmd/chant", "./cmd/chant-temporal")
	cmd.Dir = projectRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if line == "github.com/chant-run/chant/fixture" || strings.HasPrefix(line, "github.com/chant-run/chant/fixture/") {
			t.Errorf("chant links %s", line)
		}
	}
}

func TestChantLinksNoTemporalCode(t *testing.T) {
	root := projectRoot(t)
	deps := func(pkg string) string {
		cmd := exec.Command("go", "list", "-deps", pkg)
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		return string(out)
	}
	for _, line := range strings.Split(deps("./cmd/chant"), "\n") {
		for _, heavy := range []string{"go.temporal.io/", "google.golang.org/grpc", "google.golang.org/protobuf"} {
			if strings.HasPrefix(line, heavy) {
				t.Errorf("chant links %s", line)
			}
		}
	}
	helper := deps("./cmd/chant-temporal")
	if !strings.Contains(helper, "go.temporal.io/sdk/client\n") {
		t.Error("chant-temporal does not link the Temporal SDK")
	}
	if strings.Contains(helper, "go.temporal.io/server") {
		t.Error("chant-temporal links go.temporal.io/server")
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(mod, []byte("go.temporal.io/server")) {
		t.Error("the main module requires go.temporal.io/server")
	}
}

// Limits on the shape of the code (issue 21): a function a newcomer reads
// whole, a package that does one job.
const (
	maxFuncLines      = 80
	maxFuncComplexity = 25 // cyclomatic, as gocyclo counts it
	maxPackageLines   = 3000
)

// compiledAtStart lists where package-level variables of f are set by
// regexp.MustCompile, which every start of every command would pay for
// (issue 23); a function literal's call is left for when it is called.
func compiledAtStart(f *ast.File, fset *token.FileSet, rel string) []string {
	var out []string
	for _, d := range f.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.VAR {
			ast.Inspect(g, func(n ast.Node) bool {
				if _, ok := n.(*ast.FuncLit); ok {
					return false
				}
				if c, ok := n.(*ast.CallExpr); ok {
					if sel, ok := c.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "MustCompile" {
						if id, ok := sel.X.(*ast.Ident); ok && id.Name == "regexp" {
							out = append(out, fmt.Sprintf("%s:%d", rel, fset.Position(c.Pos()).Line))
						}
					}
				}
				return true
			})
		}
	}
	return out
}

// TestCodeShape holds every function outside tests and generated code to
// maxFuncLines and maxFuncComplexity, and every package to
// maxPackageLines of non-test Go, with no regexp compiled at package
// level; with -v it lists the ten longest and
// the ten most complex functions.
func TestCodeShape(t *testing.T) {
	root := projectRoot(t)
	fset := token.NewFileSet()
	type fn struct {
		name         string
		lines, cyclo int
	}
	var fns []fn
	pkgLines := map[string]int{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() && p != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, p, src, parser.ParseComments)
		if err != nil {
			return err
		}
		if ast.IsGenerated(f) {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		pkgLines[filepath.Dir(rel)] += bytes.Count(src, []byte("\n"))
		for _, at := range compiledAtStart(f, fset, rel) {
			t.Errorf("%s: a regexp compiled at package level, at every start of chant: compile it when first used (sync.OnceValue)", at)
		}
		for _, s := range gocyclo.AnalyzeASTFile(f, fset, nil) {
			fd, ok := funcAt(f, fset, s.Pos.Line)
			if !ok {
				continue
			}
			lines := fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line + 1
			fns = append(fns, fn{fmt.Sprintf("%s:%d %s", rel, s.Pos.Line, s.FuncName), lines, s.Complexity})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fns {
		if f.lines > maxFuncLines {
			t.Errorf("%s: %d lines (at most %d)", f.name, f.lines, maxFuncLines)
		}
		if f.cyclo > maxFuncComplexity {
			t.Errorf("%s: complexity %d (at most %d)", f.name, f.cyclo, maxFuncComplexity)
		}
	}
	for pkg, n := range pkgLines {
		if n > maxPackageLines {
			t.Errorf("package %s: %d lines of non-test Go (at most %d)", pkg, n, maxPackageLines)
		}
	}
	slices.SortFunc(fns, func(a, b fn) int { return b.lines - a.lines })
	for _, f := range fns[:min(10, len(fns))] {
		t.Logf("longest: %3d lines  %s", f.lines, f.name)
	}
	slices.SortFunc(fns, func(a, b fn) int { return b.cyclo - a.cyclo })
	for _, f := range fns[:min(10, len(fns))] {
		t.Logf("most complex: %2d  %s", f.cyclo, f.name)
	}
	var pkgs []string
	for pkg := range pkgLines {
		pkgs = append(pkgs, pkg)
	}
	slices.SortFunc(pkgs, func(a, b string) int { return pkgLines[b] - pkgLines[a] })
	for _, pkg := range pkgs[:min(5, len(pkgs))] {
		t.Logf("largest package: %4d lines  %s", pkgLines[pkg], pkg)
	}
}

// funcAt is the function declared at line of f.
func funcAt(f *ast.File, fset *token.FileSet, line int) (*ast.FuncDecl, bool) {
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fset.Position(fd.Pos()).Line == line {
			return fd, true
		}
	}
	return nil, false
}
