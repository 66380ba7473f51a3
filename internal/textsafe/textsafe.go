// Package textsafe keeps terminal control out of text that came from
// outside chant (an agent's output, a file name it made, a spec's title):
// escape sequences (OSC 52 clipboard writes, cursor moves that hide lines,
// title changes), C0 and C1 control characters but newline and tab, and
// the bidirectional overrides that make text read other than it is.
//
// Clean does it to a string; Writer does it to a stream, wherever a
// sequence is cut between writes. chant's own styling (colours, its
// progress line) passes a Writer only when marked by Own, with a marker
// made at random when the process starts, which no other process knows.
package textsafe

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Clean returns s with invalid UTF-8 replaced (a run of invalid bytes by
// one U+FFFD, as strings.ToValidUTF8 does) and every control
// sequence and control character removed, but newline and tab.
func Clean(s string) string {
	var b bytes.Buffer
	f := filter{}
	f.write(&b, []byte(s), nil)
	f.flush(&b)
	return b.String()
}

// marker introduces one of chant's own sequences on a Writer: NUL, random
// hex, NUL. NUL never passes a Writer otherwise. Made when first needed:
// the first random bytes cost a process about 1% of a chant status.
var marker = sync.OnceValue(func() string {
	var b [8]byte
	rand.Read(b[:])
	return "\x00" + hex.EncodeToString(b[:]) + "\x00"
})

// Own marks seq, one of chant's own control sequences (a colour, its
// progress line's "\r\x1b[K"), to pass a Writer.
func Own(seq string) string { return marker() + seq }

// Writer filters what is written to it as Clean does, but for sequences
// marked with Own, which it writes without their marker.
type Writer struct {
	mu sync.Mutex
	w  io.Writer
	f  filter
}

// NewWriter returns a Writer to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Underlying is the writer filtered (to tell whether it is a terminal).
func (w *Writer) Underlying() io.Writer { return w.w }

func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var b bytes.Buffer
	var own []byte // only a NUL can start chant's own sequence
	if bytes.IndexByte(p, 0) >= 0 {
		own = []byte(marker())
	}
	w.f.write(&b, p, own)
	if b.Len() == 0 {
		return len(p), nil
	}
	if _, err := w.w.Write(b.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// filter is the state of a stream being cleaned: inside an escape
// sequence, or holding the start of a UTF-8 sequence cut by a write.
type filter struct {
	state   int
	partial []byte // an incomplete UTF-8 sequence
	n       int    // bytes of the current string sequence (OSC, DCS, ...)
	invalid bool   // the last byte was invalid UTF-8: a run of them is one U+FFFD
}

const (
	normal   = iota
	esc      // after ESC
	escInter // after ESC and intermediate bytes
	csi      // ESC [ ... final
	str      // OSC, DCS, SOS, PM, APC: up to BEL or ST
	strEsc   // ESC inside a string sequence
)

// maxString bounds a string sequence: past it, what follows is text again
// (a sequence never ended must not swallow the rest of the output).
const maxString = 4096

func (f *filter) write(out *bytes.Buffer, p []byte, own []byte) {
	if len(f.partial) > 0 {
		p = append(append([]byte(nil), f.partial...), p...)
		f.partial = f.partial[:0]
	}
	for i := 0; i < len(p); {
		if f.state != normal {
			f.inSequence(p[i])
			i++
			continue
		}
		c := p[i]
		switch {
		case c == 0 && own != nil && bytes.HasPrefix(p[i:], own):
			// chant's own sequence: written as it is, up to its end.
			j := i + len(own)
			end := ownEnd(p[j:])
			out.Write(p[j : j+end])
			i = j + end
		case c == 0x1b:
			f.state = esc
			i++
		case c < 0x80:
			f.invalid = false
			if c >= 0x20 && c != 0x7f || c == '\n' || c == '\t' {
				out.WriteByte(c)
			}
			i++
		default:
			size := f.text(out, p[i:])
			if size == 0 {
				return // an incomplete UTF-8 sequence, kept for the next write
			}
			i += size
		}
	}
}

// inSequence takes byte c of an escape sequence: it moves the state on,
// and writes nothing.
func (f *filter) inSequence(c byte) {
	switch f.state {
	case esc:
		switch {
		case c == '[':
			f.state = csi
		case c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_':
			f.state, f.n = str, 0
		case c >= 0x20 && c <= 0x2f:
			f.state = escInter
		default:
			f.state = normal
		}
	case escInter:
		if c < 0x20 || c > 0x2f {
			f.state = normal
		}
	case csi:
		if c >= 0x40 && c <= 0x7e || c < 0x20 && c != 0x1b {
			f.state = normal
		}
	case str, strEsc:
		f.n++
		switch {
		case c == 0x07, f.state == strEsc && c == '\\':
			f.state = normal
		case c == 0x1b:
			f.state = strEsc
		case f.n > maxString:
			f.state = normal
		default:
			f.state = str
		}
	}
}

// text takes the non-ASCII character at the start of p: written unless it
// is a control or bidirectional one, or the start of an 8-bit sequence; a
// run of invalid bytes becomes one U+FFFD. It returns the bytes taken, 0
// when p holds only the start of a character (kept in partial).
func (f *filter) text(out *bytes.Buffer, p []byte) int {
	r, size := utf8.DecodeRune(p)
	if r == utf8.RuneError && size <= 1 {
		if !utf8.FullRune(p) {
			f.partial = append(f.partial, p...)
			return 0
		}
		if !f.invalid {
			out.WriteString("\uFFFD")
		}
		f.invalid = true
		return 1
	}
	f.invalid = false
	switch {
	case r == 0x9b: // CSI in 8 bits
		f.state = csi
	case r == 0x9d || r == 0x90 || r == 0x98 || r == 0x9e || r == 0x9f: // OSC, DCS, SOS, PM, APC
		f.state, f.n = str, 0
	case unicode.IsControl(r), bidi(r):
	default:
		out.WriteRune(r)
	}
	return size
}

// ownEnd is the length of chant's own sequences at the start of p: escape
// sequences and carriage returns, nothing else.
func ownEnd(p []byte) int {
	i := 0
	for i < len(p) {
		switch {
		case p[i] == '\r':
			i++
		case p[i] == 0x1b && i+1 < len(p) && p[i+1] == '[':
			j := i + 2
			for j < len(p) && !(p[j] >= 0x40 && p[j] <= 0x7e) {
				j++
			}
			if j == len(p) {
				return i
			}
			i = j + 1
		default:
			return i
		}
	}
	return i
}

// flush ends the stream: an incomplete UTF-8 sequence is invalid.
func (f *filter) flush(out *bytes.Buffer) {
	if len(f.partial) > 0 {
		if !f.invalid {
			out.WriteString("\uFFFD")
		}
		f.partial = f.partial[:0]
	}
}

// bidi reports the bidirectional embeddings, overrides and isolates,
// which can make text display in another order than it is.
func bidi(r rune) bool {
	return r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x200e || r == 0x200f || r == 0x061c
}

// Line is Clean with newlines and tabs made spaces: for text shown in one
// line (a title, a reason).
func Line(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return ' '
		}
		return r
	}, Clean(s))
}

// ShellQuote makes s one word of a POSIX shell command line that chant
// shows for a person to copy (an agent's command, a hint naming a
// directory): as is when it holds only characters no shell treats
// specially, else in single quotes.
func ShellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r == '=' || r == ',' || r == ':' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// FileOf is the file a writer writes to, through a Writer if it is one:
// whether chant's output is a terminal.
func FileOf(w io.Writer) (*os.File, bool) {
	if t, ok := w.(*Writer); ok {
		w = t.Underlying()
	}
	f, ok := w.(*os.File)
	return f, ok
}
