package modelserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// The Anthropic Messages API, as Claude Code uses it: POST /v1/messages,
// streamed as server-sent events; its shell tool is "Bash".

type anthropicRequest struct {
	Model    string `json:"model"`
	Stream   bool   `json:"stream"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Tools []struct {
		Name string `json:"name"`
	} `json:"tools"`
}

type anthropicBlock struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

func (s *Server) anthropic(w http.ResponseWriter, body []byte) {
	var req anthropicRequest
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	prompt, turn := "", 0
	for i, m := range req.Messages {
		var blocks []anthropicBlock
		if err := json.Unmarshal(m.Content, &blocks); err != nil {
			var text string
			json.Unmarshal(m.Content, &text)
			blocks = []anthropicBlock{{Type: "text", Text: text}}
		}
		for _, b := range blocks {
			switch {
			case b.Type == "tool_result":
				turn++
			case b.Type == "text" && i == firstUser(req):
				prompt += b.Text + "\n"
			}
		}
	}
	hasShell := false
	for _, t := range req.Tools {
		hasShell = hasShell || t.Name == "Bash"
	}
	st, err := s.plan(prompt, turn)
	if err != nil {
		fail(w, err)
		return
	}
	if !hasShell {
		st = step{say: "Done.", done: true} // a side request (a title, a summary): no tools
	}
	s.record(Request{API: "anthropic", Path: "/v1/messages", Prompt: prompt, Turn: turn})

	id := fmt.Sprintf("msg_%d", len(s.Requests()))
	content, stop := anthropicContent(st, req, fmt.Sprintf("toolu_%s_%d", id, turn))
	usage := map[string]any{"input_tokens": 10, "output_tokens": 10, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
	if !req.Stream {
		writeJSON(w, map[string]any{"id": id, "type": "message", "role": "assistant", "model": req.Model,
			"content": content, "stop_reason": stop, "stop_sequence": nil, "usage": usage})
		return
	}
	e := newSSE(w)
	e.event("message_start", map[string]any{"type": "message_start", "message": map[string]any{
		"id": id, "type": "message", "role": "assistant", "model": req.Model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil, "usage": usage}})
	for i, c := range content {
		switch c["type"] {
		case "text":
			e.event("content_block_start", map[string]any{"type": "content_block_start", "index": i,
				"content_block": map[string]any{"type": "text", "text": ""}})
			e.event("content_block_delta", map[string]any{"type": "content_block_delta", "index": i,
				"delta": map[string]any{"type": "text_delta", "text": c["text"]}})
		case "tool_use":
			e.event("content_block_start", map[string]any{"type": "content_block_start", "index": i,
				"content_block": map[string]any{"type": "tool_use", "id": c["id"], "name": c["name"], "input": map[string]any{}}})
			input, _ := json.Marshal(c["input"])
			e.event("content_block_delta", map[string]any{"type": "content_block_delta", "index": i,
				"delta": map[string]any{"type": "input_json_delta", "partial_json": string(input)}})
		}
		e.event("content_block_stop", map[string]any{"type": "content_block_stop", "index": i})
	}
	e.event("message_delta", map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": stop, "stop_sequence": nil}, "usage": map[string]any{"output_tokens": 10}})
	e.event("message_stop", map[string]any{"type": "message_stop"})
}

// anthropicContent is the message of a step, and why it stops: a text and
// a call of Bash (run:) or of the tool named (call:), else the answer.
func anthropicContent(st step, req anthropicRequest, callID string) ([]map[string]any, string) {
	switch {
	case st.done:
		return []map[string]any{{"type": "text", "text": st.say}}, "end_turn"
	case st.call != "":
		name := st.call
		for _, t := range req.Tools {
			if t.Name == st.call || strings.HasSuffix(t.Name, "__"+st.call) {
				name = t.Name
			}
		}
		var input any
		json.Unmarshal(st.input, &input)
		return []map[string]any{{"type": "text", "text": "I will call " + name},
			{"type": "tool_use", "id": callID, "name": name, "input": input}}, "tool_use"
	}
	return []map[string]any{{"type": "text", "text": "I will run: " + st.run},
		{"type": "tool_use", "id": callID, "name": "Bash", "input": map[string]any{"command": st.run, "description": "Run a step of the task"}}}, "tool_use"
}

func firstUser(req anthropicRequest) int {
	for i, m := range req.Messages {
		if m.Role == "user" {
			return i
		}
	}
	return -1
}
