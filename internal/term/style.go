package term

import (
	"io"
	"os"
	"strings"

	xterm "golang.org/x/term"

	"github.com/chant-run/chant/internal/textsafe"
)

// Style colours chant's own output on a terminal; it leaves text plain
// otherwise, or with NO_COLOR (no-color.org: set and not empty).
type Style struct{ Color bool }

// NewStyle is the style of output to w.
func NewStyle(w io.Writer) Style {
	f, ok := textsafe.FileOf(w)
	return Style{Color: ok && os.Getenv("NO_COLOR") == "" && xterm.IsTerminal(int(f.Fd()))}
}

// Paint colours s with the SGR code (32: green), on a terminal.
func (st Style) Paint(code, s string) string {
	if !st.Color {
		return s
	}
	return textsafe.Own("\x1b["+code+"m") + s + textsafe.Own("\x1b[0m")
}

// Bold is s in bold, on a terminal.
func (st Style) Bold(s string) string { return st.Paint("1", s) }

// DiffLine colours a line of a diff as git does, on a terminal.
func (st Style) DiffLine(line string) string {
	code := ""
	switch {
	case strings.HasPrefix(line, "+++"), strings.HasPrefix(line, "---"), strings.HasPrefix(line, "diff "):
		code = "1"
	case strings.HasPrefix(line, "+"):
		code = "32"
	case strings.HasPrefix(line, "-"):
		code = "31"
	case strings.HasPrefix(line, "@@"):
		code = "36"
	}
	if code == "" {
		return line
	}
	body, nl := strings.CutSuffix(line, "\n")
	line = st.Paint(code, body)
	if nl {
		line += "\n"
	}
	return line
}
