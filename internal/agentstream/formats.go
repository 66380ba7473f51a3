package agentstream

import (
	"encoding/json"
	"fmt"
	"strings"
)

// block is a content block of a Claude Code message: text, a tool call or
// a tool's result.
type block struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
	IsError   bool            `json:"is_error"`
}

// claude decodes Claude Code's stream-json: system (init, api_retry),
// assistant and user messages of content blocks, and the result.
func (d *Decoder) claude(ev *event) ([]Step, bool) {
	switch ev.Type {
	case "system":
		if ev.Subtype == "api_retry" {
			// The model API failed; the CLI says so here, long before it
			// gives up.
			why := errorMessage(ev.Error)
			if why == "unknown" || why == "" {
				why = "no answer"
			}
			if ev.ErrorStatus != nil {
				why = fmt.Sprintf("%d %s", *ev.ErrorStatus, why)
			}
			return []Step{{Kind: Notice, Text: fmt.Sprintf("the model API failed (%s): retry %d of %d in %.1f s",
				why, ev.Attempt, ev.MaxRetries, ev.RetryDelayMS/1000)}}, true
		}
		return []Step{}, true
	case "stream_event":
		return []Step{}, true // partial messages: the whole ones follow
	case "result":
		return d.claudeResult(ev)
	}
	var msg struct {
		Model   string  `json:"model"`
		Content []block `json:"content"`
	}
	if err := json.Unmarshal(ev.Message, &msg); err != nil || msg.Model == "<synthetic>" {
		// A user message's content may be a string: the prompt. A
		// synthetic message is the CLI's error, which its result repeats.
		return []Step{}, len(ev.Message) > 0
	}
	var steps []Step
	for _, b := range msg.Content {
		switch b.Type {
		case "text":
			if ev.Type == "assistant" && strings.TrimSpace(b.Text) != "" {
				steps = append(steps, Step{Kind: Message, Text: b.Text})
			}
		case "tool_use":
			steps = append(steps, d.toolCall(b.ID, b.Name, b.Input))
		case "tool_result":
			steps = append(steps, d.toolResult(b.ToolUseID, contentText(b.Content), b.IsError, nil)...)
		}
	}
	return steps, true
}

func (d *Decoder) claudeResult(ev *event) ([]Step, bool) {
	done := Step{Kind: Done, Usage: Usage{Turns: ev.NumTurns}}
	var u struct {
		Input       int64 `json:"input_tokens"`
		CacheCreate int64 `json:"cache_creation_input_tokens"`
		CacheRead   int64 `json:"cache_read_input_tokens"`
		Output      int64 `json:"output_tokens"`
	}
	if json.Unmarshal(ev.Usage, &u) == nil {
		done.Usage.InputTokens, done.Usage.OutputTokens = u.Input+u.CacheCreate+u.CacheRead, u.Output
	}
	if ev.TotalCostUSD != nil {
		done.Usage.CostUSD, done.Usage.Priced = *ev.TotalCostUSD, true
	}
	text := str(ev.Result)
	if ev.IsError || strings.HasPrefix(ev.Subtype, "error") {
		if text == "" {
			text = strings.ReplaceAll(ev.Subtype, "_", " ")
		}
		return []Step{{Kind: Error, Text: text}, done}, true
	}
	// The result's text repeats the last message: Final takes it from
	// there, for a CLI that printed none before.
	done.Text = text
	return []Step{done}, true
}

// contentText is a tool result's content: a string, or text blocks.
func contentText(raw json.RawMessage) string {
	if s := str(raw); s != "" {
		return s
	}
	var blocks []block
	json.Unmarshal(raw, &blocks)
	var parts []string
	for _, b := range blocks {
		if b.Type == "text" {
			parts = append(parts, b.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// toolCall is the step of a tool call, by the tool's name in any of the
// CLIs (Claude Code's Bash and Edit, Gemini CLI's run_shell_command and
// replace, opencode's bash and edit) and its input's usual fields.
func (d *Decoder) toolCall(id, name string, input json.RawMessage) Step {
	var in struct {
		Command      string `json:"command"`
		FilePath     string `json:"file_path"`
		FilePathOC   string `json:"filePath"`
		NotebookPath string `json:"notebook_path"`
		Path         string `json:"path"`
		Pattern      string `json:"pattern"`
		Query        string `json:"query"`
		URL          string `json:"url"`
		Description  string `json:"description"`
	}
	json.Unmarshal(input, &in)
	file := firstOf(in.FilePath, in.FilePathOC, in.NotebookPath)
	switch strings.ToLower(name) {
	case "bash", "run_shell_command", "shell", "local_shell":
		if in.Command != "" {
			d.commands[id] = true
			return Step{Kind: Command, Text: in.Command}
		}
	case "edit", "multiedit", "replace", "notebookedit", "patch":
		if file != "" {
			return Step{Kind: Edit, Name: "edit", Text: file}
		}
	case "write", "write_file":
		if file != "" {
			return Step{Kind: Edit, Name: "write", Text: file}
		}
	}
	return Step{Kind: Tool, Name: name, Text: firstOf(file, in.Path, in.Pattern, in.Query, in.URL, in.Description)}
}

func firstOf(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// codexItem is an item of Codex's exec --json events.
type codexItem struct {
	ID               string `json:"id"`
	Type             string `json:"type"`
	Text             string `json:"text"`
	Message          string `json:"message"`
	Command          string `json:"command"`
	AggregatedOutput string `json:"aggregated_output"`
	ExitCode         *int   `json:"exit_code"`
	Status           string `json:"status"`
	Changes          []struct {
		Path string `json:"path"`
		Kind string `json:"kind"`
	} `json:"changes"`
	Server string `json:"server"`
	Tool   string `json:"tool"`
	Query  string `json:"query"`
}

// codex decodes Codex's exec --json: a thread of turns whose items are
// the agent's messages, commands, file changes and tool calls.
func (d *Decoder) codex(ev *event) ([]Step, bool) {
	switch ev.Type {
	case "thread.started", "turn.started":
		return []Step{}, true
	case "turn.completed":
		var u struct {
			Input  int64 `json:"input_tokens"`
			Output int64 `json:"output_tokens"`
		}
		json.Unmarshal(ev.Usage, &u)
		return []Step{{Kind: Done, Usage: Usage{InputTokens: u.Input, OutputTokens: u.Output}}}, true
	case "turn.failed":
		return []Step{{Kind: Error, Text: firstOf(errorMessage(ev.Error), "the turn failed")}}, true
	}
	var it codexItem
	if err := json.Unmarshal(ev.Item, &it); err != nil || it.Type == "" {
		return nil, false
	}
	return d.codexItem(ev.Type, &it), true
}

func (d *Decoder) codexItem(phase string, it *codexItem) []Step {
	switch it.Type {
	case "command_execution":
		var steps []Step
		if phase == "item.started" || !d.started[it.ID] {
			steps = append(steps, Step{Kind: Command, Text: unwrapShell(it.Command)})
			d.started[it.ID] = true
		}
		if phase == "item.completed" {
			delete(d.started, it.ID)
			steps = append(steps, Step{Kind: Output, Text: it.AggregatedOutput, Exit: it.ExitCode})
		}
		return steps
	case "agent_message":
		if phase == "item.completed" && strings.TrimSpace(it.Text) != "" {
			return []Step{{Kind: Message, Text: it.Text}}
		}
	case "file_change":
		if phase != "item.completed" {
			return []Step{}
		}
		var steps []Step
		for _, c := range it.Changes {
			kind := map[string]string{"add": "write", "delete": "delete"}[c.Kind]
			steps = append(steps, Step{Kind: Edit, Name: firstOf(kind, "edit"), Text: c.Path})
		}
		return steps
	case "mcp_tool_call":
		if phase == "item.started" {
			return []Step{{Kind: Tool, Name: it.Server + "." + it.Tool}}
		}
	case "web_search":
		if phase == "item.started" {
			return []Step{{Kind: Tool, Name: "web_search", Text: it.Query}}
		}
	case "error":
		return []Step{{Kind: Error, Text: firstOf(it.Message, it.Text)}}
	}
	return []Step{}
}

// unwrapShell shows the command Codex ran through bash -c (or -lc) as the
// agent wrote it: Codex shows it as one word quoted for a POSIX shell.
func unwrapShell(cmd string) string {
	for _, prefix := range []string{"/bin/bash -lc ", "/bin/bash -c ", "bash -lc ", "bash -c ", "/bin/sh -c ", "sh -c "} {
		if rest, ok := strings.CutPrefix(cmd, prefix); ok {
			if word, ok := shellWord(rest); ok {
				return word
			}
		}
	}
	return cmd
}

// shellWord reads s as one word of a POSIX shell, quotes and escapes
// removed: ok is false when s is more than one word, or not a whole one.
func shellWord(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return "", false
			}
			b.WriteString(s[i+1 : i+1+end])
			i += end + 1
		case '"':
			n, ok := doubleQuoted(&b, s[i+1:])
			if !ok {
				return "", false
			}
			i += n + 1
		case '\\':
			if i+1 == len(s) {
				return "", false
			}
			b.WriteByte(s[i+1])
			i++
		case ' ', '\t', '\n':
			return "", false
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), s != ""
}

// doubleQuoted reads what follows a shell's opening double quote into b:
// a backslash escapes \, ", $ and `, any other character is as is. It
// returns the length read up to the closing quote.
func doubleQuoted(b *strings.Builder, s string) (int, bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return i, true
		case c == '\\' && i+1 < len(s) && strings.IndexByte("\\\"$`", s[i+1]) >= 0:
			b.WriteByte(s[i+1])
			i++
		default:
			b.WriteByte(c)
		}
	}
	return 0, false
}

// geminiOrOpencode decodes the types both Gemini CLI's stream-json and
// opencode's json use: opencode's events carry a part.
func (d *Decoder) geminiOrOpencode(ev *event) ([]Step, bool) {
	if len(ev.Part) > 0 {
		return d.opencode(ev)
	}
	switch ev.Type {
	case "init":
		return []Step{}, true
	case "message":
		if ev.Role != "assistant" {
			return []Step{}, true
		}
		return []Step{{Kind: Message, Text: str(ev.Content), Delta: ev.Delta}}, true
	case "tool_use":
		if ev.ToolName == "" {
			return nil, false
		}
		return []Step{d.toolCall(ev.ToolID, ev.ToolName, ev.Parameters)}, true
	case "tool_result":
		failed := ev.Status == "error"
		out := str(ev.Output)
		if failed && out == "" {
			out = errorMessage(ev.Error)
		}
		return d.toolResult(ev.ToolID, out, failed, nil), true
	}
	// result
	var st struct {
		Input  int64 `json:"input_tokens"`
		Output int64 `json:"output_tokens"`
	}
	json.Unmarshal(ev.Stats, &st)
	done := Step{Kind: Done, Usage: Usage{InputTokens: st.Input, OutputTokens: st.Output}}
	if ev.Status == "error" {
		return []Step{{Kind: Error, Text: firstOf(errorMessage(ev.Error), "the session failed")}, done}, true
	}
	return []Step{done}, true
}

// ocPart is the part an opencode event carries.
type ocPart struct {
	Type   string `json:"type"`
	Text   string `json:"text"`
	Tool   string `json:"tool"`
	CallID string `json:"callID"`
	State  struct {
		Status   string          `json:"status"`
		Input    json.RawMessage `json:"input"`
		Output   string          `json:"output"`
		Error    string          `json:"error"`
		Metadata struct {
			Exit *int `json:"exit"`
		} `json:"metadata"`
	} `json:"state"`
	Tokens struct {
		Input  int64 `json:"input"`
		Output int64 `json:"output"`
		Cache  struct {
			Read  int64 `json:"read"`
			Write int64 `json:"write"`
		} `json:"cache"`
	} `json:"tokens"`
	Cost *float64 `json:"cost"`
}

// opencode decodes opencode's run --format json: steps of parts (text,
// tool calls with their state), each step's tokens and cost at its end.
func (d *Decoder) opencode(ev *event) ([]Step, bool) {
	var p ocPart
	if err := json.Unmarshal(ev.Part, &p); err != nil {
		return nil, false
	}
	switch ev.Type {
	case "text":
		if strings.TrimSpace(p.Text) == "" {
			return []Step{}, true
		}
		return []Step{{Kind: Message, Text: p.Text}}, true
	case "tool_use":
		call := d.toolCall(p.CallID, p.Tool, p.State.Input)
		switch p.State.Status {
		case "completed":
			return append([]Step{call}, d.toolResult(p.CallID, p.State.Output, false, p.State.Metadata.Exit)...), true
		case "error":
			return append([]Step{call}, d.toolResult(p.CallID, p.State.Error, true, p.State.Metadata.Exit)...), true
		}
		return []Step{call}, true
	case "step_finish":
		u := Usage{InputTokens: p.Tokens.Input + p.Tokens.Cache.Read + p.Tokens.Cache.Write, OutputTokens: p.Tokens.Output, Turns: 1}
		if p.Cost != nil && *p.Cost > 0 { // 0: a model opencode has no price for
			u.CostUSD, u.Priced = *p.Cost, true
		}
		return []Step{{Kind: Done, Usage: u}}, true
	}
	return []Step{}, true // step_start, reasoning
}
