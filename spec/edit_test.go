package spec

import (
	"strings"
	"testing"

	"github.com/chant-run/chant/spec/doc"
)

func TestEditorChangesOnlyWhatChanged(t *testing.T) {
	tests := []struct {
		name string
		in   string
		edit func(*doc.Editor)
		want string
	}{{
		name: "a mapping of numbers, and it again",
		in:   "---\ntype: code\ncost:\n  usd: 0.25\n  input_tokens: 1\n---\n# T\n",
		edit: func(e *doc.Editor) {
			e.Set("cost", []doc.KV{{Key: "usd", Value: 0.0}, {Key: "input_tokens", Value: int64(30)}, {Key: "output_tokens", Value: int64(7)}})
		},
		want: "---\ntype: code\ncost:\n  usd: 0.0\n  input_tokens: 30\n  output_tokens: 7\n---\n# T\n",
	}, {
		name: "scalar keeps comment and neighbours",
		in:   "---\ntype: code   # kind\nstatus: pending # not yet\nx-unknown: {a: 1}\n---\n# T\n",
		edit: func(e *doc.Editor) { e.Set("status", "completed") },
		want: "---\ntype: code   # kind\nstatus: completed # not yet\nx-unknown: {a: 1}\n---\n# T\n",
	}, {
		name: "new list key goes last, in the file's list style",
		in:   "---\ndepends_on:\n- a\nstatus: pending\n---\nbody",
		edit: func(e *doc.Editor) { e.Set("commits", []string{"abc1234"}) },
		want: "---\ndepends_on:\n- a\nstatus: pending\ncommits:\n- abc1234\n---\nbody",
	}, {
		name: "indented list style is followed",
		in:   "---\ndepends_on:\n  - a\n---\n",
		edit: func(e *doc.Editor) { e.Set("commits", []string{"x"}) },
		want: "---\ndepends_on:\n  - a\ncommits:\n  - x\n---\n",
	}, {
		name: "replacing a list keeps the comment after it",
		in:   "---\ncommits:\n- old\n\n# labels next\nlabels: [a]\n---\n",
		edit: func(e *doc.Editor) { e.Set("commits", []string{"new1", "new2"}) },
		want: "---\ncommits:\n- new1\n- new2\n\n# labels next\nlabels: [a]\n---\n",
	}, {
		name: "CRLF is kept",
		in:   "---\r\nstatus: pending\r\n---\r\n# T\r\n",
		edit: func(e *doc.Editor) { e.Set("status", "completed"); e.Set("completed_at", "2026-01-02T03:04:05Z") },
		want: "---\r\nstatus: completed\r\ncompleted_at: 2026-01-02T03:04:05Z\r\n---\r\n# T\r\n",
	}, {
		name: "nested block mapping key",
		in:   "---\napproval:\n  required: true\n  status: pending\nlabels: [x]\n---\n",
		edit: func(e *doc.Editor) {
			e.SetIn("approval", "status", "approved")
			e.SetIn("approval", "by", "Ada Lovelace")
			e.SetIn("approval", "at", "2026-01-02T03:04:05Z")
		},
		want: "---\napproval:\n  required: true\n  status: approved\n  by: Ada Lovelace\n  at: 2026-01-02T03:04:05Z\nlabels: [x]\n---\n",
	}, {
		name: "flow mapping stays flow",
		in:   "---\napproval: {required: true, status: pending}\n---\n",
		edit: func(e *doc.Editor) { e.SetIn("approval", "status", "approved"); e.SetIn("approval", "by", "bob") },
		want: "---\napproval: {required: true, status: approved, by: bob}\n---\n",
	}, {
		name: "delete key",
		in:   "---\na: 1\nfixture: issue-42\nb: 2\n---\n",
		edit: func(e *doc.Editor) { e.Delete("fixture") },
		want: "---\na: 1\nb: 2\n---\n",
	}, {
		name: "append to body without final newline",
		in:   "---\na: 1\n---\n# T",
		edit: func(e *doc.Editor) { e.AppendBody("## Agent Output\n\nhi") },
		want: "---\na: 1\n---\n# T\n\n## Agent Output\n\nhi\n",
	}, {
		name: "append to existing section before next heading",
		in:   "# T\n\n## Approval Discussion\n\n**a** - x - REJECTED\n\n## Later\n",
		edit: func(e *doc.Editor) { e.AppendToSection("Approval Discussion", "**b** - y - APPROVED") },
		want: "---\n---\n# T\n\n## Approval Discussion\n\n**a** - x - REJECTED\n\n**b** - y - APPROVED\n\n## Later\n",
	}, {
		name: "section heading inside a code fence is not the section",
		in:   "---\n---\n```\n## Approval Discussion\n```\n",
		edit: func(e *doc.Editor) { e.AppendToSection("Approval Discussion", "entry") },
		want: "---\n---\n```\n## Approval Discussion\n```\n\n## Approval Discussion\n\nentry\n",
	}, {
		name: "strings that need quotes get them",
		in:   "---\n---\n",
		edit: func(e *doc.Editor) { e.Set("model", "true"); e.Set("prompt", "a: b") },
		want: "---\nmodel: \"true\"\nprompt: 'a: b'\n---\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := doc.NewEditor([]byte(tt.in))
			tt.edit(e)
			got, err := e.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got:\n%s\nwant:\n%s", strings.ReplaceAll(string(got), "\r", "\\r"), strings.ReplaceAll(tt.want, "\r", "\\r"))
			}
			if _, err := Parse("x.md", got); err != nil {
				t.Fatalf("edited document does not parse: %v", err)
			}
		})
	}
}
