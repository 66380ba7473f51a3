package doc

import (
	gast "github.com/yuin/goldmark/ast"
)

// TaskBox finds the task-list checkbox ("[ ]", "[x]") that begins list
// item n, as GitHub's task lists (goldmark's TaskList extension) read it:
// at the start of the item's first block, "[", a space or x or X, "]". It
// returns the offset of its "[" in src (what n was parsed from) and
// whether it is checked; ok is false when the item has no box. The
// extension itself is not used: its package compiles, at every start of
// chant, regular expressions for links that chant never parses.
func TaskBox(src []byte, n gast.Node) (offset int, checked, ok bool) {
	item, isItem := n.(*gast.ListItem)
	if !isItem || item.FirstChild() == nil {
		return 0, false, false
	}
	switch item.FirstChild().Kind() {
	case gast.KindTextBlock, gast.KindParagraph, gast.KindHeading: // what holds inline text
	default:
		return 0, false, false
	}
	lines := item.FirstChild().Lines()
	if lines.Len() == 0 {
		return 0, false, false
	}
	seg := lines.At(0)
	i := seg.Start
	for i < seg.Stop && (src[i] == ' ' || src[i] == '\t') {
		i++
	}
	if i+2 >= seg.Stop || src[i] != '[' || src[i+2] != ']' {
		return 0, false, false
	}
	switch src[i+1] {
	case 'x', 'X':
		return i, true, true
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return i, false, true
	}
	return 0, false, false
}
