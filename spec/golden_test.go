package spec

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chant-run/chant/spec/doc"
	"github.com/rogpeppe/go-internal/diff"
)

var update = flag.Bool("update", false, "rewrite the golden diffs in testdata/golden")

// The writer's golden files: each testdata/golden/<op>-<name>.md is edited by
// the operation its name starts with, and the exact diff it makes is
// testdata/golden/<op>-<name>.diff. Every line not in the diff is
// untouched, byte for byte.
func TestGoldenEdits(t *testing.T) {
	at := time.Date(2026, 11, 24, 10, 30, 0, 0, time.UTC)
	ops := map[string]func(s *Spec, e *doc.Editor){
		// What the runner writes when a phase completes.
		"record": func(s *Spec, e *doc.Editor) {
			e.Set("status", StatusCompleted)
			e.Set("commits", append(append([]string{}, s.Commits...), "1a2b3c4"))
			e.Set("completed_at", at)
			e.AppendBody("## Agent Output\n\n2026-11-24T10:30:00Z\n\n```\nDone.\n```")
		},
		// What approve writes.
		"approve": func(s *Spec, e *doc.Editor) {
			e.SetIn("approval", "status", ApprovalApproved)
			e.SetIn("approval", "by", "Ada Lovelace")
			e.SetIn("approval", "at", at)
			e.AppendToSection("Approval Discussion", "**Ada Lovelace** - 2026-11-24 10:30 - APPROVED")
		},
		// What a failed phase writes.
		"fail": func(s *Spec, e *doc.Editor) {
			e.Set("status", StatusFailed)
		},
	}
	inputs, _ := filepath.Glob("testdata/golden/*.md")
	if len(inputs) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".md")
		t.Run(name, func(t *testing.T) {
			op := ops[strings.SplitN(name, "-", 2)[0]]
			if op == nil {
				t.Fatalf("no operation for %s", name)
			}
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			s, err := Parse(in, src)
			if err != nil {
				t.Fatal(err)
			}
			e := doc.NewEditor(src)
			op(s, e)
			out, err := e.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Parse(in, out); err != nil {
				t.Fatalf("the edited file does not parse: %v", err)
			}
			got := diff.Diff(name+".md", src, name+".md (edited)", out)
			golden := strings.TrimSuffix(in, ".md") + ".diff"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./spec -run Golden -update)", err)
			}
			if string(got) != string(want) {
				t.Errorf("the edit changed different lines than %s:\n%s", golden, got)
			}
		})
	}
}
