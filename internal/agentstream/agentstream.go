// Package agentstream reads what the agent CLIs report of their work as
// they do it, one JSON event a line: Claude Code's --output-format
// stream-json, Codex's exec --json, Gemini CLI's --output-format
// stream-json and opencode's run --format json. Each event becomes steps a
// person can read (a command run and what it printed, a file edited, what
// the agent said, an error), and a Session keeps what the run came to: the
// agent's final message, its last error, the tokens and cost it reported.
//
// A line that is no event of these (a CLI's warning on standard error, a
// command agent's own text) is text, shown as it is.
package agentstream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/chant-run/chant/internal/words"
)

// Kind is what a step is.
type Kind int

const (
	// Text is a line that is no event: shown as it is.
	Text Kind = iota
	// Command is a shell command the agent ran.
	Command
	// Output is what a command printed, and its exit status in Exit.
	Output
	// Edit is a file the agent wrote, edited or deleted (Text: the path).
	Edit
	// Tool is another tool the agent used: Name, and Text what on.
	Tool
	// Message is what the agent said; Delta, a piece of a message that
	// goes on in the next step of the same kind.
	Message
	// Error is an error the CLI reported: a failed model call, a refused
	// key, a turn that failed.
	Error
	// Notice is something the CLI says of its own work: a retry, a
	// warning.
	Notice
	// Done is the end of a session or a turn, with its usage.
	Done
)

// Step is one thing the agent did or said.
type Step struct {
	Kind  Kind
	Name  string // the tool's name (Tool); "edit", "write" or "delete" (Edit)
	Text  string
	Exit  *int // a command's exit status (Output), when known
	Delta bool // Message: a piece, the rest follows
	Usage Usage
}

// Usage is what a session reported it cost: the sum of what a CLI reports
// per turn, or its total.
type Usage struct {
	InputTokens  int64
	OutputTokens int64
	CostUSD      float64
	Turns        int
	// Priced means the CLI reported a cost (not every CLI does).
	Priced bool
}

func (u Usage) add(v Usage) Usage {
	return Usage{InputTokens: u.InputTokens + v.InputTokens, OutputTokens: u.OutputTokens + v.OutputTokens,
		CostUSD: u.CostUSD + v.CostUSD, Turns: u.Turns + v.Turns, Priced: u.Priced || v.Priced}
}

// String says the usage in words, "" if there is nothing to say.
func (u Usage) String() string {
	var parts []string
	if u.Turns > 0 {
		parts = append(parts, words.Plural(u.Turns, "turn"))
	}
	if u.InputTokens > 0 || u.OutputTokens > 0 {
		parts = append(parts, fmt.Sprintf("%d tokens in, %d out", u.InputTokens, u.OutputTokens))
	}
	if u.Priced {
		parts = append(parts, fmt.Sprintf("$%.4f", u.CostUSD))
	}
	return strings.Join(parts, ", ")
}

// UsagePrefix starts the line with which an agent of chant's command
// provider reports what it used: chant-usage: {"usd": 0.01,
// "input_tokens": 1200, "output_tokens": 300} (each field may be left
// out; without usd, no price is reported).
const UsagePrefix = "chant-usage:"

// WithoutUsage is text without its chant-usage lines: an agent's words.
func WithoutUsage(text string) string {
	lines := strings.SplitAfter(text, "\n")
	out := lines[:0]
	for _, l := range lines {
		if !strings.HasPrefix(strings.TrimSpace(l), UsagePrefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

func usageLine(js []byte) (Usage, bool) {
	var r struct {
		USD          *float64 `json:"usd"`
		InputTokens  int64    `json:"input_tokens"`
		OutputTokens int64    `json:"output_tokens"`
	}
	if json.Unmarshal(bytes.TrimSpace(js), &r) != nil || r.InputTokens < 0 || r.OutputTokens < 0 || r.USD != nil && !(*r.USD >= 0) {
		return Usage{}, false
	}
	u := Usage{InputTokens: r.InputTokens, OutputTokens: r.OutputTokens}
	if r.USD != nil {
		u.CostUSD, u.Priced = *r.USD, true
	}
	return u, true
}

// Decoder turns a stream's lines into steps. It remembers which tool each
// call was, so that the result of a shell command is shown and the content
// of a file read is not.
type Decoder struct {
	commands map[string]bool // ids of tool calls that ran a command
	started  map[string]bool // ids of Codex items shown when they started
}

// maxEvent bounds the line decoded as an event: a longer one (a file read
// whole into a tool result) is not worth showing, and shows as text cut.
const maxEvent = 4 << 20

// Decode returns the steps of one line (without its newline), and whether
// it was an event. A line that is no event of a CLI chant knows is one
// Text step.
func (d *Decoder) Decode(line []byte) ([]Step, bool) {
	trimmed := bytes.TrimSpace(line)
	if rest, ok := bytes.CutPrefix(trimmed, []byte(UsagePrefix)); ok {
		if u, ok := usageLine(rest); ok {
			return []Step{{Kind: Done, Name: UsagePrefix, Usage: u}}, true
		}
	}
	if len(trimmed) > 1 && len(trimmed) <= maxEvent && trimmed[0] == '{' {
		var ev event
		if json.Unmarshal(trimmed, &ev) == nil {
			if d.commands == nil {
				d.commands, d.started = map[string]bool{}, map[string]bool{}
			}
			if steps, ok := d.event(&ev); ok {
				return steps, true
			}
		}
	}
	return []Step{{Kind: Text, Text: string(line)}}, false
}

// event decodes an event by its type; ok is false for a type no CLI
// known here sends, or one that lacks what its CLI always puts in it.
func (d *Decoder) event(ev *event) ([]Step, bool) {
	switch ev.Type {
	case "result":
		if len(ev.Stats) > 0 || ev.Status != "" {
			return d.geminiOrOpencode(ev)
		}
		return d.claude(ev)
	case "system", "assistant", "user", "stream_event":
		return d.claude(ev)
	case "thread.started", "turn.started", "turn.completed", "turn.failed",
		"item.started", "item.updated", "item.completed":
		return d.codex(ev)
	case "init", "message", "tool_use", "tool_result":
		return d.geminiOrOpencode(ev)
	case "step_start", "step_finish", "text", "reasoning":
		return d.opencode(ev)
	case "error":
		return d.errorEvent(ev)
	}
	return nil, false
}

// event is the union of the fields the four CLIs' events carry that
// chant reads; json.RawMessage where their shapes differ.
type event struct {
	Type    string          `json:"type"`
	Subtype string          `json:"subtype"`
	Message json.RawMessage `json:"message"`

	// Claude Code
	IsError      bool            `json:"is_error"`
	Result       json.RawMessage `json:"result"`
	NumTurns     int             `json:"num_turns"`
	TotalCostUSD *float64        `json:"total_cost_usd"`
	Usage        json.RawMessage `json:"usage"`
	Attempt      int             `json:"attempt"`
	MaxRetries   int             `json:"max_retries"`
	RetryDelayMS float64         `json:"retry_delay_ms"`
	ErrorStatus  *int            `json:"error_status"`

	// Codex
	Item  json.RawMessage `json:"item"`
	Error json.RawMessage `json:"error"`

	// Gemini CLI
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	Delta      bool            `json:"delta"`
	ToolName   string          `json:"tool_name"`
	ToolID     string          `json:"tool_id"`
	Parameters json.RawMessage `json:"parameters"`
	Status     string          `json:"status"`
	Output     json.RawMessage `json:"output"`
	Stats      json.RawMessage `json:"stats"`
	Severity   string          `json:"severity"`

	// opencode
	Part json.RawMessage `json:"part"`
}

// str is the string a raw JSON value holds, "" if it is none.
func str(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// errorEvent is an error event: Codex's {message}, Gemini CLI's
// {severity, message}, opencode's {error: {name, data: {message}}}.
func (d *Decoder) errorEvent(ev *event) ([]Step, bool) {
	if msg := str(ev.Message); msg != "" {
		if ev.Severity == "warning" || ev.Severity == "info" || strings.HasPrefix(msg, "Reconnecting...") {
			// Codex's retries are errors by their type.
			return []Step{{Kind: Notice, Text: msg}}, true
		}
		return []Step{{Kind: Error, Text: msg}}, true
	}
	if msg := errorMessage(ev.Error); msg != "" {
		return []Step{{Kind: Error, Text: msg}}, true
	}
	return nil, false
}

// errorMessage reads the error objects of the CLIs: {message},
// {type, message}, {name, data: {message}}, or a string.
func errorMessage(raw json.RawMessage) string {
	if s := str(raw); s != "" {
		return embedded(s)
	}
	var e struct {
		Message string `json:"message"`
		Name    string `json:"name"`
		Data    struct {
			Message string `json:"message"`
		} `json:"data"`
	}
	if json.Unmarshal(raw, &e) != nil {
		return ""
	}
	return embedded(firstOf(e.Message, e.Data.Message, e.Name))
}

// embedded is the message of an API's error body quoted in msg (Gemini
// CLI's "[API Error: {"error": {"message": ...}}]"), else msg.
func embedded(msg string) string {
	i, j := strings.IndexByte(msg, '{'), strings.LastIndexByte(msg, '}')
	if i < 0 || j < i {
		return msg
	}
	var body struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal([]byte(msg[i:j+1]), &body) == nil && body.Error.Message != "" {
		return body.Error.Message
	}
	return msg
}

// toolResult is a tool's output, shown when the call ran a command.
func (d *Decoder) toolResult(id, output string, failed bool, exit *int) []Step {
	if failed && exit == nil {
		one := 1
		exit = &one
	}
	if !d.commands[id] {
		if failed && output != "" {
			// A tool that failed (a file not found): the agent's business,
			// not the CLI's error.
			return []Step{{Kind: Output, Text: output, Exit: exit}}
		}
		return []Step{}
	}
	delete(d.commands, id)
	return []Step{{Kind: Output, Text: output, Exit: exit}}
}
