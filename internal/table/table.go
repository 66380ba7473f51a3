// Package table lays out rows of text in columns by their width on
// screen.
package table

import (
	"encoding/json"
	"io"
	"strings"

	"github.com/mattn/go-runewidth"
)

// Table lays out rows in columns by the text's width on screen (wide
// characters count twice, colour escapes not at all: a cell's colour is
// applied after its width is measured), two spaces apart.
type Table struct {
	rows [][]Cell
}

// Cell is a cell's text and its colour.
type Cell struct {
	Text  string
	Paint func(string) string // nil: plain
}

// Add adds a row.
func (t *Table) Add(cells ...Cell) { t.rows = append(t.rows, cells) }

// Write writes the rows, one line each.
func (t *Table) Write(w io.Writer) error {
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], runewidth.StringWidth(c.Text))
		}
	}
	var b, line strings.Builder
	for _, r := range t.rows {
		line.Reset()
		for i, c := range r {
			text := c.Text
			if c.Paint != nil {
				text = c.Paint(text)
			}
			line.WriteString(text)
			if i < len(r)-1 {
				line.WriteString(strings.Repeat(" ", widths[i]-runewidth.StringWidth(c.Text)+2))
			}
		}
		// No trailing blanks when the last cells are empty.
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Fields are named values, written one a line with the names padded to
// the longest (Write), or as JSON (Map). Empty values are left out.
type Fields struct{ names, values []string }

// Add adds a value, unless it is empty.
func (f *Fields) Add(name, value string) {
	if value != "" {
		f.names, f.values = append(f.names, name), append(f.values, value)
	}
}

// Write writes "Name:  value" lines.
func (f *Fields) Write(w io.Writer) error {
	width := 0
	for _, n := range f.names {
		width = max(width, runewidth.StringWidth(n)+1)
	}
	var b strings.Builder
	for i, n := range f.names {
		b.WriteString(n + ":" + strings.Repeat(" ", width-runewidth.StringWidth(n)) + f.values[i] + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Map is the fields keyed by their names in lower case, with spaces as
// underscores ("Target files": "target_files"), for JSON.
func (f *Fields) Map() map[string]any {
	m := make(map[string]any, len(f.names))
	for i, n := range f.names {
		m[strings.ReplaceAll(strings.ToLower(n), " ", "_")] = f.values[i]
	}
	return m
}

// JSON writes Map, with more, as one JSON object on a line.
func (f *Fields) JSON(w io.Writer, more map[string]any) error {
	m := f.Map()
	for k, v := range more {
		m[k] = v
	}
	return json.NewEncoder(w).Encode(m)
}
