package phase

import (
	"fmt"
	"github.com/chant-run/chant/spec/cost"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chant-run/chant/internal/agentstream"
	"github.com/chant-run/chant/internal/sandbox"
	"github.com/chant-run/chant/internal/textsafe"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/doc"
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

// usageLine says in the record what the agent's CLI reported it used;
// "" if it reported nothing.
func usageLine(u agentstream.Usage) string {
	if s := u.String(); s != "" {
		return "\n\nUsage, as the agent's CLI reported it: " + s + "."
	}
	return ""
}

// setCost adds what the phase's agent reported it used to the spec's
// cost; nothing if it reported nothing.
func (p *phase) setCost(e *doc.Editor) {
	u := p.prog.Usage
	used := cost.Cost{USD: u.CostUSD, Priced: u.Priced, InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, Model: p.prog.Model}
	if !used.Reported() {
		return
	}
	var c cost.Cost
	if p.spec.Cost != nil {
		c = *p.spec.Cost
	}
	c = c.Plus(used)
	var kv []doc.KV
	if c.Priced {
		kv = append(kv, doc.KV{Key: "usd", Value: math.Round(c.USD*1e6) / 1e6})
	}
	kv = append(kv, doc.KV{Key: "input_tokens", Value: c.InputTokens}, doc.KV{Key: "output_tokens", Value: c.OutputTokens})
	if c.Model != "" {
		kv = append(kv, doc.KV{Key: "model", Value: c.Model})
	}
	e.Set("cost", kv)
}
