package doc

import (
	"fmt"
	"slices"
	"testing"

	"github.com/yuin/goldmark"
	gast "github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	extast "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"
)

// boxes are the task boxes of src as goldmark's TaskList extension reads
// them, and as TaskBox does on plain CommonMark: where and whether ticked.
func boxes(src []byte) (want, got []string) {
	withExt := goldmark.New(goldmark.WithExtensions(extension.TaskList)).Parser().Parse(text.NewReader(src))
	gast.Walk(withExt, func(n gast.Node, entering bool) (gast.WalkStatus, error) {
		if box, ok := n.(*extast.TaskCheckBox); ok && entering {
			want = append(want, fmt.Sprintf("%d %v", box.Pos(), box.IsChecked))
		}
		return gast.WalkContinue, nil
	})
	plain := goldmark.New().Parser().Parse(text.NewReader(src))
	gast.Walk(plain, func(n gast.Node, entering bool) (gast.WalkStatus, error) {
		if pos, checked, ok := TaskBox(src, n); ok && entering {
			got = append(got, fmt.Sprintf("%d %v", pos, checked))
		}
		return gast.WalkContinue, nil
	})
	return want, got
}

// TaskBox finds the boxes the extension finds, at the same places.
func FuzzTaskBox(f *testing.F) {
	for _, s := range []string{
		"- [ ] a\n- [x] b\n- [X] c\n",
		"* [ ] a\n  - [x] nested\n\n  more\n",
		"1. [ ]\n2. [x](http://example.com)\n",
		"- \\[x] escaped\n- `[x]` code\n- [y] not\n- [] empty\n",
		"-   [x] spaces\n-\t[ ] tab\n",
		"- [ ] loose\n\n- [x] list\n",
		"> - [ ] quoted\n",
		"- a\n  [x] continuation\n",
		"- # [x] heading\n",
		"    - [ ] code\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if want, got := boxes(src); !slices.Equal(want, got) {
			t.Errorf("%q: the extension finds %v, TaskBox %v", src, want, got)
		}
	})
}
