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
	if got := lastWords(string(c.tail)); got != ": API Error: Unable to connect to API" {
		t.Errorf("last words %q", got)
	}
	if got := lastWords(""); got != "" {
		t.Errorf("last words of nothing: %q", got)
	}
}
