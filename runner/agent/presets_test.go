package agent

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chant-run/chant/spec"
)

// The command lines were checked against the real CLIs (see
// cmd/chant/testdata/agents): these keep them from changing unnoticed.
func TestPresetCommandLines(t *testing.T) {
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	local := env(map[string]string{"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})
	none := env(nil)
	for _, tc := range []struct {
		preset, model string
		getenv        func(string) string
		want          string
		wantEnv       string
	}{
		{"claude", "", none, "-p --output-format stream-json --verbose --permission-mode acceptEdits --allowedTools Bash,Edit,MultiEdit,Write,Read,Glob,Grep,LS,NotebookEdit,TodoWrite", ""},
		{"claude", "opus", none, "-p --output-format stream-json --verbose --permission-mode acceptEdits --allowedTools Bash,Edit,MultiEdit,Write,Read,Glob,Grep,LS,NotebookEdit,TodoWrite --model opus", ""},
		{"codex", "", none, "exec --json --skip-git-repo-check --dangerously-bypass-approvals-and-sandbox --color never -", ""},
		{"codex", "gpt-5", local, `exec --json --skip-git-repo-check --dangerously-bypass-approvals-and-sandbox --color never -m gpt-5 -c model_provider=chant -c model_providers.chant.name=chant -c model_providers.chant.base_url="http://127.0.0.1:9/v1" -c model_providers.chant.env_key=OPENAI_API_KEY -c model_providers.chant.wire_api=responses -`, ""},
		{"gemini", "", none, "--yolo --skip-trust --output-format stream-json -p ", ""},
		{"gemini", "gemini-2.5-pro", none, "--yolo --skip-trust --output-format stream-json -m gemini-2.5-pro -p ", ""},
		{"opencode", "", none, "run --auto --format json", ""},
		{"opencode", "anthropic/claude-sonnet-4-5", none, "run --auto --format json -m anthropic/claude-sonnet-4-5", ""},
		{"opencode", "", local, "run --auto --format json -m chant/default", `"baseURL":"{env:OPENAI_BASE_URL}"`},
		{"ollama", "", none, "run qwen2.5-coder", ""},
		{"ollama", "llama3", none, "run llama3", ""},
	} {
		p, ok := PresetNamed(tc.preset)
		if !ok {
			t.Fatalf("no preset %s", tc.preset)
		}
		if got := strings.Join(p.args(tc.model, tc.getenv), " "); got != tc.want {
			t.Errorf("%s %q:\n got %s\nwant %s", tc.preset, tc.model, got, tc.want)
		}
		var gotEnv string
		if p.env != nil {
			gotEnv = strings.Join(p.env(tc.model, tc.getenv), " ")
		}
		if (tc.wantEnv == "") != (gotEnv == "") || !strings.Contains(gotEnv, tc.wantEnv) {
			t.Errorf("%s %q env: %s, want %s", tc.preset, tc.model, gotEnv, tc.wantEnv)
		}
	}
}

func TestPresetsFindAuthorsAndProviders(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	p, _ := PresetNamed("claude")
	if _, err := p.Find(); !errors.Is(err, ErrAgentMissing) || !strings.Contains(err.Error(), "claude not found: npm install -g @anthropic-ai/claude-code") {
		t.Errorf("missing CLI: %v", err)
	}
	if a := p.Author(); a.Name != "Claude Code (chant)" || a.Email != "claude-code@agents.chant.invalid" {
		t.Errorf("author: %+v", a)
	}
	if got := strings.Join(Providers(), ","); got != "replay,command,claude,codex,gemini,ollama,opencode" {
		t.Errorf("providers: %s", got)
	}
}

// Files names what an approval covers of what the agent runs, as
// paths of the repository, for a workspace in a subdirectory too.
func TestAgentFiles(t *testing.T) {
	root := t.TempDir()
	s := &spec.Spec{ID: "g"}
	for _, tc := range []struct {
		ws, config string
		want       []string
	}{
		{".", "defaults: {provider: command}\nagent: {command: 'sh agents/$CHANT_SPEC_ID.sh --flag ../outside.sh x'}", []string{"agents/g.sh"}},
		{".", "defaults: {provider: replay}", []string{".chant/recordings/g"}},
		{"sub", "defaults: {provider: replay}\nreplay: {dir: .chant/rec}", []string{"sub/.chant/rec/g"}},
		{"sub", "defaults: {provider: codex}", []string{"AGENTS.md", "sub/AGENTS.md", "AGENTS.override.md", "sub/AGENTS.override.md", ".codex", "sub/.codex"}},
		{".", "defaults: {provider: claude}", []string{"CLAUDE.md", "CLAUDE.local.md", ".claude", ".mcp.json"}},
	} {
		cfg, err := spec.ParseConfig("config.md", []byte("---\n"+tc.config+"\n---\n"))
		if err != nil {
			t.Fatal(err)
		}
		w := &spec.Workspace{Root: filepath.Join(root, tc.ws), Config: cfg}
		if got := Files(w, root, s); !slices.Equal(got, tc.want) {
			t.Errorf("%s in %s: %q, want %q", tc.config, tc.ws, got, tc.want)
		}
	}
}
