package runner

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxAgentOutput is how much of the agent's text goes into a spec, in
// characters, as in Chant.
const MaxAgentOutput = 5000

// agentOutput renders the "## Agent Output" block appended to a spec.
func agentOutput(at time.Time, text string) string {
	text = truncate(strings.TrimSpace(text), MaxAgentOutput)
	fence := "```"
	for strings.Contains(text, fence) {
		fence += "`"
	}
	return fmt.Sprintf("## Agent Output\n\n%s\n\n%s\n%s\n%s\n", at.UTC().Format(time.RFC3339), fence, text, fence)
}

// truncate cuts s to at most max characters, never inside a UTF-8
// sequence, and says how long it was.
func truncate(s string, max int) string {
	n := utf8.RuneCountInString(s)
	if n <= max {
		return s
	}
	cut, count := 0, 0
	for i := range s {
		if count == max {
			cut = i
			break
		}
		count++
	}
	return fmt.Sprintf("%s\n... (output truncated, %d chars total)", s[:cut], n)
}

var ansiEscape = regexp.MustCompile(`\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])`)

// cleanOutput makes an agent's output fit to be kept in a spec file:
// invalid UTF-8 replaced (U+FFFD), terminal escape sequences and control
// characters other than newline and tab removed.
func cleanOutput(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = ansiEscape.ReplaceAllString(s, "")
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || !unicode.IsControl(r) {
			return r
		}
		return -1
	}, s)
}
