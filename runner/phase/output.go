package phase

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chant-run/chant/internal/sandbox"
	"github.com/chant-run/chant/internal/textsafe"
	"github.com/chant-run/chant/spec"
)

// MaxAgentOutput is how much of the agent's text goes into a spec, in
// characters, as in Chant.
const MaxAgentOutput = 5000

// agentOutput renders the "## Agent Output" block appended to a spec.
func agentOutput(at time.Time, text string) string {
	// What the agent said, file names it made: no control sequence is
	// committed.
	return spec.AgentOutputBlock(at, truncate(strings.TrimSpace(textsafe.Clean(text)), MaxAgentOutput))
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

// sandboxLine says how a phase's processes ran, for its record and log.
func sandboxLine(policy *sandbox.Policy) string {
	if policy == nil {
		return "Sandbox: off (sandbox: off in the config): the agent, setup and checks ran with your permissions."
	}
	return "Sandbox: " + policy.Describe() + "."
}

// recordSandbox adds to a phase's record that it ran without a sandbox.
func recordSandbox(policy *sandbox.Policy, text string) string {
	if policy != nil {
		return text
	}
	return text + "\n\n" + sandboxLine(nil)
}
