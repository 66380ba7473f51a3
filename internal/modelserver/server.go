// Package modelserver is a scripted language-model server for tests: on
// 127.0.0.1 it speaks enough of the Anthropic Messages API (Claude Code),
// the OpenAI Responses and Chat Completions APIs (Codex, opencode) and the
// Gemini API (Gemini CLI), streaming, for a real agent CLI to run a whole
// session against it offline. It does not generate anything: a script
// says which shell commands the "model" runs, as tool calls, and what it
// says at the end.
//
// A script is text, one directive a line:
//
//	when: <text>      the section applies to a conversation whose first
//	                  user message contains text (a section without when:
//	                  applies to any)
//	run: <command>    a shell command, run through the agent's shell tool
//	call: <tool> <json>  a call of an MCP tool, by its name as the server
//	                  gives it (Claude Code's mcp__<server>__<tool> matches
//	                  <tool>), with its arguments; a turn as run: is
//	say: <text>       the final answer (may repeat, one line each)
//	refuse: <text>    every request is refused as with a key not valid
//	                  (HTTP 401), text the error's message
//
// Each run: is one turn: the server answers the conversation's n-th turn
// with the n-th command, and once they are all done, with the say: text.
package modelserver

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
)

// Server is a running scripted model server.
type Server struct {
	URL    string // http://127.0.0.1:<port>
	script func() (string, error)
	srv    *http.Server
	ln     net.Listener

	mu       sync.Mutex
	requests []Request
	trace    io.WriteCloser
}

// TraceEnv names a file to which every request is appended, to see what a
// client asked when a session goes wrong.
const TraceEnv = "CHANT_MODELSERVER_TRACE"

// Request is what a client asked, for tests to look at.
type Request struct {
	API    string // anthropic, responses, chat, gemini
	Path   string
	Prompt string // the conversation's first user message
	Turn   int    // tool results so far
}

// Start serves the script read, at each request, from path (so that a test
// may write it after the server starts).
func Start(path string) (*Server, error) {
	return start(func() (string, error) {
		data, err := os.ReadFile(path)
		return string(data), err
	})
}

// StartScript serves a fixed script.
func StartScript(script string) (*Server, error) {
	return start(func() (string, error) { return script, nil })
}

func start(script func() (string, error)) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + ln.Addr().String(), script: script, ln: ln}
	if path := os.Getenv(TraceEnv); path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			ln.Close()
			return nil, err
		}
		s.trace = f
	}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve)}
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error {
	err := s.srv.Close()
	if s.trace != nil {
		s.trace.Close()
	}
	return err
}

// Requests returns what was asked so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// step is what the model does at one turn: a command to run, a tool to
// call, or the end.
type step struct {
	run   string
	call  string          // a tool's name
	input json.RawMessage // its arguments
	say   string
	done  bool
}

// planShell is plan for an API whose clients are served only commands
// (run:), not calls of named tools (call:, served on Anthropic's API).
func (s *Server) planShell(prompt string, turn int) (step, error) {
	st, err := s.plan(prompt, turn)
	if err == nil && st.call != "" {
		err = fmt.Errorf("call: %s: calls of named tools are served on the Anthropic API only", st.call)
	}
	return st, err
}

// plan returns the step for a conversation that began with prompt and has
// had turn tool results.
func (s *Server) plan(prompt string, turn int) (step, error) {
	text, err := s.script()
	if err != nil {
		return step{}, fmt.Errorf("read the script: %w", err)
	}
	type section struct {
		when   string
		runs   []step
		says   []string
		refuse string
	}
	var sections []*section
	cur := &section{}
	sections = append(sections, cur)
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		key, value, ok := strings.Cut(line, ":")
		value = strings.TrimSpace(value)
		switch {
		case !ok || strings.HasPrefix(strings.TrimSpace(line), "#"):
		case key == "when":
			cur = &section{when: value}
			sections = append(sections, cur)
		case key == "run":
			cur.runs = append(cur.runs, step{run: value})
		case key == "call":
			name, args, _ := strings.Cut(value, " ")
			if !json.Valid([]byte(args)) {
				return step{}, fmt.Errorf("call: %s: its arguments are not JSON: %s", name, args)
			}
			cur.runs = append(cur.runs, step{call: name, input: json.RawMessage(args)})
		case key == "say":
			cur.says = append(cur.says, value)
		case key == "refuse":
			cur.refuse = value
		}
	}
	var chosen *section
	for _, sec := range sections {
		if sec.when != "" && strings.Contains(prompt, sec.when) {
			chosen = sec
			break
		}
	}
	if chosen == nil {
		chosen = sections[0]
	}
	if chosen.refuse != "" {
		return step{}, refusal(chosen.refuse)
	}
	if turn < len(chosen.runs) {
		return chosen.runs[turn], nil
	}
	say := strings.Join(chosen.says, "\n")
	if say == "" {
		say = "Done."
	}
	return step{say: say, done: true}, nil
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	path := r.URL.Path
	if s.trace != nil {
		s.mu.Lock()
		fmt.Fprintf(s.trace, "%s %s\n%s\n\n", r.Method, r.URL, body)
		s.mu.Unlock()
	}
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(path, "/messages"):
		s.anthropic(w, body)
	case r.Method == http.MethodPost && strings.HasSuffix(path, "/responses"):
		s.responses(w, body)
	case r.Method == http.MethodPost && strings.HasSuffix(path, "/chat/completions"):
		s.chat(w, body)
	case r.Method == http.MethodPost && strings.Contains(path, ":streamGenerateContent"), r.Method == http.MethodPost && strings.Contains(path, ":generateContent"):
		s.gemini(w, r, body)
	case r.Method == http.MethodPost && strings.Contains(path, ":countTokens"):
		writeJSON(w, map[string]any{"totalTokens": 100})
	case strings.HasSuffix(path, "/models"):
		writeJSON(w, map[string]any{"object": "list", "data": []any{map[string]any{"id": "scripted", "object": "model"}}})
	default:
		// Anything else (telemetry, update checks, a WebSocket upgrade) is
		// not served: clients fall back or do without.
		http.NotFound(w, r)
	}
}

func (s *Server) record(req Request) {
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// sse writes server-sent events as they are produced.
type sse struct {
	w http.ResponseWriter
	f http.Flusher
}

func newSSE(w http.ResponseWriter) *sse {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	f, _ := w.(http.Flusher)
	return &sse{w: w, f: f}
}

// event writes one event; name may be "" (data only).
func (e *sse) event(name string, data any) {
	b, _ := json.Marshal(data)
	if name != "" {
		fmt.Fprintf(e.w, "event: %s\n", name)
	}
	fmt.Fprintf(e.w, "data: %s\n\n", b)
	if e.f != nil {
		e.f.Flush()
	}
}

func (e *sse) raw(line string) {
	fmt.Fprintf(e.w, "%s\n\n", line)
	if e.f != nil {
		e.f.Flush()
	}
}

// refusal is a script's refuse: the request is refused as with a key not
// valid.
type refusal string

func (r refusal) Error() string { return string(r) }

func fail(w http.ResponseWriter, err error) {
	var refused refusal
	if errors.As(err, &refused) {
		// One body that each API's clients read as theirs: Anthropic's
		// {type, error: {type, message}}, OpenAI's {error: {message,
		// type}}, Gemini's {error: {message, status}}.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]any{"type": "error", "error": map[string]any{
			"type": "authentication_error", "message": string(refused), "status": "UNAUTHENTICATED"}})
		return
	}
	http.Error(w, err.Error(), http.StatusInternalServerError)
}

// Env is the environment that points the agent CLIs at the server, with
// made-up keys: Claude Code (ANTHROPIC_*), Codex and opencode
// (OPENAI_*), Gemini CLI (GEMINI_API_KEY, GOOGLE_GEMINI_BASE_URL).
func (s *Server) Env() []string {
	return []string{
		"ANTHROPIC_BASE_URL=" + s.URL,
		"ANTHROPIC_API_KEY=scripted",
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
		"OPENAI_BASE_URL=" + s.URL + "/v1",
		"OPENAI_API_KEY=scripted",
		"GEMINI_API_KEY=scripted",
		"GOOGLE_GEMINI_BASE_URL=" + s.URL,
	}
}
