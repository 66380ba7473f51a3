package modelserver

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const script = `# two sections
when: Publish
run: cp a b
say: Published.
when: Greet
run: echo hello > a
run: sed -i s/x/y/ spec.md
say: Greeted,
say: and ticked.
`

func serve(t *testing.T, script string) *Server {
	t.Helper()
	s, err := StartScript(script)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// post sends a JSON body and returns the response: JSON decoded, or for
// server-sent events the data of each event.
func post(t *testing.T, url string, body any) (map[string]any, []map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s: %s: %s", url, resp.Status, msg)
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out, nil
	}
	var events []map[string]any
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var ev map[string]any
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatalf("event %q: %v", data, err)
		}
		events = append(events, ev)
	}
	return nil, events
}

// dig follows keys and indexes into decoded JSON.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func TestAnthropicMessages(t *testing.T) {
	s := serve(t, script)
	tools := []any{map[string]any{"name": "Bash"}, map[string]any{"name": "Edit"}}
	user := map[string]any{"role": "user", "content": []any{
		map[string]any{"type": "text", "text": "<system-reminder>context</system-reminder>"},
		map[string]any{"type": "text", "text": "Greet the reader"},
	}}
	// Turn 0, not streamed: the first command as a Bash tool call.
	out, _ := post(t, s.URL+"/v1/messages", map[string]any{"model": "m", "messages": []any{user}, "tools": tools})
	if dig(out, "stop_reason") != "tool_use" || dig(out, "content", 1, "name") != "Bash" || dig(out, "content", 1, "input", "command") != "echo hello > a" {
		t.Fatalf("turn 0: %v", out)
	}
	// Turn 1, streamed: the second command, its input as a JSON delta.
	result := map[string]any{"role": "user", "content": []any{map[string]any{"type": "tool_result", "tool_use_id": "x", "content": "ok"}}}
	_, events := post(t, s.URL+"/v1/messages", map[string]any{"model": "m", "stream": true, "tools": tools,
		"messages": []any{user, map[string]any{"role": "assistant", "content": "..."}, result}})
	var input string
	for _, ev := range events {
		if dig(ev, "delta", "type") == "input_json_delta" {
			input += dig(ev, "delta", "partial_json").(string)
		}
	}
	if !strings.Contains(input, `"command":"sed -i s/x/y/ spec.md"`) || dig(events[len(events)-1], "type") != "message_stop" {
		t.Fatalf("turn 1: %s %v", input, events)
	}
	// Turn 2: the answer.
	out, _ = post(t, s.URL+"/v1/messages", map[string]any{"model": "m", "tools": tools,
		"messages": []any{user, result, result}})
	if dig(out, "stop_reason") != "end_turn" || dig(out, "content", 0, "text") != "Greeted,\nand ticked." {
		t.Fatalf("turn 2: %v", out)
	}
	// A side request without tools (a title): just an answer.
	out, _ = post(t, s.URL+"/v1/messages", map[string]any{"model": "m", "messages": []any{user}})
	if dig(out, "content", 0, "text") != "Done." {
		t.Fatalf("side request: %v", out)
	}
	reqs := s.Requests()
	if len(reqs) != 4 || reqs[0].API != "anthropic" || reqs[1].Turn != 1 || !strings.Contains(reqs[0].Prompt, "Greet the reader") {
		t.Fatalf("requests: %+v", reqs)
	}
}

func TestOpenAIResponses(t *testing.T) {
	s := serve(t, script)
	input := []any{map[string]any{"type": "message", "role": "user", "content": []any{map[string]any{"type": "input_text", "text": "Publish it"}}}}
	for _, tc := range []struct {
		name  string
		tools []any
		check func(item any) bool
	}{
		{"code mode", []any{map[string]any{"type": "custom", "name": "exec"}}, func(item any) bool {
			return dig(item, "type") == "custom_tool_call" && strings.Contains(dig(item, "input").(string), `tools.exec_command({cmd: "cp a b"`)
		}},
		{"namespaced exec_command", []any{map[string]any{"type": "namespace", "name": "tools", "tools": []any{map[string]any{"type": "function", "name": "exec_command"}}}}, func(item any) bool {
			return dig(item, "name") == "exec_command" && strings.Contains(dig(item, "arguments").(string), `"cmd":"cp a b"`)
		}},
		{"shell", []any{map[string]any{"type": "function", "name": "shell"}}, func(item any) bool {
			return dig(item, "name") == "shell" && strings.Contains(dig(item, "arguments").(string), `"command":["bash","-lc","cp a b"]`)
		}},
	} {
		_, events := post(t, s.URL+"/v1/responses", map[string]any{"model": "m", "stream": true, "input": input, "tools": tc.tools})
		var done map[string]any
		for _, ev := range events {
			if ev["type"] == "response.completed" {
				done = ev
			}
		}
		if done == nil || !tc.check(dig(done, "response", "output", 0)) {
			t.Errorf("%s: %v", tc.name, events)
		}
	}
	// After the command's output: the answer.
	out, _ := post(t, s.URL+"/v1/responses", map[string]any{"model": "m", "tools": []any{map[string]any{"type": "function", "name": "shell"}},
		"input": append(input, map[string]any{"type": "function_call_output", "call_id": "c", "output": "ok"})})
	if dig(out, "output", 0, "content", 0, "text") != "Published." {
		t.Fatalf("answer: %v", out)
	}
}

func TestChatCompletions(t *testing.T) {
	s := serve(t, script)
	tools := []any{map[string]any{"type": "function", "function": map[string]any{"name": "bash"}}}
	user := map[string]any{"role": "user", "content": []any{map[string]any{"type": "text", "text": "Greet"}}}
	_, events := post(t, s.URL+"/v1/chat/completions", map[string]any{"model": "m", "stream": true, "messages": []any{user}, "tools": tools})
	call := dig(events[0], "choices", 0, "delta", "tool_calls", 0, "function")
	if dig(call, "name") != "bash" || !strings.Contains(dig(call, "arguments").(string), `"command":"echo hello \u003e a"`) || dig(events[1], "choices", 0, "finish_reason") != "tool_calls" {
		t.Fatalf("turn 0: %v", events)
	}
	tool := map[string]any{"role": "tool", "tool_call_id": "c", "content": "ok"}
	out, _ := post(t, s.URL+"/v1/chat/completions", map[string]any{"model": "m", "messages": []any{user, tool, tool}, "tools": tools})
	if dig(out, "choices", 0, "message", "content") != "Greeted,\nand ticked." {
		t.Fatalf("answer: %v", out)
	}
}

func TestGemini(t *testing.T) {
	s := serve(t, script)
	tools := []any{map[string]any{"functionDeclarations": []any{map[string]any{"name": "run_shell_command"}}}}
	user := map[string]any{"role": "user", "parts": []any{map[string]any{"text": "Publish"}}}
	_, events := post(t, s.URL+"/v1beta/models/m:streamGenerateContent?alt=sse", map[string]any{"contents": []any{user}, "tools": tools})
	if call := dig(events[0], "candidates", 0, "content", "parts", 0, "functionCall"); dig(call, "name") != "run_shell_command" || dig(call, "args", "command") != "cp a b" {
		t.Fatalf("turn 0: %v", events)
	}
	reply := map[string]any{"role": "user", "parts": []any{map[string]any{"functionResponse": map[string]any{"name": "run_shell_command"}}}}
	out, _ := post(t, s.URL+"/v1beta/models/m:generateContent", map[string]any{"contents": []any{user, reply}, "tools": tools})
	if dig(out, "candidates", 0, "content", "parts", 0, "text") != "Published." {
		t.Fatalf("answer: %v", out)
	}
	// A side request wanting JSON of a schema gets its smallest value.
	out, _ = post(t, s.URL+"/v1beta/models/m:generateContent", map[string]any{"contents": []any{user},
		"generationConfig": map[string]any{"responseMimeType": "application/json", "responseJsonSchema": map[string]any{
			"type": "object", "properties": map[string]any{
				"model_choice": map[string]any{"type": "string", "enum": []any{"flash", "pro"}},
				"reasoning":    map[string]any{"type": "string"},
				"score":        map[string]any{"type": "INTEGER", "minimum": 3},
			}}}})
	var routed map[string]any
	if err := json.Unmarshal([]byte(dig(out, "candidates", 0, "content", "parts", 0, "text").(string)), &routed); err != nil ||
		routed["model_choice"] != "flash" || routed["reasoning"] != "scripted" || routed["score"] != 3.0 {
		t.Fatalf("schema sample: %v %v", routed, err)
	}
}

func TestScriptSectionsAndErrors(t *testing.T) {
	// Without when:, one section for every prompt; with no say:, "Done.".
	s := serve(t, "run: true\n")
	if st, _ := s.plan("anything", 0); st.run != "true" {
		t.Errorf("turn 0: %+v", st)
	}
	if st, _ := s.plan("anything", 1); !st.done || st.say != "Done." {
		t.Errorf("turn 1: %+v", st)
	}
	// The first section whose text the prompt contains; else the leading one.
	s = serve(t, "say: default\nwhen: b\nsay: B\nwhen: a\nsay: A\n")
	for prompt, want := range map[string]string{"a and b": "B", "only a": "A", "neither": "default"} {
		if st, _ := s.plan(prompt, 0); st.say != want {
			t.Errorf("%q: %+v, want %s", prompt, st, want)
		}
	}
	// A script read from a file, at each request: missing is an error.
	path := filepath.Join(t.TempDir(), "script.txt")
	fs, err := Start(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	b, _ := json.Marshal(map[string]any{"messages": []any{map[string]any{"role": "user", "content": "hi"}}, "tools": []any{map[string]any{"name": "Bash"}}})
	resp, err := http.Post(fs.URL+"/v1/messages", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("missing script: %s", resp.Status)
	}
	os.WriteFile(path, []byte("say: written later\n"), 0o644)
	out, _ := post(t, fs.URL+"/v1/messages", map[string]any{"messages": []any{map[string]any{"role": "user", "content": "hi"}}, "tools": []any{map[string]any{"name": "Bash"}}})
	if dig(out, "content", 0, "text") != "written later" {
		t.Errorf("script written after start: %v", out)
	}
}

func TestTrace(t *testing.T) {
	trace := filepath.Join(t.TempDir(), "trace.txt")
	t.Setenv(TraceEnv, trace)
	s := serve(t, "say: hi\n")
	post(t, s.URL+"/v1/messages", map[string]any{"messages": []any{map[string]any{"role": "user", "content": "traced prompt"}}})
	s.Close()
	data, _ := os.ReadFile(trace)
	if !strings.Contains(string(data), "POST /v1/messages\n") || !strings.Contains(string(data), "traced prompt") {
		t.Errorf("trace: %s", data)
	}
}

// refuse: answers as an API does to a key not valid: 401, and a body each
// API's clients read the message of.
func TestRefuse(t *testing.T) {
	s := serve(t, "when: key\nrefuse: the key is not valid\nwhen: other\nsay: fine\n")
	b, _ := json.Marshal(map[string]any{"messages": []any{map[string]any{"role": "user", "content": "use the key"}}, "tools": []any{map[string]any{"name": "Bash"}}})
	resp, err := http.Post(s.URL+"/v1/messages", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Type  string
		Error struct{ Type, Message, Status string }
	}
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != http.StatusUnauthorized || body.Type != "error" || body.Error.Message != "the key is not valid" || body.Error.Status != "UNAUTHENTICATED" {
		t.Errorf("refused: %s %+v", resp.Status, body)
	}
	out, _ := post(t, s.URL+"/v1/messages", map[string]any{"messages": []any{map[string]any{"role": "user", "content": "other"}}, "tools": []any{map[string]any{"name": "Bash"}}})
	if dig(out, "content", 0, "text") != "fine" {
		t.Errorf("another section: %v", out)
	}
}

// call: is a call of a named tool, Claude Code's MCP tools matched by the
// end of their name; served on Anthropic's API only.
func TestCall(t *testing.T) {
	s := serve(t, "call: list_specs {\"ready\": true}\nsay: listed\n")
	out, _ := post(t, s.URL+"/v1/messages", map[string]any{"messages": []any{map[string]any{"role": "user", "content": "hi"}},
		"tools": []any{map[string]any{"name": "Bash"}, map[string]any{"name": "mcp__chant__list_specs"}}})
	if dig(out, "content", 1, "name") != "mcp__chant__list_specs" || dig(out, "content", 1, "input", "ready") != true {
		t.Errorf("call: %v", out)
	}
	if _, err := s.planShell("hi", 0); err == nil || !strings.Contains(err.Error(), "Anthropic API only") {
		t.Errorf("a call on another API: %v", err)
	}
	if _, err := serve(t, "call: x {not json\n").plan("hi", 0); err == nil {
		t.Error("a call whose arguments are not JSON was taken")
	}
}
