package spec

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseFields(t *testing.T) {
	src := "---\ntype: research\nstatus: failed\ndepends_on: 001-a\ntarget_files:\n- notes.md\ninformed_by: [a.md, b.md]\n" +
		"commits: [abc1234]\napproval:\n  required: true\n  status: approved\n  by: Ada\n  at: 2026-01-02T03:04:05Z\n" +
		"checks:\n- go test ./...\n- run: \"false\"\n  expect: fail\n  timeout: 1m\nx-custom: kept\n---\n" +
		"# The title\n\nText.\n\n## Acceptance Criteria\n\n- [x] one\n- [ ] two\n  - [X] nested\n* [ ] star style\n\n## Next\n\n- [ ] not a criterion\n"
	s, err := Parse(".chant/specs/002-b.md", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := &Spec{
		ID: "002-b", Fields: Fields{Type: "research", Status: StatusFailed, DependsOn: []string{"001-a"},
			TargetFiles: []string{"notes.md"}, InformedBy: []string{"a.md", "b.md"}, Commits: []string{"abc1234"},
			Approval: &Approval{Required: true, Status: ApprovalApproved, By: "Ada", At: "2026-01-02T03:04:05Z"}},
		Title: "The title",
	}
	got := s
	if got.ID != want.ID || got.Type != want.Type || got.Status != want.Status || got.Title != want.Title ||
		!reflect.DeepEqual(got.DependsOn, want.DependsOn) || !reflect.DeepEqual(got.TargetFiles, want.TargetFiles) ||
		!reflect.DeepEqual(got.InformedBy, want.InformedBy) || !reflect.DeepEqual(got.Commits, want.Commits) ||
		!reflect.DeepEqual(got.Approval, want.Approval) {
		t.Errorf("parsed %+v", got)
	}
	if len(s.Checks) != 2 || s.Checks[0].Run != "go test ./..." || s.Checks[0].Expect != ExpectPass ||
		s.Checks[1].Run != "false" || s.Checks[1].Expect != ExpectFail || s.Checks[1].Timeout != "1m" {
		t.Errorf("checks = %+v", s.Checks)
	}
	var crit []string
	for _, c := range s.Criteria() {
		crit = append(crit, c.Text+map[bool]string{true: "+", false: "-"}[c.Checked])
		if src[c.Offset] != '[' {
			t.Errorf("criterion %q: offset %d is not '['", c.Text, c.Offset)
		}
	}
	if strings.Join(crit, ",") != "one+,two-,nested+,star style-" {
		t.Errorf("criteria = %v", crit)
	}
	if s.Criteria()[1].Line != 28 {
		t.Errorf("criterion two on line %d, want 28", s.Criteria()[1].Line)
	}
}

// The traps of adrg/frontmatter and of real files.
func TestParseTraps(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		title    string
		status   string
		criteria int
		err      string // substring of the error; "" for none
	}{
		{name: "BOM", src: "\ufeff---\nstatus: completed\n---\n# T\n", title: "T", status: "completed"},
		{name: "CRLF", src: "---\r\nstatus: completed\r\n---\r\n# T\r\n\r\n## Acceptance Criteria\r\n\r\n- [x] a\r\n", title: "T", status: "completed", criteria: 1},
		{name: "indented --- in block scalar", src: "---\nprompt: |\n  before\n  ---\n  after\nstatus: completed\n---\n# T\n", title: "T", status: "completed"},
		{name: "unterminated", src: "---\nstatus: completed\n# T\n", err: "x.md:1:1: frontmatter opened on line 1 is never closed"},
		{name: "no frontmatter", src: "# Just a title\n\n- [ ] not criteria\n", title: "Just a title", status: "pending"},
		{name: "empty file", src: "", status: "pending"},
		{name: "body begins with a rule", src: "---\nstatus: completed\n---\n---\n# T\n", title: "T", status: "completed"},
		{name: "frontmatter not at line 1", src: "\n---\nstatus: completed\n---\n# T\n", status: "pending", title: "T"},
		{name: "non-UTF-8", src: "---\nstatus: pending\n---\n# T\n\xff\xfe\n", err: "x.md:5:1: file is not valid UTF-8"},
		{name: "duplicate key", src: "---\nstatus: pending\ntype: code\nstatus: completed\n---\n", err: "x.md:4:1: duplicate key \"status\" (first on line 2)"},
		{name: "bad status", src: "---\nstatus: done\n---\n", err: "x.md:2:9: status: \"done\" is not one of"},
		{name: "bad type", src: "---\ntype: implementation\n---\n", err: "x.md:2:7: type: \"implementation\" is not one of"},
		{name: "bad approval", src: "---\napproval: {required: true, status: maybe}\n---\n", err: "approval.status: \"maybe\""},
		{name: "wrong shape", src: "---\ndepends_on: {a: b}\n---\n", err: "x.md:2:13: depends_on: expected a string or a list of strings, found a mapping"},
		{name: "not a mapping", src: "---\n- a\n---\n", err: "x.md:2:1: frontmatter must be a YAML mapping"},
		{name: "bad YAML", src: "---\ntype: code\nstatus: [\n---\n", err: "x.md:3:"},
		{name: "bad check", src: "---\nchecks:\n- run: x\n  expect: maybe\n---\n", err: "checks: expect \"maybe\" is not pass or fail"},
		{name: "replay_count not a number", src: "---\nreplay_count: many\n---\n", err: "x.md:2:15: replay_count: cannot unmarshal !!str `many` into int"},
		{name: "public not a bool", src: "---\npublic: maybe\n---\n", err: "x.md:2:9: public: cannot unmarshal !!str `maybe` into bool"},
		{name: "tracks not a list", src: "---\ntracks: {a: b}\n---\n", err: "x.md:2:9: tracks: expected a string or a list of strings, found a mapping"},
		{name: "commits list of lists", src: "---\ncommits:\n- [a]\n---\n", err: "x.md:3:3: commits: expected a string, found a list"},
		{name: "verification_status", src: "---\nverification_status: meh\n---\n", err: "x.md:2:22: verification_status: \"meh\" is not one of passed, partial, failed"},
		{name: "unknown keys and Chant's extra keys are fine", src: "---\nid: x\ncreated: 2026-01-02\nparent: y\nx-anything: [1, {a: 2}]\nbranch: chant/x\nschedule: daily\nlast_verified: 2026-01-02T00:00:00Z\n---\n# T\n", title: "T", status: "pending"},
		{name: "setext title", src: "Intro text\n\nThe Title\n=========\n\n# Later\n", title: "The Title", status: "pending"},
		{name: "title in indented code skipped", src: "Para.\n\n    # not a title\n\n# Real\n", title: "Real", status: "pending"},
		{name: "level-2 is not a title", src: "## Sub\n\n# Top\n", title: "Top", status: "pending"},
		{name: "title in code fence skipped", src: "```\n# Not it\n```\n\n# Real\n", title: "Real", status: "pending"},
		{name: "criteria in code fence skipped", src: "# T\n\n## Acceptance Criteria\n\n```\n- [ ] no\n```\n~~~\n- [ ] no\n~~~\n- [ ] yes\n", title: "T", status: "pending", criteria: 1},
		{name: "criteria end at same-level heading", src: "# T\n## Acceptance Criteria\n- [ ] a\n### Sub\n- [ ] b\n## Other\n- [ ] c\n", title: "T", status: "pending", criteria: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("x.md", []byte(tt.src))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Title != tt.title || s.Status != tt.status || len(s.Criteria()) != tt.criteria {
				t.Fatalf("title %q status %q criteria %d; want %q %q %d", s.Title, s.Status, len(s.Criteria()), tt.title, tt.status, tt.criteria)
			}
		})
	}
}

func TestParseErrorsAreTyped(t *testing.T) {
	_, err := Parse("a.md", []byte("---\nstatus: x\ntype: y\n---\n"))
	var list Errors
	if !errors.As(err, &list) || len(list) != 2 {
		t.Fatalf("want two errors, got %v", err)
	}
	var e *Error
	if !errors.As(list[1], &e) || e.Path != "a.md" || e.Line != 3 {
		t.Fatalf("second error = %#v", list[1])
	}
}

// The six bundled specs parse, in the shape the pipeline needs.
func TestBundledSpecsParse(t *testing.T) {
	set, err := LoadDir(filepath.Join("..", ".chant", "specs"))
	if err != nil {
		t.Fatal(err)
	}
	if err := set.Validate(); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range set.Order() {
		ids = append(ids, s.ID)
		if s.Status != StatusPending || s.Title == "" || len(s.Criteria()) == 0 || len(s.Unchecked()) != len(s.Criteria()) ||
			len(s.TargetFiles) == 0 || len(s.Checks) == 0 {
			t.Errorf("%s: status %s, title %q, %d criteria (%d unchecked), targets %v, checks %v",
				s.ID, s.Status, s.Title, len(s.Criteria()), len(s.Unchecked()), s.TargetFiles, s.Checks)
		}
	}
	want := "001-comprehension 002-reproduction 003-root-cause 004-impact-map 005-fork-fix 006-upstream-pr"
	if strings.Join(ids, " ") != want {
		t.Fatalf("order %v", ids)
	}
	gate := set.Get("006-upstream-pr")
	if !gate.Gate() || gate.Approval.Status != ApprovalPending {
		t.Errorf("006 approval = %+v", gate.Approval)
	}
	var expectFail int
	for _, c := range set.Get("002-reproduction").Checks {
		if c.Expect == ExpectFail {
			expectFail++
		}
	}
	if expectFail != 1 {
		t.Errorf("002 must have one check expected to fail")
	}
}

func TestParseConfig(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", ".chant", "config.md"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseConfig("config.md", src)
	if err != nil {
		t.Fatal(err)
	}
	if c.Project.Name != "kvstore" || c.Fixture.Name != "issue-42" || c.Fixture.Make != "go run ./fixture/makerepo" || c.Replay.Dir != "" || c.Defaults.Provider != "replay" {
		t.Errorf("config = %+v", c)
	}
	if _, err := ParseConfig("config.md", []byte("---\nproject: [1\n---\n")); err == nil || !strings.HasPrefix(err.Error(), "config.md:2") {
		t.Errorf("bad config error = %v", err)
	}
	if _, err := ParseConfig("config.md", []byte("---\nproject: 3\n---\n")); err == nil || !strings.HasPrefix(err.Error(), "config.md:2") {
		t.Errorf("wrong-shape config error = %v", err)
	}
}
