package agentstream

import (
	"os"
	"strings"
	"testing"
)

func render(t *testing.T, data string) (string, *Session) {
	t.Helper()
	var b strings.Builder
	r := &Renderer{Out: &b}
	r.Write([]byte(data))
	r.Flush()
	return b.String(), &r.Session
}

// The streams in testdata are what each CLI printed, run by chant's
// presets' flags against internal/modelserver: a command, then an answer
// (claude-unreachable: Claude Code with its API out of reach).
func TestRealStreams(t *testing.T) {
	step := "run     printf 'hello\\n' > hello.txt && echo done\n        done\nsaid    I wrote hello.txt.\n"
	for _, tc := range []struct {
		file, want, final, err string
		events                 int
	}{
		{"claude", "said    I will run: printf 'hello\\n' > hello.txt && echo done\n" + step + "usage   2 turns, 20 tokens in, 20 out, $0.0006\n", "I wrote hello.txt.", "", 6},
		{"codex", step + "usage   20 tokens in, 20 out\n", "I wrote hello.txt.", "", 6},
		{"gemini", step + "usage   30 tokens in, 30 out\n", "I wrote hello.txt.", "", 6},
		{"opencode", step + "usage   2 turns, 20 tokens in, 20 out\n", "I wrote hello.txt.", "", 6},
		{"claude-unreachable", "note    the model API failed (no answer): retry 1 of 10 in 0.5 s\nnote    the model API failed (no answer): retry 2 of 10 in 1.2 s\n" +
			"error   API Error: Unable to connect to API (ConnectionRefused)\nusage   1 turn, $0.0000\n", "", "API Error: Unable to connect to API (ConnectionRefused)", 5},
		{"codex-refused", "", "", "unexpected status 401 Unauthorized: the key scripted is not valid, url: http://127.0.0.1:8080/v1/responses", 9},
		{"gemini-refused", "", "", "the key scripted is not valid", 3},
		{"opencode-refused", "error   the key scripted is not valid\n", "", "the key scripted is not valid", 1},
		{"opencode-error", "error   Unexpected server error. Check server logs for details.\n", "", "Unexpected server error. Check server logs for details.", 1},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile("testdata/" + tc.file + ".jsonl")
			if err != nil {
				t.Fatal(err)
			}
			got, s := render(t, string(data))
			if tc.want != "" && got != tc.want {
				t.Errorf("rendered:\n%s\nwant:\n%s", got, tc.want)
			}
			if s.Final() != tc.final || s.Err != tc.err || s.Events != tc.events {
				t.Errorf("final %q, error %q, %d events; want %q, %q, %d", s.Final(), s.Err, s.Events, tc.final, tc.err, tc.events)
			}
			if tc.err != "" && s.LastWords() != tc.err {
				t.Errorf("last words %q, want the error", s.LastWords())
			}
			// Written a byte at a time, the same.
			var b strings.Builder
			r := &Renderer{Out: &b}
			for i := range data {
				r.Write(data[i : i+1])
			}
			r.Flush()
			if b.String() != got {
				t.Errorf("a byte at a time:\n%s", b.String())
			}
		})
	}
}

// Edits, other tools, failed commands and errors, in each CLI's words
// (the shapes their sources give).
func TestSteps(t *testing.T) {
	for _, tc := range []struct{ name, stream, want string }{
		{"claude edits", `{"type":"assistant","message":{"content":[{"type":"tool_use","id":"a","name":"Edit","input":{"file_path":"/w/x.go","old_string":"a","new_string":"b"}},{"type":"tool_use","id":"b","name":"Write","input":{"file_path":"/w/y.go","content":"z"}},{"type":"tool_use","id":"c","name":"Read","input":{"file_path":"/w/z.go"}}]}}
{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"c","content":"the whole file"}]}}
{"type":"assistant","message":{"content":[{"type":"tool_use","id":"d","name":"Bash","input":{"command":"go test ./..."}}]}}
{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"d","content":[{"type":"text","text":"1\n2\n3\n4\n5\n6\n7"}],"is_error":true}]}}
`, "edit    /w/x.go\nwrite   /w/y.go\ntool    Read /w/z.go\nrun     go test ./...\n        1\n        2\n        3\n        4\n        5\n        … 2 more lines\n        exit status 1\n"},
		{"codex changes", `{"type":"item.completed","item":{"id":"i","type":"file_change","changes":[{"path":"a.go","kind":"update"},{"path":"b.go","kind":"add"},{"path":"c.go","kind":"delete"}],"status":"completed"}}
{"type":"item.completed","item":{"id":"j","type":"command_execution","command":"bash -lc 'make test'","aggregated_output":"","exit_code":2,"status":"failed"}}
{"type":"turn.failed","error":{"message":"stream disconnected before completion"}}
`, "edit    a.go\nwrite   b.go\ndelete  c.go\nrun     make test\n        exit status 2\nerror   stream disconnected before completion\n"},
		{"gemini pieces", `{"type":"message","role":"assistant","content":"I wrote ","delta":true}
{"type":"message","role":"assistant","content":"it.","delta":true}
{"type":"tool_use","tool_name":"write_file","tool_id":"w","parameters":{"file_path":"out.txt","content":"x"}}
{"type":"tool_result","tool_id":"w","status":"error","output":"","error":{"type":"x","message":"permission denied"}}
{"type":"error","severity":"warning","message":"loop detected"}
{"type":"result","status":"error","error":{"type":"FatalAuthenticationError","message":"API key not valid"},"stats":{"input_tokens":5,"output_tokens":1}}
`, "said    I wrote it.\nwrite   out.txt\n        permission denied\n        exit status 1\nnote    loop detected\nerror   API key not valid\nusage   5 tokens in, 1 out\n"},
		{"opencode edit", `{"type":"tool_use","part":{"type":"tool","tool":"edit","callID":"e","state":{"status":"completed","input":{"filePath":"/w/a.go"},"output":"ok"}}}
{"type":"step_finish","part":{"type":"step-finish","tokens":{"input":3,"output":4,"cache":{"read":1,"write":0}},"cost":0.25}}
`, "edit    /w/a.go\nusage   1 turn, 4 tokens in, 4 out, $0.2500\n"},
		{"a command agent's usage line", "working\nchant-usage: {\"usd\": 0.25, \"input_tokens\": 10, \"output_tokens\": 2}\nchant-usage: {\"input_tokens\": 5}\nchant-usage: {\"usd\": -1}\nchant-usage: nonsense\n",
			"working\nchant-usage: {\"usd\": -1}\nchant-usage: nonsense\nusage   15 tokens in, 2 out, $0.2500\n"},
		{"plain text", "warning: something\n{\"not\": \"an event\"}\n{\"type\":\"assistant\"\n", "warning: something\n{\"not\": \"an event\"}\n{\"type\":\"assistant\"\n"},
		{"no newline at the end", `{"type":"item.completed","item":{"id":"m","type":"agent_message","text":"done"}}`, "said    done\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, _ := render(t, tc.stream); got != tc.want {
				t.Errorf("rendered:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// A line longer than an event may be is said, not kept.
func TestOverlongLine(t *testing.T) {
	long := strings.Repeat("x", maxEvent+10)
	got, _ := render(t, "before\n"+long+"\nafter\n")
	want := "before\n(a line of 4194314 bytes, not shown here)\nafter\n"
	if got != want {
		t.Errorf("rendered %q, want %q", got, want)
	}
}

func FuzzRenderer(f *testing.F) {
	for _, name := range []string{"claude", "codex", "gemini", "opencode", "claude-unreachable"} {
		data, err := os.ReadFile("testdata/" + name + ".jsonl")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"type":"result","status":"x","stats":1}` + "\n" + `{"type":"tool_use","part":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var b strings.Builder
		r := &Renderer{Out: &b}
		r.Write(data)
		r.Flush()
		r.Session.Final()
		r.Session.LastWords()
	})
}

// Lines that are Plain pass as they are, undecoded, and end the session
// shown before them: its usage comes before them, once.
func TestPlainLines(t *testing.T) {
	var b strings.Builder
	r := &Renderer{Out: &b, Plain: func(line []byte) bool { return strings.HasPrefix(string(line), "--- ") }}
	r.Write([]byte(`--- {"type":"item.completed","item":{"id":"m","type":"agent_message","text":"not decoded"}}
{"type":"message","role":"assistant","content":"piece","delta":true}
{"type":"result","status":"success","stats":{"input_tokens":1,"output_tokens":2}}
--- agent ended
--- more
`))
	r.Flush()
	want := `--- {"type":"item.completed","item":{"id":"m","type":"agent_message","text":"not decoded"}}
said    piece
usage   1 tokens in, 2 out
--- agent ended
--- more
`
	if b.String() != want {
		t.Errorf("rendered:\n%s\nwant:\n%s", b.String(), want)
	}
}

// Codex shows a command as bash -c and the command quoted: shown as the
// agent wrote it.
func TestUnwrapShell(t *testing.T) {
	for in, want := range map[string]string{
		`/bin/bash -c "printf 'hello\\n' > hello.txt && echo done"`:                       `printf 'hello\n' > hello.txt && echo done`,
		`/bin/bash -lc "sed -i 's/- \\[ \\]/- [x]/' \"$CHANT_SPEC_FILE\" && echo \$HOME"`: `sed -i 's/- \[ \]/- [x]/' "$CHANT_SPEC_FILE" && echo $HOME`,
		`bash -lc 'ls -la'`:  `ls -la`,
		`bash -lc 'it'\''s'`: `it's`,
		`bash -lc "a" "b"`:   `bash -lc "a" "b"`,
		`bash -lc 'a' 'b'`:   `bash -lc 'a' 'b'`,
		`/bin/bash -c "printf 'hello\\n' > hello.txt && sed -i 's/- \\[ \\]/- [x]/' \""'$CHANT_SPEC_FILE"'`: `printf 'hello\n' > hello.txt && sed -i 's/- \[ \]/- [x]/' "$CHANT_SPEC_FILE"`,
		`go test ./...`:                  `go test ./...`,
		`/bin/bash -lc "unterminated \"`: `/bin/bash -lc "unterminated \"`,
	} {
		if got := unwrapShell(in); got != want {
			t.Errorf("unwrapShell(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestWithoutUsage(t *testing.T) {
	in := "Done.\nchant-usage: {\"usd\": 1}\n  chant-usage: {}\nmore\n"
	if got := WithoutUsage(in); got != "Done.\nmore\n" {
		t.Errorf("WithoutUsage = %q", got)
	}
}
