package agent

import (
	"strings"
	"testing"
)

// An agent's last words are its output's last line even when the output
// outgrew what is kept of it.
func TestLastWordsPastTheCap(t *testing.T) {
	c := &capped{max: 16}
	c.Write([]byte(strings.Repeat("working...\n", 500)))
	c.Write([]byte("API Error: Unable to connect to API\n"))
	if !strings.HasSuffix(c.String(), "more bytes in the log]") {
		t.Fatalf("the output was not capped: %q", c.String())
	}
	if got := lastWords(lastLine(string(c.tail))); got != ": API Error: Unable to connect to API" {
		t.Errorf("last words %q", got)
	}
	if got := lastWords(""); got != "" {
		t.Errorf("last words of nothing: %q", got)
	}
}

// A log shows the agent's stream as steps, and nothing else decoded: a
// prompt that holds an event (a spec quoting one) is shown as it is.
func TestLogRenderer(t *testing.T) {
	event := `{"type":"item.completed","item":{"id":"m","type":"agent_message","text":"hi"}}`
	log := "=== 2026-01-01T00:00:00Z s: S\n" + logPrompt + " (default)\n" + event + "\n" + logAgent + "codex exec --json -\n" +
		event + "\n" + logAgentEnd + " (exit status 0)\ncheck: true (expect pass)\n" + event + "\n"
	var b strings.Builder
	r := LogRenderer(&b)
	r.Write([]byte(log))
	r.Flush()
	want := "=== 2026-01-01T00:00:00Z s: S\n" + logPrompt + " (default)\n" + event + "\n" + logAgent + "codex exec --json -\n" +
		"said    hi\n" + logAgentEnd + " (exit status 0)\ncheck: true (expect pass)\n" + event + "\n"
	if b.String() != want {
		t.Errorf("shown:\n%s\nwant:\n%s", b.String(), want)
	}
}
