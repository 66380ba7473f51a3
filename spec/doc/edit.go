package doc

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Editor changes a frontmatter document (a spec or config.md) in place.
// Only the bytes of what changes are touched: key order, comments, unknown
// keys, quoting, blank lines, the body, CRLF line endings and the presence or
// absence of a final newline all stay as they were.
//
// Each operation works on the result of the previous one; the first error
// stops the rest and is returned by Bytes.
type Editor struct {
	src []byte
	err error
}

// KV is one key of a mapping value, for Set with ordered keys.
type KV struct {
	Key   string
	Value any
}

// NewEditor starts editing a copy of src.
func NewEditor(src []byte) *Editor {
	return &Editor{src: append([]byte(nil), src...)}
}

// Bytes returns the edited document.
func (e *Editor) Bytes() ([]byte, error) { return e.src, e.err }

// Set sets a top-level frontmatter key. Values may be string, bool, int,
// []string or []KV; a time.Time is written in RFC 3339 UTC.
func (e *Editor) Set(key string, value any) {
	e.apply(func(d *doc) error { return d.set(d.root, d.l.YAMLEnd, 0, key, value) })
	e.verify(value, key)
}

// SetIn sets key inside the mapping under the top-level key parent,
// creating the mapping if it is absent.
func (e *Editor) SetIn(parent, key string, value any) {
	e.apply(func(d *doc) error {
		i := FindKey(d.root, parent)
		if i < 0 || d.root.Content[i+1].Kind != yaml.MappingNode {
			return d.set(d.root, d.l.YAMLEnd, 0, parent, []KV{{key, value}})
		}
		pv := d.root.Content[i+1]
		if pv.Style&yaml.FlowStyle != 0 {
			return d.setFlow(i, key, value)
		}
		indent := 2
		if len(pv.Content) > 0 {
			indent = pv.Content[0].Column - 1
		}
		return d.set(pv, d.entryEnd(d.root, i, d.l.YAMLEnd), indent, key, value)
	})
	e.verify(value, parent, key)
}

// verify re-reads the edited document and checks that the value at path is
// the one written, so that an edit the document's layout defeats is an
// error rather than a silently wrong file.
func (e *Editor) verify(value any, path ...string) {
	if e.err != nil {
		return
	}
	d, err := parseDoc(e.src)
	if err != nil {
		e.err = fmt.Errorf("the edit of %s would break the frontmatter: %w", strings.Join(path, "."), err)
		return
	}
	node := d.root
	for _, key := range path {
		i := FindKey(node, key)
		if i < 0 || node.Kind != yaml.MappingNode {
			node = nil
			break
		}
		node = node.Content[i+1]
	}
	var got any
	if node != nil {
		if err := node.Decode(&got); err != nil {
			got = nil
		}
	}
	wantText, _ := yaml.Marshal(normalize(value))
	gotText, _ := yaml.Marshal(normalize(got))
	if node == nil || string(wantText) != string(gotText) {
		e.err = fmt.Errorf("cannot set %s in this frontmatter in place (is it written as a flow mapping?)", strings.Join(path, "."))
	}
}

// normalize turns a value into the plain form YAML decoding gives it.
func normalize(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	case []KV:
		out := map[string]any{}
		for _, kv := range x {
			out[kv.Key] = normalize(kv.Value)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			out[k] = normalize(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = normalize(val)
		}
		return out
	}
	return v
}

// Delete removes a top-level frontmatter key, with its value.
func (e *Editor) Delete(key string) {
	e.apply(func(d *doc) error {
		i := FindKey(d.root, key)
		if i < 0 {
			return nil
		}
		start := d.lineStart(d.root.Content[i].Line + d.l.YAMLOffset)
		d.splice(start, d.entryEnd(d.root, i, d.l.YAMLEnd), "")
		return nil
	})
}

// AppendBody appends text as a new block at the end of the document,
// separated from what precedes it by a blank line.
func (e *Editor) AppendBody(text string) {
	e.apply(func(d *doc) error {
		d.splice(len(d.src), len(d.src), d.blockSeparator(len(d.src))+d.eolText(text))
		return nil
	})
}

// AppendToSection appends text at the end of the level-2 section titled
// heading, creating the section at the end of the document if needed.
func (e *Editor) AppendToSection(heading, text string) {
	e.apply(func(d *doc) error {
		start, end := d.section(heading)
		if start < 0 {
			d.splice(len(d.src), len(d.src), d.blockSeparator(len(d.src))+d.eolText("## "+heading+"\n\n"+text))
			return nil
		}
		// Insert after the section's last non-blank line.
		at := end
		for at > start && (d.src[at-1] == '\n' || d.src[at-1] == '\r') {
			at--
		}
		if at < len(d.src) {
			at = NextLine(d.src, at)
		}
		ins := d.blockSeparator(at) + d.eolText(text)
		if at < len(d.src) && d.src[at] != '\n' && d.src[at] != '\r' {
			ins += d.eol // keep a blank line before the next heading
		}
		d.splice(at, at, ins)
		return nil
	})
}

// CheckBox ticks the task-list box whose "[" is at offset.
func (e *Editor) CheckBox(offset int) { e.setBox(offset, 'x') }

// UncheckBox clears the task-list box whose "[" is at offset.
func (e *Editor) UncheckBox(offset int) { e.setBox(offset, ' ') }

func (e *Editor) setBox(offset int, mark byte) {
	e.apply(func(d *doc) error {
		if offset+2 >= len(d.src) || d.src[offset] != '[' || d.src[offset+2] != ']' {
			return fmt.Errorf("no task box at byte %d", offset)
		}
		d.src[offset+1] = mark
		return nil
	})
}

func (e *Editor) apply(op func(*doc) error) {
	if e.err != nil {
		return
	}
	d, err := parseDoc(e.src)
	if err == nil {
		err = op(d)
	}
	if err != nil {
		e.err = err
		return
	}
	e.src = d.src
}

// doc is one parse of the document being edited.
type doc struct {
	src   []byte
	l     Layout
	root  *yaml.Node
	eol   string
	lines []int // byte offset of the start of each line (index 0 is line 1)
}

func parseDoc(src []byte) (*doc, error) {
	l, root, err := Split(src)
	if err != nil {
		return nil, err
	}
	if root != nil && root.Style&yaml.FlowStyle != 0 {
		return nil, &Error{Line: root.Line + l.YAMLOffset, Col: root.Column,
			Msg: "frontmatter written as a flow mapping ({…}) cannot be edited in place; write it as one key per line"}
	}
	d := &doc{src: src, l: l, root: root, eol: "\n"}
	if i := bytes.IndexByte(src, '\n'); i > 0 && src[i-1] == '\r' {
		d.eol = "\r\n"
	}
	d.lines = append(d.lines, 0)
	for i, b := range src {
		if b == '\n' {
			d.lines = append(d.lines, i+1)
		}
	}
	if !l.HasFM {
		// Give the document an empty frontmatter block to edit.
		head := "---" + d.eol + "---" + d.eol
		nd, err := parseDoc(append(append(append([]byte(nil), src[:l.BOM]...), head...), src[l.BOM:]...))
		if err != nil {
			return nil, err
		}
		return nd, nil
	}
	return d, nil
}

func (d *doc) lineStart(n int) int {
	if n-1 < len(d.lines) {
		return d.lines[n-1]
	}
	return len(d.src)
}

func (d *doc) splice(start, end int, text string) {
	out := make([]byte, 0, len(d.src)-(end-start)+len(text))
	out = append(out, d.src[:start]...)
	out = append(out, text...)
	out = append(out, d.src[end:]...)
	d.src = out
}

// entryEnd returns the byte offset where the i-th key's entry of mapping m
// ends: the start of the next key's line, or limit, less any trailing blank
// and comment lines (they belong to what follows).
func (d *doc) entryEnd(m *yaml.Node, i, limit int) int {
	end := limit
	if i+2 < len(m.Content) {
		end = d.lineStart(m.Content[i+2].Line + d.l.YAMLOffset)
	}
	keyLineEnd := NextLine(d.src, d.lineStart(m.Content[i].Line+d.l.YAMLOffset))
	for end > keyLineEnd {
		prev := prevLineStart(d.src, end)
		t := strings.TrimSpace(string(d.src[prev:end]))
		if t != "" && !strings.HasPrefix(t, "#") {
			break
		}
		end = prev
	}
	return end
}

// set sets key in the block mapping m, whose entries end at byte limit and
// are indented by indent spaces.
func (d *doc) set(m *yaml.Node, limit, indent int, key string, value any) error {
	i := FindKey(m, key)
	if i < 0 {
		d.splice(limit, limit, d.render(key, value, indent))
		return nil
	}
	k, v := m.Content[i], m.Content[i+1]
	start := d.lineStart(k.Line + d.l.YAMLOffset)
	if sv, ok := scalarText(value); ok && v.Kind == yaml.ScalarNode && v.Line == k.Line &&
		v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
		// Replace only the value, keeping a trailing comment.
		lineEnd := start + len(bytes.TrimRight(d.src[start:NextLine(d.src, start)], "\r\n"))
		from := start + byteColumn(d.src[start:lineEnd], v.Column)
		to := lineEnd
		if v.LineComment != "" {
			if c := bytes.LastIndex(d.src[from:lineEnd], []byte(v.LineComment)); c >= 0 {
				to = from + len(bytes.TrimRight(d.src[from:from+c], " \t"))
			}
		}
		if str, isStr := value.(string); isStr && v.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			sv = quoted(str, v.Style) // keep the file's quoting
		}
		d.splice(from, to, sv)
		return nil
	}
	d.splice(start, d.entryEnd(m, i, limit), d.render(key, value, indent))
	return nil
}

// setFlow rewrites the flow mapping under the i-th top-level key with key
// set, keeping it a one-line flow mapping.
func (d *doc) setFlow(i int, key string, value any) error {
	k, pv := d.root.Content[i], d.root.Content[i+1]
	nm := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
	found := false
	for j := 0; j+1 < len(pv.Content); j += 2 {
		ck, cv := pv.Content[j], pv.Content[j+1]
		if ck.Value == key {
			cv, found = valueNode(value), true
		}
		nm.Content = append(nm.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: ck.Value}, cv)
	}
	if !found {
		nm.Content = append(nm.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, valueNode(value))
	}
	out, err := yaml.Marshal(nm)
	if err != nil {
		return err
	}
	start := d.lineStart(k.Line + d.l.YAMLOffset)
	indent := strings.Repeat(" ", k.Column-1)
	comment := ""
	if pv.LineComment != "" {
		// Keep a trailing comment and the spaces before it.
		line := d.src[start:NextLine(d.src, start)]
		if c := bytes.LastIndex(line, []byte(pv.LineComment)); c >= 0 {
			ws := len(line[:c]) - len(bytes.TrimRight(line[:c], " \t"))
			comment = string(line[c-ws:c]) + pv.LineComment
		}
	}
	d.splice(start, d.entryEnd(d.root, i, d.l.YAMLEnd),
		indent+k.Value+": "+strings.TrimSpace(string(out))+comment+d.eol)
	return nil
}

// quoted renders s in the given quote style.
func quoted(s string, style yaml.Style) string {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Style: style & (yaml.DoubleQuotedStyle | yaml.SingleQuotedStyle)}
	out, err := yaml.Marshal(n)
	if err != nil {
		return strconv.Quote(s)
	}
	return strings.TrimSuffix(string(out), "\n")
}

// render writes "key: value" lines at the given indent.
func (d *doc) render(key string, value any, indent int) string {
	pad := strings.Repeat(" ", indent)
	key, _ = scalarText(key) // a path as a key, say
	if s, ok := scalarText(value); ok {
		return pad + key + ": " + s + d.eol
	}
	var b strings.Builder
	switch v := value.(type) {
	case []string:
		if len(v) == 0 {
			return pad + key + ": []" + d.eol
		}
		b.WriteString(pad + key + ":" + d.eol)
		item := pad + d.seqIndent()
		for _, s := range v {
			t, _ := scalarText(s)
			b.WriteString(item + "- " + t + d.eol)
		}
	case []KV:
		b.WriteString(pad + key + ":" + d.eol)
		for _, kv := range v {
			b.WriteString(d.render(kv.Key, kv.Value, indent+2))
		}
	default:
		panic(fmt.Sprintf("spec: cannot write a %T", value))
	}
	return b.String()
}

// seqIndent follows the file: Chant writes list items level with their key.
func (d *doc) seqIndent() string {
	for i := 0; i+1 < len(d.root.Content); i += 2 {
		k, v := d.root.Content[i], d.root.Content[i+1]
		if v.Kind == yaml.SequenceNode && v.Style&yaml.FlowStyle == 0 && len(v.Content) > 0 {
			return strings.Repeat(" ", max(0, v.Content[0].Column-k.Column-2))
		}
	}
	return ""
}

// section finds the level-2 section titled heading: the offsets of its
// heading line and of its end (the next level-1 or level-2 heading, or the
// end of the document). Headings inside code fences do not count.
func (d *doc) section(heading string) (start, end int) {
	start, end = -1, len(d.src)
	Headings(d.src, d.l.BodyStart, func(off, level int, title string) bool {
		if start >= 0 {
			end = off
			return false
		}
		if level == 2 && strings.EqualFold(title, heading) {
			start = off
		}
		return true
	})
	if start < 0 {
		end = len(d.src)
	}
	return start, end
}

// headings calls visit with the offset, level and title of each level-1
// and level-2 ATX heading of src from offset from on, outside code fences,
// while visit returns true.
func Headings(src []byte, from int, visit func(off, level int, title string) bool) {
	fence := ""
	for off := from; off < len(src); off = NextLine(src, off) {
		text := strings.TrimRight(string(src[off:NextLine(src, off)]), "\r\n")
		trimmed := strings.TrimLeft(text, " ")
		if f := FenceOf(trimmed); f != "" && len(text)-len(trimmed) < 4 {
			switch {
			case fence == "":
				fence = f
			case strings.HasPrefix(f, fence) && strings.TrimSpace(strings.TrimLeft(trimmed, fence[:1])) == "":
				fence = ""
			}
			continue
		}
		if fence != "" {
			continue
		}
		level := 0
		switch {
		case strings.HasPrefix(text, "# ") || text == "#":
			level = 1
		case strings.HasPrefix(text, "## ") || text == "##":
			level = 2
		default:
			continue
		}
		if !visit(off, level, strings.TrimSpace(strings.TrimLeft(text, "#"))) {
			return
		}
	}
}

// fenceRE is compiled when first used, not at every start of chant.
var fenceRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile("^(```+|~~~+)") })

func FenceOf(line string) string { return fenceRE().FindString(line) }

// blockSeparator returns what must precede a block inserted at off so that
// it starts on a new line after a blank line.
func (d *doc) blockSeparator(off int) string {
	before := d.src[:off]
	switch {
	case len(bytes.TrimRight(before, "\r\n")) == 0:
		return ""
	case bytes.HasSuffix(before, []byte(d.eol+d.eol)) || bytes.HasSuffix(before, []byte("\n\n")):
		return ""
	case bytes.HasSuffix(before, []byte("\n")):
		return d.eol
	}
	return d.eol + d.eol
}

// eolText converts text's newlines to the document's and ends it with one.
func (d *doc) eolText(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	return strings.ReplaceAll(text, "\n", d.eol)
}

func FindKey(m *yaml.Node, key string) int {
	if m == nil {
		return -1
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return i
		}
	}
	return -1
}

func NextLine(b []byte, off int) int {
	if i := bytes.IndexByte(b[off:], '\n'); i >= 0 {
		return off + i + 1
	}
	return len(b)
}

func prevLineStart(b []byte, off int) int {
	if off == 0 {
		return 0
	}
	i := bytes.LastIndexByte(b[:off-1], '\n')
	return i + 1
}

// byteColumn converts a 1-based character column to a byte offset in line.
func byteColumn(line []byte, col int) int {
	off := 0
	for c := 1; c < col && off < len(line); c++ {
		_, n := utf8.DecodeRune(line[off:])
		off += n
	}
	return off
}

// scalarText renders a scalar value as YAML, plain where that reads back as
// the same string.
func scalarText(value any) (string, bool) {
	switch v := value.(type) {
	case time.Time:
		return v.UTC().Format(time.RFC3339), true
	case bool:
		return strconv.FormatBool(v), true
	case int:
		return strconv.Itoa(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case float64:
		// The shortest text that reads back as v, always with a point
		// or an exponent: a float stays one.
		t := strconv.FormatFloat(v, 'g', -1, 64)
		if !strings.ContainsAny(t, ".eEnN") {
			t += ".0"
		}
		return t, true
	case string:
		if isTimestamp(v) {
			return v, true
		}
		node := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
		if strings.ContainsAny(v, "\r\n") {
			node.Style = yaml.DoubleQuotedStyle
		}
		out, err := yaml.Marshal(node)
		if err != nil {
			return strconv.Quote(v), true
		}
		return strings.TrimSuffix(string(out), "\n"), true
	}
	return "", false
}

func valueNode(value any) *yaml.Node {
	s, _ := scalarText(value)
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(s), &n); err == nil && len(n.Content) == 1 {
		return n.Content[0]
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Value: s}
}

func isTimestamp(s string) bool {
	_, err := time.Parse(time.RFC3339, s)
	return err == nil
}
