package doc

import (
	"bytes"
	"errors"
	"strings"

	"github.com/adrg/frontmatter"
	"gopkg.in/yaml.v3"
)

// utf8BOM is skipped before the frontmatter; adrg/frontmatter does not.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// Layout locates the parts of a document, as byte offsets into it.
type Layout struct {
	BOM        int // length of a leading UTF-8 BOM (0 or 3)
	HasFM      bool
	YAMLStart  int // first byte of the YAML block
	YAMLEnd    int // first byte of the closing "---" line
	BodyStart  int // first byte after the closing line
	CloseLine  int // 1-based line of the closing "---"
	YAMLOffset int // lines before the YAML block (add to yaml.Node.Line)
}

// Split finds the YAML frontmatter of src and decodes it into a
// yaml.Node: adrg/frontmatter splits the file, once, and its format decodes
// the block with yaml.v3. The block must open on the first line and close
// on a later line that is exactly "---" (trailing blanks allowed). Around
// the library's known gaps: a UTF-8 BOM is skipped, an unterminated block
// is an error rather than body text, a first line that is not a delimiter
// is never taken for one, and indented "---" lines (inside a YAML block
// scalar) are hidden from the library, which would otherwise end the
// frontmatter there.
func Split(src []byte) (Layout, *yaml.Node, error) {
	var l Layout
	if bytes.HasPrefix(src, utf8BOM) {
		l.BOM = len(utf8BOM)
	}
	rest := src[l.BOM:]
	first, firstLen := line(rest, 0)
	if !isDelimiter(first) {
		l.BodyStart = l.BOM
		return l, nil, nil
	}
	l.HasFM = true
	l.YAMLStart = l.BOM + firstLen
	l.YAMLOffset = 1

	var (
		found bool
		root  *yaml.Node
		perr  error
	)
	format := frontmatter.NewFormat("---", "---", func(data []byte, _ any) error {
		found = true
		// data is the library's copy (of the masked input, perhaps): the
		// block is decoded from the file's own bytes at the same place.
		l.YAMLEnd = l.YAMLStart + len(data)
		l.CloseLine = 2 + bytes.Count(data, []byte("\n"))
		root, perr = DecodeBlock(src[l.YAMLStart:l.YAMLEnd], l)
		return nil
	})
	body, err := frontmatter.Parse(bytes.NewReader(maskIndentedDelimiters(rest)), nil, format)
	if err != nil {
		return l, nil, &Error{Line: 1, Col: 1, Msg: "frontmatter: " + err.Error()}
	}
	if !found {
		return l, nil, &Error{Line: 1, Col: 1, Msg: "frontmatter opened on line 1 is never closed: no line \"---\" follows"}
	}
	l.BodyStart = len(src) - len(body)
	return l, root, perr
}

// DecodeBlock decodes the YAML block of a frontmatter laid out as l.
func DecodeBlock(block []byte, l Layout) (*yaml.Node, error) {
	// YAML takes a lone CR for a line break; lines here are LF-terminated,
	// so line numbers and edits would disagree. Refuse it plainly.
	if i := bareCR(block); i >= 0 {
		return nil, &Error{Line: l.YAMLOffset + 1 + bytes.Count(block[:i], []byte("\n")), Msg: "carriage return without line feed in the frontmatter"}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(block, &doc); err != nil {
		return nil, yamlError(err, l.YAMLOffset, l.CloseLine-1)
	}
	if doc.Kind == 0 { // empty block
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: 1, Column: 1}, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &Error{Line: root.Line + l.YAMLOffset, Col: root.Column, Msg: "frontmatter must be a YAML mapping of keys to values"}
	}
	return root, nil
}

// bareCR returns the offset of the first CR not followed by LF, or -1.
func bareCR(b []byte) int {
	for i, c := range b {
		if c == '\r' && (i+1 == len(b) || b[i+1] != '\n') {
			return i
		}
	}
	return -1
}

// line returns the line of b starting at off without its line ending, and
// the length of the line including the ending.
func line(b []byte, off int) (text []byte, n int) {
	end := bytes.IndexByte(b[off:], '\n')
	if end < 0 {
		return b[off:], len(b) - off
	}
	return bytes.TrimSuffix(b[off:off+end], []byte("\r")), end + 1
}

// isDelimiter reports whether a line is "---", allowing trailing blanks but
// not indentation.
func isDelimiter(text []byte) bool {
	return bytes.Equal(bytes.TrimRight(text, " \t\r"), []byte("---"))
}

// maskIndentedDelimiters returns a copy of b in which every indented line
// that trims to "---" has its dashes replaced, so a parser that trims lines
// does not take it for the closing delimiter. Lengths are unchanged.
func maskIndentedDelimiters(b []byte) []byte {
	if !bytes.Contains(b, []byte(" ---")) && !bytes.Contains(b, []byte("\t---")) {
		return b // nothing to mask: no copy
	}
	out := append([]byte(nil), b...)
	for off := 0; off < len(out); {
		text, n := line(out, off)
		if !isDelimiter(text) && string(bytes.TrimSpace(text)) == "---" {
			i := off + bytes.Index(text, []byte("---"))
			copy(out[i:i+3], "xxx")
		}
		off += n
	}
	return out
}

// yamlError turns a yaml.v3 error into an Error with a line in the file
// (offset is the number of lines before the YAML block; lastLine the last
// line of the block in the file).
func yamlError(err error, offset, lastLine int) error {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	ln, text := SplitYAMLLine(msg)
	if strings.HasPrefix(text, "did not find expected") {
		// yaml.v3 counts lines from 0 for parser (not scanner) errors.
		ln++
	}
	if ln > 0 {
		ln = min(ln+offset, lastLine)
	}
	return &Error{Line: ln, Col: 1, Msg: "invalid YAML: " + text}
}

// SplitYAMLLine takes "yaml: line 3: did not find …" apart.
func SplitYAMLLine(msg string) (int, string) {
	s := msg
	for _, p := range []string{"yaml: ", "line "} {
		if len(s) >= len(p) && s[:len(p)] == p {
			s = s[len(p):]
		}
	}
	n, i := 0, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		n = n*10 + int(s[i]-'0')
		i++
	}
	if i == 0 || i >= len(s) || s[i] != ':' {
		return 0, trimYAMLPrefix(msg)
	}
	return n, trimYAMLPrefix(s[i+1:])
}

func trimYAMLPrefix(s string) string {
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	if len(s) > 6 && s[:6] == "yaml: " {
		s = s[6:]
	}
	return s
}
