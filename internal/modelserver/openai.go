package modelserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// The OpenAI Responses API, as Codex uses it (POST /v1/responses, streamed):
// Codex offers its shell either as a JavaScript "exec" custom tool whose
// nested tools.exec_command runs a command, or, in other versions, as an
// exec_command or shell function. And the Chat Completions API, as
// opencode and other OpenAI-compatible clients use it.

type responsesRequest struct {
	Model  string            `json:"model"`
	Stream bool              `json:"stream"`
	Input  []json.RawMessage `json:"input"`
	Tools  []json.RawMessage `json:"tools"`
}

type responsesItem struct {
	Type    string `json:"type"`
	Role    string `json:"role"`
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	Tools []json.RawMessage `json:"tools"` // an additional_tools item
}

type toolDecl struct {
	Type  string            `json:"type"`
	Name  string            `json:"name"`
	Tools []json.RawMessage `json:"tools"` // a namespace
}

// shellTool is how a client offers to run a command.
type shellTool int

const (
	noShell      shellTool = iota
	codeModeExec           // a custom "exec" tool running JavaScript
	execCommand            // a function exec_command {cmd}
	shellCommand           // a function shell {command: [argv]}
)

func findShell(decls []json.RawMessage) shellTool {
	best := noShell
	for _, raw := range decls {
		var d toolDecl
		if json.Unmarshal(raw, &d) != nil {
			continue
		}
		var t shellTool
		switch {
		case d.Type == "namespace":
			t = findShell(d.Tools)
		case d.Type == "custom" && d.Name == "exec":
			t = codeModeExec
		case d.Name == "exec_command":
			t = execCommand
		case d.Name == "shell":
			t = shellCommand
		}
		if t > best {
			best = t
		}
	}
	return best
}

func (s *Server) responses(w http.ResponseWriter, body []byte) {
	var req responsesRequest
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var prompt strings.Builder
	turn := 0
	tools := req.Tools
	for _, raw := range req.Input {
		var it responsesItem
		if json.Unmarshal(raw, &it) != nil {
			continue
		}
		switch it.Type {
		case "function_call_output", "custom_tool_call_output":
			turn++
		case "additional_tools":
			tools = append(tools, it.Tools...)
		case "message", "":
			if it.Role == "user" && turn == 0 {
				for _, c := range it.Content {
					prompt.WriteString(c.Text + "\n")
				}
			}
		}
	}
	shell := findShell(tools)
	st, err := s.planShell(prompt.String(), turn)
	if err != nil {
		fail(w, err)
		return
	}
	if shell == noShell {
		st = step{say: "Done.", done: true}
	}
	s.record(Request{API: "responses", Path: "/v1/responses", Prompt: prompt.String(), Turn: turn})
	n := len(s.Requests())
	id := fmt.Sprintf("resp_%d", n)
	callID := fmt.Sprintf("call_%d_%d", n, turn)
	var items []map[string]any
	if st.done {
		items = append(items, map[string]any{"type": "message", "id": fmt.Sprintf("msg_%d", n), "role": "assistant", "status": "completed",
			"content": []any{map[string]any{"type": "output_text", "text": st.say, "annotations": []any{}}}})
	} else {
		cmd, _ := json.Marshal(st.run)
		switch shell {
		case codeModeExec:
			items = append(items, map[string]any{"type": "custom_tool_call", "id": "ctc_" + callID, "status": "completed", "call_id": callID, "name": "exec",
				"input": fmt.Sprintf("const r = await tools.exec_command({cmd: %s, login: false, tty: false, yield_time_ms: 30000});\ntext(r.output);\n", cmd)})
		case execCommand:
			args, _ := json.Marshal(map[string]any{"cmd": st.run, "login": false})
			items = append(items, map[string]any{"type": "function_call", "id": "fc_" + callID, "status": "completed", "call_id": callID, "name": "exec_command", "arguments": string(args)})
		case shellCommand:
			args, _ := json.Marshal(map[string]any{"command": []string{"bash", "-lc", st.run}})
			items = append(items, map[string]any{"type": "function_call", "id": "fc_" + callID, "status": "completed", "call_id": callID, "name": "shell", "arguments": string(args)})
		}
	}
	usage := map[string]any{"input_tokens": 10, "input_tokens_details": map[string]any{"cached_tokens": 0},
		"output_tokens": 10, "output_tokens_details": map[string]any{"reasoning_tokens": 0}, "total_tokens": 20}
	response := map[string]any{"id": id, "object": "response", "status": "completed", "model": req.Model, "output": items, "usage": usage}
	if !req.Stream {
		writeJSON(w, response)
		return
	}
	e := newSSE(w)
	e.event("response.created", map[string]any{"type": "response.created",
		"response": map[string]any{"id": id, "object": "response", "status": "in_progress", "model": req.Model, "output": []any{}}})
	for i, item := range items {
		e.event("response.output_item.added", map[string]any{"type": "response.output_item.added", "output_index": i, "item": item})
		if item["type"] == "message" {
			e.event("response.output_text.delta", map[string]any{"type": "response.output_text.delta", "output_index": i, "content_index": 0, "delta": st.say})
		}
		e.event("response.output_item.done", map[string]any{"type": "response.output_item.done", "output_index": i, "item": item})
	}
	e.event("response.completed", map[string]any{"type": "response.completed", "response": response})
}

type chatRequest struct {
	Model    string `json:"model"`
	Stream   bool   `json:"stream"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Tools []struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	} `json:"tools"`
}

func (s *Server) chat(w http.ResponseWriter, body []byte) {
	var req chatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var prompt strings.Builder
	turn := 0
	for _, m := range req.Messages {
		switch m.Role {
		case "tool":
			turn++
		case "user":
			if turn == 0 {
				prompt.WriteString(contentText(m.Content) + "\n")
			}
		}
	}
	tool := ""
	for _, t := range req.Tools {
		switch n := t.Function.Name; {
		case n == "bash" || n == "Bash" || n == "shell" || n == "run_shell_command" || n == "execute_command":
			tool = n
		}
	}
	st, err := s.planShell(prompt.String(), turn)
	if err != nil {
		fail(w, err)
		return
	}
	if tool == "" {
		st = step{say: "Done.", done: true}
	}
	s.record(Request{API: "chat", Path: "/v1/chat/completions", Prompt: prompt.String(), Turn: turn})
	n := len(s.Requests())
	id := fmt.Sprintf("chatcmpl_%d", n)
	var args string
	if !st.done {
		a := map[string]any{"command": st.run, "description": "Run a step of the task"}
		if tool == "shell" {
			a = map[string]any{"command": []string{"bash", "-lc", st.run}}
		}
		b, _ := json.Marshal(a)
		args = string(b)
	}
	callID := fmt.Sprintf("call_%d_%d", n, turn)
	usage := map[string]any{"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}
	if !req.Stream {
		msg := map[string]any{"role": "assistant", "content": st.say}
		finish := "stop"
		if !st.done {
			msg = map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{"id": callID, "type": "function",
				"function": map[string]any{"name": tool, "arguments": args}}}}
			finish = "tool_calls"
		}
		writeJSON(w, map[string]any{"id": id, "object": "chat.completion", "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish}}, "usage": usage})
		return
	}
	e := newSSE(w)
	chunk := func(delta map[string]any, finish any) {
		c := map[string]any{"id": id, "object": "chat.completion.chunk", "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
		if finish != nil {
			c["usage"] = usage
		}
		e.event("", c)
	}
	if st.done {
		chunk(map[string]any{"role": "assistant", "content": st.say}, nil)
		chunk(map[string]any{}, "stop")
	} else {
		chunk(map[string]any{"role": "assistant", "tool_calls": []any{map[string]any{"index": 0, "id": callID, "type": "function",
			"function": map[string]any{"name": tool, "arguments": args}}}}, nil)
		chunk(map[string]any{}, "tool_calls")
	}
	e.raw("data: [DONE]")
}

// contentText is a chat message's text: a string, or parts with text.
func contentText(raw json.RawMessage) string {
	var text string
	if json.Unmarshal(raw, &text) == nil {
		return text
	}
	var parts []struct {
		Text string `json:"text"`
	}
	json.Unmarshal(raw, &parts)
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String()
}
