// Package table lays out rows of text in columns by their width on
// screen.
package table

import (
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
