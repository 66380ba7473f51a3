package term

import (
	"strings"
	"testing"

	"github.com/chant-run/chant/internal/textsafe"
)

// Off a terminal, text stays plain; on one, a diff's lines are coloured
// as git colours them, and only chant's own sequences pass a filter.
func TestStyle(t *testing.T) {
	var b strings.Builder
	if st := NewStyle(&b); st.Color || st.DiffLine("+x\n") != "+x\n" || st.Bold("b") != "b" {
		t.Errorf("off a terminal: %+v", st)
	}
	on := Style{Color: true}
	w := textsafe.NewWriter(&b)
	for _, line := range []string{"+added\n", "-removed\n", "@@ -1 +1 @@\n", "diff --git a/x b/x\n", " same\n"} {
		w.Write([]byte(on.DiffLine(line)))
	}
	want := "\x1b[32m+added\x1b[0m\n\x1b[31m-removed\x1b[0m\n\x1b[36m@@ -1 +1 @@\x1b[0m\n\x1b[1mdiff --git a/x b/x\x1b[0m\n same\n"
	if b.String() != want {
		t.Errorf("coloured diff %q, want %q", b.String(), want)
	}
}
