package spec

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/chant-run/chant/spec/doc"
)

func addSeeds(f *testing.F) {
	for _, s := range []string{
		"", "---\n---\n", "---\nstatus: pending\n---\n# T\n\n## Acceptance Criteria\n\n- [ ] a\n",
		"\ufeff---\r\ntype: code\r\n---\r\n# T", "---\nprompt: |\n  ---\n---\n", "---\na: [\n---\n",
		"---\napproval: {required: true}\n---\n", "---\ndepends_on: x\nx: &a [1]\ny: *a\n---\n",
	} {
		f.Add([]byte(s))
	}
	paths, _ := filepath.Glob("../.chant/specs/*.md")
	seeds, _ := filepath.Glob("testdata/seeds/*")
	for _, p := range append(paths, seeds...) {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
}

// FuzzParse: no input panics, and every error names the file.
func FuzzParse(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		_, err := Parse("f.md", src)
		if err == nil {
			return
		}
		var e *Error
		var list Errors
		if !errors.As(err, &e) && !errors.As(err, &list) {
			t.Fatalf("untyped error %T: %v", err, err)
		}
		if !bytes.Contains([]byte(err.Error()), []byte("f.md")) {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}

// FuzzEdit: parse, change fields, write, parse again: the changed fields
// have their new values and everything else is as it was.
func FuzzEdit(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		before, err := Parse("f.md", src)
		if err != nil {
			return
		}
		e := doc.NewEditor(src)
		e.Set("status", StatusCompleted)
		e.Set("commits", []string{"abc1234"})
		e.SetIn("approval", "by", "Fuzz Tester")
		e.AppendBody("## Agent Output\n\ndone")
		out, err := e.Bytes()
		if err != nil {
			return // a document the editor cannot place a key in is refused, not damaged
		}
		after, err := Parse("f.md", out)
		if err != nil {
			t.Fatalf("edited document does not parse: %v\n--- before\n%q\n--- after\n%q", err, src, out)
		}
		if after.Status != StatusCompleted || !reflect.DeepEqual(after.Commits, []string{"abc1234"}) ||
			after.Approval == nil || after.Approval.By != "Fuzz Tester" {
			t.Fatalf("edited fields: status %q commits %v approval %+v\n%q", after.Status, after.Commits, after.Approval, out)
		}
		if after.Type != before.Type || !reflect.DeepEqual(after.DependsOn, before.DependsOn) ||
			!reflect.DeepEqual(after.TargetFiles, before.TargetFiles) || after.Title != before.Title ||
			len(after.Criteria()) != len(before.Criteria()) {
			t.Fatalf("other fields changed:\nbefore %+v\nafter  %+v\n%q", before, after, out)
		}
		if before.Approval != nil && after.Approval.Required != before.Approval.Required {
			t.Fatalf("approval.required changed")
		}
		if body := before.Body(); !bytes.HasPrefix(after.Body(), bytes.TrimRight(body, "\r\n")) {
			t.Fatalf("body changed:\n%q\n%q", body, after.Body())
		}
	})
}

// FuzzCriteria checks that finding the criteria from the Acceptance
// Criteria heading on gives what parsing the whole body gives.
func FuzzCriteria(f *testing.F) {
	for _, body := range []string{
		"# T\n\n## Acceptance Criteria\n\n- [ ] a\n- [x] b\n",
		"# T\n\n```\n## Acceptance Criteria\n- [ ] in code\n```\n\n## Acceptance Criteria\n\n- [ ] real\n",
		"# T\n\nSee the acceptance criteria below.\n\n### Acceptance Criteria\n\n* [X] c\n\n## Next\n\n- [ ] not\n",
		"# T\n\n  ## Acceptance Criteria\n\n- [ ] indented heading\n",
		"# T\n\nAcceptance Criteria\n===\n\n- [ ] setext\n\n## Acceptance Criteria\n\n- [ ] atx\n",
		"# T\n\n> ## Acceptance Criteria\n> - [ ] quoted\n",
		"# T\n\n<div>\n## Acceptance Criteria\n- [ ] html\n</div>\n",
		"# T\n\n- item\n## Acceptance Criteria\n- [ ] after a list\n",
		"# T\n\n~~~\n```\n~~~\n## acceptance criteria ##\n1. [ ] numbered\n",
	} {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		src := []byte(body)
		whole := criteriaIn(src, 0)
		start, ok := criteriaStart(src)
		if !ok {
			return
		}
		part := criteriaIn(src, start)
		if len(whole) != len(part) {
			t.Fatalf("whole body: %d criteria, from %d: %d\n%q", len(whole), start, len(part), body)
		}
		for i := range whole {
			if whole[i] != part[i] {
				t.Fatalf("criterion %d: %+v, from %d: %+v\n%q", i, whole[i], start, part[i], body)
			}
		}
	})
}
