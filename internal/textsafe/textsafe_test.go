package textsafe

import (
	"bytes"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

var cases = map[string]string{
	"plain text\n\twith a tab":               "plain text\n\twith a tab",
	"OSC 52: \x1b]52;c;ZXZpbA==\x07done":     "OSC 52: done",
	"OSC ST: \x1b]0;title\x1b\\done":         "OSC ST: done",
	"hide: line one\x1b[1A\x1b[2Kline two":   "hide: line oneline two",
	"colour \x1b[31mred\x1b[0m":              "colour red",
	"cr: secret\rshown":                      "cr: secretshown",
	"bell\x07 backspace\x08 del\x7f nul\x00": "bell backspace del nul",
	"C1 CSI \u009b31mred":                    "C1 CSI red",
	"C1 OSC \u009d52;c;eA==\x07x":            "C1 OSC x",
	"DCS \x1bPq#0;2;0;0;0\x1b\\after":        "DCS after",
	"charset \x1b(Bafter \x1bcreset":         "charset after reset",
	"bidi \u202eevil\u202c \u2066x\u2069":    "bidi evil x",
	"invalid \xff\xfe utf8":                  "invalid \uFFFD utf8",
	"two runs \xff x \xfe\xfd":               "two runs \uFFFD x \uFFFD",
	"unicode stays: é ✓ ⋯ 日本":                "unicode stays: é ✓ ⋯ 日本",
}

func TestClean(t *testing.T) {
	for in, want := range cases {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%.80q)\n got %.80q\nwant %.80q", in, got, want)
		}
	}
}

// A string sequence never ended does not swallow the rest of the text.
func TestUnterminatedIsBounded(t *testing.T) {
	got := Clean("unterminated \x1b]52;c;" + strings.Repeat("A", 2*maxString))
	if n := strings.Count(got, "A"); n < maxString-10 || n > maxString+10 {
		t.Errorf("%d of %d bytes after an unterminated OSC kept", n, 2*maxString)
	}
}

// A Writer gives what Clean gives, however the text is cut into writes.
func TestWriterAcrossWrites(t *testing.T) {
	for in, want := range cases {
		for _, size := range []int{1, 2, 3, 7} {
			var b bytes.Buffer
			w := NewWriter(&b)
			for i := 0; i < len(in); i += size {
				w.Write([]byte(in[i:min(i+size, len(in))]))
			}
			got := b.String()
			if got != want {
				t.Errorf("writes of %d bytes of %.80q\n got %.80q\nwant %.80q", size, in, got, want)
			}
		}
	}
}

// chant's own sequences pass a Writer; the same sequences from elsewhere,
// or a marker that is not the process's, do not.
func TestOwnSequences(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	w.Write([]byte(Own("\x1b[1m") + "bold" + Own("\x1b[0m") + " " + Own("\r\x1b[K") + "progress"))
	if got, want := b.String(), "\x1b[1mbold\x1b[0m \r\x1b[Kprogress"; got != want {
		t.Errorf("own: got %q, want %q", got, want)
	}
	b.Reset()
	fake := "\x000000000000000000\x00"
	w.Write([]byte("a" + fake + "\x1b[2Jb\x00\x1b]52;c;eA==\x07c"))
	if got, want := b.String(), "a0000000000000000bc"; got != want {
		t.Errorf("forged: got %q, want %q", got, want)
	}
}

func FuzzClean(f *testing.F) {
	for in := range cases {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := Clean(in)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 out of %q: %q", in, out)
		}
		for _, r := range out {
			if r != '\n' && r != '\t' && (unicode.IsControl(r) || bidi(r)) {
				t.Fatalf("control %U left in %q (from %q)", r, out, in)
			}
		}
		if again := Clean(out); again != out {
			t.Fatalf("not idempotent: %q → %q → %q", in, out, again)
		}
		var b bytes.Buffer
		w := NewWriter(&b)
		for i := 0; i < len(in); i++ {
			w.Write([]byte{in[i]})
		}
		var tail bytes.Buffer
		w.f.flush(&tail)
		if got := b.String() + tail.String(); got != out {
			t.Fatalf("byte by byte %q, whole %q (from %q)", got, out, in)
		}
	})
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"claude":                   "claude",
		"--allowedTools=Bash,Edit": "--allowedTools=Bash,Edit",
		"/tmp/my dir":              "'/tmp/my dir'",
		"it's":                     `'it'\''s'`,
		"":                         "''",
		"$(rm -rf ~)":              "'$(rm -rf ~)'",
	} {
		if got := ShellQuote(in); got != want {
			t.Errorf("ShellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
