package table

import (
	"strings"
	"testing"
)

// Columns line up by width on screen: a wide character counts twice, a
// colour not at all; no trailing blanks.
func TestTable(t *testing.T) {
	var tb Table
	tb.Add(Cell{Text: "ID"}, Cell{Text: "TITLE"}, Cell{Text: ""})
	tb.Add(Cell{Text: "日本", Paint: func(s string) string { return "\x1b[1m" + s + "\x1b[0m" }}, Cell{Text: "x"}, Cell{Text: ""})
	var b strings.Builder
	if err := tb.Write(&b); err != nil {
		t.Fatal(err)
	}
	want := "ID    TITLE\n\x1b[1m日本\x1b[0m  x\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

// Fields pad names to the longest, leave out empty values, and give JSON
// keys in lower case with underscores.
func TestFields(t *testing.T) {
	var f Fields
	f.Add("ID", "a")
	f.Add("Empty", "")
	f.Add("Target files", "x.txt")
	var b strings.Builder
	f.Write(&b)
	if want := "ID:           a\nTarget files: x.txt\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
	m := f.Map()
	if len(m) != 2 || m["id"] != "a" || m["target_files"] != "x.txt" {
		t.Errorf("map: %v", m)
	}
}
