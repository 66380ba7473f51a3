package spec

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	gast "github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"gopkg.in/yaml.v3"

	"github.com/chant-run/chant/internal/safefs"
	"github.com/chant-run/chant/spec/doc"
)

// markdown parses spec bodies, CommonMark, as goldmark.New's parser does;
// task-list boxes are read from its list items (doc.TaskBox). The parser
// alone: goldmark.New would link its HTML renderer into every command.
// Made when first needed, as a cached listing needs none.
var markdown = sync.OnceValue(func() parser.Parser {
	return parser.NewParser(
		parser.WithBlockParsers(parser.DefaultBlockParsers()...),
		parser.WithInlineParsers(parser.DefaultInlineParsers()...),
		parser.WithParagraphTransformers(parser.DefaultParagraphTransformers()...))
})

// ReadFile reads and parses the spec file at path.
func ReadFile(path string) (*Spec, error) {
	src, err := readSpecFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, src)
}

// maxFile bounds the size of a spec or config file.
const maxFile = 16 << 20

// readSpecFile reads a spec file, which must be a regular file: a symbolic
// link, a FIFO or a device is an error, never a read that follows it
// elsewhere or waits forever.
func readSpecFile(path string) ([]byte, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &Error{Path: path, Line: 1, Col: 1, Msg: "not a regular file (" + fileKind(fi.Mode()) + "); a spec must be one"}
	}
	return safefs.ReadRegular(path, maxFile)
}

func fileKind(m os.FileMode) string {
	switch {
	case m&os.ModeSymlink != 0:
		return "a symbolic link"
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m.IsDir():
		return "a directory"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}

// Parse parses a spec file's bytes. The returned error, if any, is an
// *Error or Errors naming path and the line of each problem; the returned
// Spec is filled as far as parsing got, so callers can still list it.
func Parse(path string, src []byte) (*Spec, error) {
	return parseInto(new(Spec), path, src)
}

// parseInto parses into s, which must be zero.
func parseInto(s *Spec, path string, src []byte) (*Spec, error) {
	s.ID, s.Path, s.src, s.Type, s.Status = IDFromPath(path), path, src, "code", StatusPending
	l, fm, err := splitText(path, src)
	s.layout = l
	if err != nil {
		s.broken = true
		return s, err
	}
	var errs Errors
	if fm != nil {
		for _, e := range s.decodeFrontmatter(fm) {
			errs = append(errs, withPath(e, path))
		}
	}
	s.parseTitle()
	if len(errs) > 0 {
		return s, errs
	}
	return s, nil
}

// decodeFrontmatter fills the known fields key by key, so that each problem
// is reported at its own line; unknown keys are left alone (and kept when
// the file is written).
func (s *Spec) decodeFrontmatter(fm *yaml.Node) []error {
	var errs []error
	off := s.layout.YAMLOffset
	seen := map[string]int{}
	for i := 0; i+1 < len(fm.Content); i += 2 {
		k, v := fm.Content[i], fm.Content[i+1]
		if first, dup := seen[k.Value]; dup {
			errs = append(errs, &Error{Line: k.Line + off, Col: k.Column,
				Msg: fmt.Sprintf("duplicate key %q (first on line %d)", k.Value, first+off)})
			continue
		}
		seen[k.Value] = k.Line
		target := s.field(k.Value)
		if target == nil {
			continue
		}
		if err := v.Decode(target); err != nil {
			at := v
			var ne *nodeError
			if errors.As(err, &ne) {
				at = ne.node
			}
			errs = append(errs, &Error{Line: at.Line + off, Col: at.Column, Msg: k.Value + ": " + decodeMessage(err)})
			continue
		}
		if msg := s.checkValue(k.Value); msg != "" {
			errs = append(errs, &Error{Line: v.Line + off, Col: v.Column, Msg: msg})
		}
	}
	return errs
}

// field is where the value of a frontmatter key goes: the spec's field
// (see Fields), a value to check the type of for a key Chant writes that
// chant only keeps, or nil for a key of neither.
func (s *Spec) field(key string) any {
	if i, ok := fieldIndex()[key]; ok {
		f := reflect.ValueOf(&s.Fields).Elem().Field(i).Addr().Interface()
		if list, ok := f.(*[]string); ok {
			return (*stringList)(list)
		}
		return f
	}
	return knownForeign(key)
}

// knownForeign is a value to check the type of for a key that Chant writes
// and chant does not act on (left in the file as it is), or nil.
func knownForeign(key string) any {
	switch key {
	case "derived_fields":
		return new(stringList)
	case "branch", "schedule", "replayed_at", "original_completed_at", "output_schema":
		return new(string)
	case "replay_count":
		return new(int)
	case "public":
		return new(bool)
	}
	return nil
}

// checkValue validates the value of a known key once decoded.
func (s *Spec) checkValue(key string) string {
	switch key {
	case "type":
		if !slices.Contains(validTypes, s.Type) {
			return fmt.Sprintf("type: %q is not one of %s", s.Type, strings.Join(validTypes, ", "))
		}
	case "status":
		if !slices.Contains(validStatuses, s.Status) {
			return fmt.Sprintf("status: %q is not one of %s", s.Status, strings.Join(validStatuses, ", "))
		}
	case "verification_status":
		if !slices.Contains(validVerifications, s.VerificationStatus) {
			return fmt.Sprintf("verification_status: %q is not one of %s", s.VerificationStatus, strings.Join(validVerifications, ", "))
		}
	case "approval":
		if s.Approval == nil {
			return ""
		}
		if s.Approval.Status == "" {
			s.Approval.Status = ApprovalPending
		}
		if !slices.Contains(validApprovals, s.Approval.Status) {
			return fmt.Sprintf("approval.status: %q is not one of %s", s.Approval.Status, strings.Join(validApprovals, ", "))
		}
	case "budget":
		if s.Budget != nil && !(s.Budget.USD > 0) {
			return fmt.Sprintf("budget.usd: %v is not an amount of dollars above 0", s.Budget.USD)
		}
	case "checks":
		for _, c := range s.Checks {
			if strings.TrimSpace(c.Run) == "" {
				return "checks: a check has no run command"
			}
			if c.Expect != ExpectPass && c.Expect != ExpectFail {
				return fmt.Sprintf("checks: expect %q is not pass or fail", c.Expect)
			}
		}
	}
	return ""
}

func decodeMessage(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		_, msg := doc.SplitYAMLLine(te.Errors[0])
		return msg
	}
	return err.Error()
}

// parseTitle finds the title: the first level-1 heading, outside code. It
// parses the body with goldmark only as far as needed: up to each line that
// could be a level-1 heading (or its setext underline) in turn, since what a
// line is depends only on the lines before it.
func (s *Spec) parseTitle() {
	body := s.src[s.layout.BodyStart:]
	for off := 0; off < len(body); {
		end := doc.NextLine(body, off)
		line := bytes.TrimLeft(body[off:end], " ")
		if len(body[off:end])-len(line) < 4 && (bytes.HasPrefix(line, []byte("#")) || bytes.HasPrefix(line, []byte("="))) {
			if title, ok := firstH1(body[:end]); ok {
				s.Title = title
				return
			}
		}
		off = end
	}
}

func firstH1(src []byte) (string, bool) {
	doc := markdown().Parse(text.NewReader(src))
	for n := doc.FirstChild(); n != nil; n = n.NextSibling() {
		if h, ok := n.(*gast.Heading); ok && h.Level == 1 {
			return headingText(h, src), true
		}
	}
	return "", false
}

// parseCriteria finds the acceptance criteria with goldmark: the task items
// under a heading "Acceptance Criteria", to the next heading of the same or
// a higher level, at any nesting, never inside code. Only the part of the
// body from that heading on is parsed when it can be found for certain
// (see criteriaStart): most of a spec is prose that cannot hold criteria.
func (s *Spec) parseCriteria() {
	src := s.text()
	if len(src) < s.layout.BodyStart {
		return
	}
	body := src[s.layout.BodyStart:]
	if !containsFold(body, "acceptance criteria") {
		return
	}
	start, ok := criteriaStart(body)
	if !ok {
		start = 0
	}
	s.criteria = criteriaIn(src, s.layout.BodyStart+start)
}

// criteriaIn parses src from off on for the criteria, with offsets in src.
func criteriaIn(src []byte, off int) []Criterion {
	part := src[off:]
	var out []Criterion
	root := markdown().Parse(text.NewReader(part))
	critLevel := 0 // level of the Acceptance Criteria heading while inside it
	for n := root.FirstChild(); n != nil; n = n.NextSibling() {
		if h, ok := n.(*gast.Heading); ok {
			if critLevel > 0 && h.Level <= critLevel {
				critLevel = 0
			}
			if strings.EqualFold(headingText(h, part), "Acceptance Criteria") {
				critLevel = h.Level
			}
			continue
		}
		if critLevel == 0 {
			continue
		}
		gast.Walk(n, func(c gast.Node, entering bool) (gast.WalkStatus, error) {
			pos, checked, ok := doc.TaskBox(part, c)
			if !ok || !entering {
				return gast.WalkContinue, nil
			}
			at := off + pos
			out = append(out, Criterion{
				Text:    criterionText(src, at),
				Checked: checked,
				Line:    1 + bytes.Count(src[:at], []byte("\n")),
				Offset:  at,
			})
			return gast.WalkContinue, nil // nested items are criteria too
		})
	}
	return out
}

// criteriaStart finds the first line of body that is, for certain, an ATX
// heading "Acceptance Criteria" of the document itself: at the start of
// the line, outside code fences, with nothing before it that could make it
// something else (an HTML block, an indented code block). ok is false when
// that cannot be told without parsing everything.
func criteriaStart(body []byte) (int, bool) {
	fence := ""
	for off := 0; off < len(body); off = doc.NextLine(body, off) {
		line := bytes.TrimRight(body[off:doc.NextLine(body, off)], "\r\n")
		trimmed := bytes.TrimLeft(line, " ")
		indent := len(line) - len(trimmed)
		if f := doc.FenceOf(string(trimmed)); f != "" && indent < 4 {
			switch {
			case fence == "":
				fence = f
			case strings.HasPrefix(f, fence) && len(bytes.TrimSpace(bytes.TrimLeft(trimmed, fence[:1]))) == 0:
				fence = ""
			}
			continue
		}
		if fence != "" {
			continue
		}
		if indent < 4 && bytes.HasPrefix(trimmed, []byte("<")) {
			return 0, false // an HTML block may run on
		}
		if !containsFold(line, "acceptance criteria") {
			continue
		}
		if hashes := len(line) - len(bytes.TrimLeft(line, "#")); hashes > 0 && hashes <= 6 {
			rest := line[hashes:]
			title := strings.TrimSpace(strings.TrimRight(strings.TrimSpace(string(rest)), "#"))
			if (len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t') && strings.EqualFold(title, "Acceptance Criteria") {
				return off, true
			}
		}
		// A mention that may be a heading in some other form (indented,
		// quoted, setext): only a full parse can tell.
		quoted := bytes.TrimLeft(trimmed, "> ")
		next := bytes.TrimSpace(body[doc.NextLine(body, off):doc.NextLine(body, doc.NextLine(body, off))])
		if bytes.HasPrefix(quoted, []byte("#")) || len(next) > 0 && (len(bytes.Trim(next, "=")) == 0 || len(bytes.Trim(next, "-")) == 0) {
			return 0, false
		}
	}
	return 0, false
}

// containsFold reports whether b contains substr, ignoring ASCII case.
func containsFold(b []byte, substr string) bool {
	return bytes.Contains(bytes.ToLower(b), []byte(substr))
}

func headingText(h *gast.Heading, src []byte) string {
	var b strings.Builder
	lines := h.Lines()
	for i := 0; i < lines.Len(); i++ {
		seg := lines.At(i)
		b.Write(seg.Value(src))
	}
	return strings.TrimSpace(b.String())
}

// criterionText is the rest of the line after the "[ ]" box at off.
func criterionText(src []byte, off int) string {
	rest := src[off:]
	if end := bytes.IndexByte(rest, '\n'); end >= 0 {
		rest = rest[:end]
	}
	if i := bytes.IndexByte(rest, ']'); i >= 0 {
		rest = rest[i+1:]
	}
	return strings.TrimSpace(string(rest))
}

func invalidUTF8Line(src []byte) int {
	line := 1
	for i := 0; i < len(src); {
		r, n := utf8.DecodeRune(src[i:])
		if r == utf8.RuneError && n <= 1 {
			return line
		}
		if r == '\n' {
			line++
		}
		i += n
	}
	return line
}
