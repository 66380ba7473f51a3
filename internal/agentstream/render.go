package agentstream

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// Session is what a stream came to, step by step.
type Session struct {
	// Events counts the lines that were events: 0 for a CLI that printed
	// plain text. Stream: some were a CLI's (not only chant-usage lines):
	// its final message and errors are the session's words.
	Events int
	Stream bool
	Usage  Usage
	// Err is the last error the CLI reported, on one line.
	Err string

	message   strings.Builder // the last message, its pieces joined
	inDelta   bool
	result    string // the text of the session's result (Claude Code)
	lastPlain string // the last line that was no event
}

// Add takes a step into account.
func (s *Session) Add(st Step) {
	if st.Kind != Message {
		s.inDelta = false
	}
	switch st.Kind {
	case Text:
		if t := strings.TrimSpace(st.Text); t != "" {
			s.lastPlain = t
		}
	case Message:
		if !s.inDelta {
			s.message.Reset()
		}
		s.message.WriteString(st.Text)
		s.inDelta = st.Delta
	case Error:
		s.Err = strings.Join(strings.Fields(st.Text), " ")
	case Done:
		s.Usage = s.Usage.add(st.Usage)
		if st.Text != "" {
			s.result = st.Text
		}
	}
}

// Final is the agent's final message: the session's result where the CLI
// gives one, else its last message.
func (s *Session) Final() string {
	return strings.TrimSpace(firstOf(s.result, s.message.String()))
}

// LastWords is what best says why a session failed: the last error the
// CLI reported, else the last line it printed that was no event.
func (s *Session) LastWords() string { return firstOf(s.Err, s.lastPlain) }

// Renderer is a Writer that decodes a stream line by line and writes its
// steps for a person to read, to Out; Session keeps what they came to.
// Flush at the end of the stream.
type Renderer struct {
	Out     io.Writer
	Session Session
	// Plain, when set, says which lines are not the agent's stream (a log's
	// own lines): written as they are, never decoded, each ending the
	// session shown before it.
	Plain func(line []byte) bool

	dec     Decoder
	buf     []byte
	dropped int  // bytes of an overlong line not kept
	pending Step // a message being pieced together
	// usageShown: the session's usage was shown, and nothing came since.
	usageShown bool
}

// outputLines is how many lines of a command's output are shown.
const outputLines = 5

// indent lines up what follows a step's tag.
const indent = "        "

func (r *Renderer) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			r.keep(p)
			break
		}
		r.keep(p[:i])
		r.line()
		p = p[i+1:]
	}
	return n, nil
}

// keep adds to the line being read, up to maxEvent bytes.
func (r *Renderer) keep(p []byte) {
	room := maxEvent + 1 - len(r.buf)
	if room >= len(p) {
		r.buf = append(r.buf, p...)
		return
	}
	r.buf = append(r.buf, p[:max(room, 0)]...)
	r.dropped += len(p) - max(room, 0)
}

func (r *Renderer) line() {
	if r.dropped == 0 && r.Plain != nil && r.Plain(r.buf) {
		r.endSession()
		fmt.Fprintf(r.Out, "%s\n", r.buf)
		r.buf = r.buf[:0]
		return
	}
	if r.dropped > 0 || len(r.buf) > maxEvent {
		r.step(Step{Kind: Text, Text: fmt.Sprintf("(a line of %d bytes, not shown here)", len(r.buf)+r.dropped)})
	} else {
		steps, event := r.dec.Decode(r.buf)
		if event {
			r.Session.Events++
			r.Session.Stream = r.Session.Stream || len(steps) == 0 || steps[0].Name != UsagePrefix
		}
		for _, st := range steps {
			r.step(st)
		}
	}
	r.buf, r.dropped = r.buf[:0], 0
}

// Flush ends the stream: a last line without a newline, a message still
// being pieced together, the session's usage.
func (r *Renderer) Flush() {
	if len(r.buf) > 0 || r.dropped > 0 {
		r.line()
	}
	r.endSession()
}

// endSession shows what is left of the session shown so far: a message
// still being pieced together, its usage (once).
func (r *Renderer) endSession() {
	r.endMessage()
	if u := r.Session.Usage.String(); u != "" && !r.usageShown {
		r.tagged("usage", u)
		r.usageShown = true
	}
}

func (r *Renderer) step(st Step) {
	r.Session.Add(st)
	if st.Kind == Done {
		r.usageShown = false
	}
	if st.Kind == Message {
		if r.pending.Kind != Message {
			r.pending = Step{Kind: Message}
		}
		r.pending.Text += st.Text
		if !st.Delta {
			r.endMessage()
		}
		return
	}
	r.endMessage()
	switch st.Kind {
	case Text:
		fmt.Fprintln(r.Out, st.Text)
	case Command:
		r.tagged("run", st.Text)
	case Output:
		r.output(st)
	case Edit:
		r.tagged(st.Name, st.Text)
	case Tool:
		r.tagged("tool", strings.TrimSpace(st.Name+" "+st.Text))
	case Error:
		r.tagged("error", st.Text)
	case Notice:
		r.tagged("note", st.Text)
	}
}

func (r *Renderer) endMessage() {
	if r.pending.Kind == Message {
		if t := strings.TrimSpace(r.pending.Text); t != "" {
			r.tagged("said", t)
		}
	}
	r.pending = Step{}
}

// tagged writes text after a tag, its further lines lined up under it.
func (r *Renderer) tagged(tag, text string) {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	fmt.Fprintf(r.Out, "%-7s %s\n", tag, lines[0])
	for _, l := range lines[1:] {
		fmt.Fprintf(r.Out, "%s%s\n", indent, l)
	}
}

// output writes the first lines of what a command printed, and its exit
// status when it failed.
func (r *Renderer) output(st Step) {
	text := strings.TrimRight(st.Text, "\n")
	if text != "" {
		lines := strings.Split(text, "\n")
		for _, l := range lines[:min(len(lines), outputLines)] {
			fmt.Fprintf(r.Out, "%s%s\n", indent, l)
		}
		if more := len(lines) - outputLines; more > 0 {
			fmt.Fprintf(r.Out, "%s… %d more lines\n", indent, more)
		}
	}
	if st.Exit != nil && *st.Exit != 0 {
		fmt.Fprintf(r.Out, "%sexit status %d\n", indent, *st.Exit)
	}
}
