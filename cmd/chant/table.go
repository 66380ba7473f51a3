package main

import (
	"io"
	"strings"

	"github.com/mattn/go-runewidth"
)

// table lays out rows in columns by the text's width on screen (wide
// characters count twice, colour escapes not at all: a cell's colour is
// applied after its width is measured), two spaces apart.
type table struct {
	rows [][]cell
}

type cell struct {
	text  string
	paint func(string) string // nil: plain
}

func (t *table) add(cells ...cell) { t.rows = append(t.rows, cells) }

func plain(texts ...string) []cell {
	out := make([]cell, len(texts))
	for i, s := range texts {
		out[i] = cell{text: s}
	}
	return out
}

func (t *table) write(w io.Writer) error {
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], runewidth.StringWidth(c.text))
		}
	}
	var b, line strings.Builder
	for _, r := range t.rows {
		line.Reset()
		for i, c := range r {
			text := c.text
			if c.paint != nil {
				text = c.paint(text)
			}
			line.WriteString(text)
			if i < len(r)-1 {
				line.WriteString(strings.Repeat(" ", widths[i]-runewidth.StringWidth(c.text)+2))
			}
		}
		// No trailing blanks when the last cells are empty.
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}
