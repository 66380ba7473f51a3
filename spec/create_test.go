package spec

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestNewIDIsChantStyleAndNext(t *testing.T) {
	day := time.Date(2026, 1, 22, 10, 0, 0, 0, time.UTC)
	set := NewSet(&Spec{ID: "2026-01-22-001-x7m"}, &Spec{ID: "2026-01-22-00z-abc"}, &Spec{ID: "2026-01-21-099-aaa"}, &Spec{ID: "005-fork-fix"})
	id := NewID(set, day)
	if !regexp.MustCompile(`^2026-01-22-010-[0-9a-z]{3}$`).MatchString(id) {
		t.Fatalf("NewID = %s, want 2026-01-22-010-xxx (after 00z)", id)
	}
	if id := NewID(NewSet(), day); !strings.HasPrefix(id, "2026-01-22-001-") {
		t.Fatalf("first of the day: %s", id)
	}
}

func TestCreateWritesAValidSpecOnce(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, ".chant", "specs"), 0o755)
	os.WriteFile(filepath.Join(root, ".chant", "config.md"), []byte("---\n---\n"), 0o644)
	os.WriteFile(filepath.Join(root, ".chant", "specs", "base.md"), []byte("---\n---\n# Base\n"), 0o644)
	w, err := OpenWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	d := Draft{ID: "greet", Title: "Greet: the reader's way", Targets: []string{"hello.txt"}, DependsOn: []string{"base"},
		Criteria: []string{"hello.txt greets the reader"}, Labels: []string{"docs"}, Gate: true, Type: "task"}
	path, err := w.Create(d, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Title != "Greet: the reader's way" || s.Type != "task" || s.Status != StatusPending || !s.Gate() || s.Approval.Status != ApprovalPending ||
		len(s.TargetFiles) != 1 || s.DependsOn[0] != "base" || s.Labels[0] != "docs" || len(s.Criteria()) != 1 || s.Criteria()[0].Checked {
		t.Fatalf("created spec: %+v\n%s", s, s.Bytes())
	}
	if _, err := w.Create(d, nil); err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Fatalf("second create: %v", err)
	}
	for _, bad := range []Draft{
		{ID: "x", Title: "X", Type: "implementation"},
		{ID: "x", Title: "X", DependsOn: []string{"nope"}},
		{ID: "x", Title: "X", Targets: []string{"../out"}},
		{ID: "a/b", Title: "X"},
		{ID: "x", Title: ""},
		{ID: "x", Title: "two\nlines"},
	} {
		if _, err := w.Create(bad, nil); err == nil {
			t.Errorf("Create(%+v) succeeded", bad)
		}
		if _, err := os.Stat(w.SpecPath("x")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("a refused draft was written")
		}
	}
	// Without criteria, a hint, and lint's warning.
	path, err = w.Create(Draft{ID: "bare", Title: "Bare"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, _ = ReadFile(path)
	if len(s.Criteria()) != 0 || !strings.Contains(string(s.Bytes()), "One task item per criterion") {
		t.Fatalf("bare spec:\n%s", s.Bytes())
	}
}

// The spec chant add writes without criteria holds no box but its
// criteria's: an agent that ticks boxes by replacing "- [ ]" everywhere
// must tick nothing else.
func TestNewSpecHasNoBoxButItsCriteria(t *testing.T) {
	for _, d := range []Draft{
		{ID: "a", Title: "A"},
		{ID: "b", Title: "B", Criteria: []string{"one", "two"}},
	} {
		data := d.Bytes()
		s, err := Parse(d.ID+".md", data)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(data), "- [ ]"); n != len(s.Criteria()) || n != len(d.Criteria) {
			t.Errorf("%s: %d boxes in the text, %d criteria:\n%s", d.ID, n, len(s.Criteria()), data)
		}
	}
}

// chant add --check: the draft's checks are the spec's, read back as
// written, a failing one as a mapping.
func TestDraftChecks(t *testing.T) {
	d := Draft{ID: "c", Title: "C", Targets: []string{"a.go"}, Checks: []Check{
		{Run: "go test ./...", Expect: ExpectPass},
		{Run: "grep -q 'TODO: x' a.go", Expect: ExpectFail},
	}}
	if err := d.Check(NewSet()); err != nil {
		t.Fatal(err)
	}
	s, err := Parse("c.md", d.Bytes())
	if err != nil {
		t.Fatalf("%v\n%s", err, d.Bytes())
	}
	if !reflect.DeepEqual(s.Checks, d.Checks) {
		t.Errorf("checks %+v, want %+v:\n%s", s.Checks, d.Checks, d.Bytes())
	}
	for _, bad := range []Check{{Run: " "}, {Run: "a\nb"}, {Run: "x", Expect: "maybe"}} {
		if err := (Draft{ID: "c", Title: "C", Checks: []Check{bad}}).Check(NewSet()); err == nil {
			t.Errorf("check %+v accepted", bad)
		}
	}
}
