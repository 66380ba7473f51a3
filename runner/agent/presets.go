package agent

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/chant-run/chant/internal/fault"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/sandbox"
	"github.com/chant-run/chant/spec"
)

// ErrAgentMissing means the agent CLI a preset runs is not installed.
var ErrAgentMissing = fault.New(fault.Input, "agent CLI not found")

// ErrProvider means the configured agent provider is not one chant knows.
var ErrProvider = fault.New(fault.Input, "unknown agent provider")

// Preset is a coding agent CLI that chant runs by name (defaults.provider:
// claude, …): a command line that runs without asking anything, may edit
// files and run shell commands (agents must run tests), reports what it
// does as a stream of JSON events (see internal/agentstream), works as
// root and as an ordinary user, takes agent.model, and gets chant's whole
// environment, so that the CLI's own variables (ANTHROPIC_BASE_URL,
// OPENAI_BASE_URL, API keys) work as they do in a shell.
type Preset struct {
	Name   string // the provider's name in config.md
	Title  string // what it is
	Binary string // the program run
	// Package is the npm package of a CLI installed with npm, pinned for
	// chant's tests in .ci/agents/package.json; "" for others.
	Package string
	install string // how to install it, without npm
	// Email is the address of its commits' author, "<Title> (chant)".
	Email string
	// args are the arguments after the binary, for a model ("": the CLI's
	// own default) and the environment.
	args func(model string, getenv func(string) string) []string
	// env are variables added to the environment.
	env func(model string, getenv func(string) string) []string
	// replyFiles means the CLI cannot edit files (a plain model): it
	// replies with whole files, which chant writes into the worktree.
	replyFiles bool
	// state are the directories the CLI writes its own state in (its
	// sessions, credentials, caches), writable in the sandbox: ~/ and
	// $VAR are expanded. stateFiles are files, made with the content
	// given when missing.
	state      func(getenv func(string) string) []string
	stateFiles []sandbox.File
	// instructions are the files and directories of a repository the CLI
	// reads as instructions or settings (hooks, MCP servers) when started
	// there: an approval of a gate covers them.
	instructions []string
}

// Presets are the agent CLIs chant knows.
var Presets = []*Preset{
	{
		Name: "claude", Title: "Claude Code", Binary: "claude", Email: "claude-code@agents.chant.invalid",
		Package: "@anthropic-ai/claude-code",
		args: func(model string, _ func(string) string) []string {
			// --allowedTools rather than --dangerously-skip-permissions,
			// which Claude Code refuses as root (containers, CI).
			a := []string{"-p", "--output-format", "stream-json", "--verbose", "--permission-mode", "acceptEdits",
				"--allowedTools", "Bash,Edit,MultiEdit,Write,Read,Glob,Grep,LS,NotebookEdit,TodoWrite"}
			if model != "" {
				a = append(a, "--model", model)
			}
			return a
		},
		state: func(getenv func(string) string) []string {
			return []string{orDefault(getenv("CLAUDE_CONFIG_DIR"), "~/.claude")}
		},
		// Claude Code takes an empty file for a corrupted one.
		stateFiles:   []sandbox.File{{Path: "~/.claude.json", Initial: []byte("{}\n")}},
		instructions: []string{"CLAUDE.md", "CLAUDE.local.md", ".claude", ".mcp.json"},
	},
	{
		Name: "codex", Title: "OpenAI Codex CLI", Binary: "codex", Email: "codex@agents.chant.invalid",
		Package: "@openai/codex",
		args: func(model string, getenv func(string) string) []string {
			// No sandbox: agents must run tests (which write caches outside
			// the worktree); chant's worktree is the isolation.
			a := []string{"exec", "--json", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox", "--color", "never"}
			if model != "" {
				a = append(a, "-m", model)
			}
			if base := getenv("OPENAI_BASE_URL"); base != "" {
				// Codex reads no OPENAI_BASE_URL: a provider of its own,
				// which also spares a WebSocket a local endpoint lacks.
				a = append(a, "-c", "model_provider=chant", "-c", "model_providers.chant.name=chant",
					"-c", "model_providers.chant.base_url="+tomlString(base),
					"-c", "model_providers.chant.env_key=OPENAI_API_KEY", "-c", "model_providers.chant.wire_api=responses")
			}
			return append(a, "-")
		},
		state: func(getenv func(string) string) []string {
			return []string{orDefault(getenv("CODEX_HOME"), "~/.codex")}
		},
		instructions: []string{"AGENTS.md", "AGENTS.override.md", ".codex"},
	},
	{
		Name: "gemini", Title: "Gemini CLI", Binary: "gemini", Email: "gemini-cli@agents.chant.invalid",
		Package: "@google/gemini-cli",
		args: func(model string, _ func(string) string) []string {
			a := []string{"--yolo", "--skip-trust", "--output-format", "stream-json"}
			if model != "" {
				a = append(a, "-m", model)
			}
			return append(a, "-p", "") // headless; the prompt comes on standard input
		},
		state:        func(func(string) string) []string { return []string{"~/.gemini"} },
		instructions: []string{"GEMINI.md", "AGENTS.md", ".gemini"},
	},
	{
		Name: "opencode", Title: "opencode", Binary: "opencode", Email: "opencode@agents.chant.invalid",
		Package: "opencode-ai",
		args: func(model string, getenv func(string) string) []string {
			a := []string{"run", "--auto", "--format", "json"}
			if getenv("OPENAI_BASE_URL") != "" {
				if model == "" {
					model = "default"
				}
				model = "chant/" + model
			}
			if model != "" {
				a = append(a, "-m", model)
			}
			return a
		},
		env: func(model string, getenv func(string) string) []string {
			if getenv("OPENAI_BASE_URL") == "" {
				return nil
			}
			// An OpenAI-compatible endpoint as a provider of opencode's.
			if model == "" {
				model = "default"
			}
			cfg, _ := json.Marshal(map[string]any{"provider": map[string]any{"chant": map[string]any{
				"npm": "@ai-sdk/openai-compatible", "name": "OPENAI_BASE_URL",
				"options": map[string]any{"baseURL": "{env:OPENAI_BASE_URL}", "apiKey": "{env:OPENAI_API_KEY}"},
				"models":  map[string]any{model: map[string]any{"name": model, "tool_call": true}},
			}}})
			return []string{"OPENCODE_CONFIG_CONTENT=" + string(cfg)}
		},
		state: func(getenv func(string) string) []string {
			// Its XDG directories.
			return []string{
				orDefault(getenv("XDG_DATA_HOME"), "~/.local/share") + "/opencode",
				orDefault(getenv("XDG_CONFIG_HOME"), "~/.config") + "/opencode",
				orDefault(getenv("XDG_CACHE_HOME"), "~/.cache") + "/opencode",
				orDefault(getenv("XDG_STATE_HOME"), "~/.local/state") + "/opencode",
			}
		},
		instructions: []string{"AGENTS.md", "CLAUDE.md", "opencode.json", "opencode.jsonc", ".opencode"},
	},
	{
		Name: "ollama", Title: "Ollama", Binary: "ollama", Email: "ollama@agents.chant.invalid",
		install: "see https://ollama.com/download",
		args: func(model string, _ func(string) string) []string {
			if model == "" {
				model = "qwen2.5-coder"
			}
			return []string{"run", model}
		},
		replyFiles: true,
		state:      func(func(string) string) []string { return []string{"~/.ollama"} },
	},
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// State is where the preset's CLI writes its own state, expanded: the
// directories and files the sandbox lets it write.
func (p *Preset) State(getenv func(string) string) (dirs []string, files []sandbox.File, err error) {
	if p.state != nil {
		for _, d := range p.state(getenv) {
			abs, err := sandbox.ExpandPath(d, getenv)
			if err != nil {
				return nil, nil, fmt.Errorf("%s's state: %w", p.Title, err)
			}
			dirs = append(dirs, abs)
		}
	}
	for _, f := range p.stateFiles {
		abs, err := sandbox.ExpandPath(f.Path, getenv)
		if err != nil {
			return nil, nil, fmt.Errorf("%s's state: %w", p.Title, err)
		}
		files = append(files, sandbox.File{Path: abs, Initial: f.Initial})
	}
	return dirs, files, nil
}

// Files names what of the repository (paths relative to repoRoot)
// the agent of spec s runs as code or reads as instructions, for an
// approval of a gate to cover: the preset's instruction and settings
// files, at the repository's root and the workspace's; the command
// agent's script when agent.command names one in the repository; the
// spec's replay recording.
func Files(w *spec.Workspace, repoRoot string, s *spec.Spec) []string {
	var out []string
	paths := w.InRepo(repoRoot)
	add := func(abs string) { // a path of the repository, once
		if r, ok := paths.Inside(abs); ok && r != "." && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	switch c := w.Config; c.Defaults.Provider {
	case "", "replay":
		add(filepath.Join(RecordingsDir(w), s.ID))
	case "command":
		// Words of the command that name a file: the agent runs in the
		// worktree's root, the repository's.
		for _, word := range strings.Fields(c.Agent.Command) {
			word = strings.Trim(word, `"'`)
			word = strings.NewReplacer("${CHANT_SPEC_ID}", s.ID, "$CHANT_SPEC_ID", s.ID).Replace(word)
			if !strings.HasPrefix(word, "-") && strings.ContainsAny(word, "/.") && !strings.ContainsAny(word, "$`*?") {
				add(filepath.Join(repoRoot, filepath.FromSlash(word)))
			}
		}
	default:
		if p, ok := PresetNamed(c.Defaults.Provider); ok {
			for _, f := range p.instructions {
				add(filepath.Join(repoRoot, f)) // at the repository's root
				add(filepath.Join(w.Root, f))   // and the workspace's
			}
		}
	}
	return out
}

// Install says how to install the CLI.
func (p *Preset) Install() string {
	if p.Package != "" {
		return "npm install -g " + p.Package
	}
	return p.install
}

// PresetNamed returns the preset of a provider name.
func PresetNamed(name string) (*Preset, bool) {
	for _, p := range Presets {
		if p.Name == name {
			return p, true
		}
	}
	return nil, false
}

// Providers lists every defaults.provider chant knows.
func Providers() []string {
	out := []string{"replay", "command"}
	for _, p := range Presets {
		out = append(out, p.Name)
	}
	sort.Strings(out[2:])
	return out
}

// Argv is the preset's command line for a model, with the environment
// as it is.
func (p *Preset) Argv(model string) []string {
	return append([]string{p.Binary}, p.args(model, os.Getenv)...)
}

// Author is who the preset's work commits are by.
func (p *Preset) Author() *gitrepo.Person {
	return &gitrepo.Person{Name: p.Title + " (chant)", Email: p.Email}
}

// Find returns the preset's binary on PATH, or an error saying how to
// install it.
func (p *Preset) Find() (string, error) {
	path, err := exec.LookPath(p.Binary)
	if err != nil {
		return "", fmt.Errorf("%w: %s not found: %s", ErrAgentMissing, p.Binary, p.Install())
	}
	return path, nil
}

func tomlString(s string) string {
	b, _ := json.Marshal(s) // a JSON string is a valid TOML basic string
	return string(b)
}

// ConfigProblems checks the config's agent: a provider chant knows, a
// command for the command provider, a timeout that is a duration. lint
// reports them and run refuses to start on them.
func ConfigProblems(w *spec.Workspace) []spec.Problem {
	c := w.Config
	var out []spec.Problem
	add := func(msg string) {
		out = append(out, spec.Problem{Path: c.Path, Line: c.KeyLine("defaults", "provider"), Col: 1, Severity: spec.SeverityError, Code: spec.CodeAgent, Message: msg})
	}
	switch p := c.Defaults.Provider; {
	case p == "":
		out = append(out, spec.Problem{Path: c.Path, Line: max(c.KeyLine("defaults"), 1), Col: 1, Severity: spec.SeverityWarning, Code: spec.CodeNoAgent,
			Message: "defaults.provider is not set: specs run with the replay agent (recordings in .chant/recordings); set it to the agent you use (" + strings.Join(Providers(), ", ") + ")"})
	case p == "replay":
	case p == "command":
		if strings.TrimSpace(c.Agent.Command) == "" {
			add("defaults.provider is command but agent.command is empty")
		}
	default:
		if _, ok := PresetNamed(p); !ok {
			add(fmt.Sprintf("%s: defaults.provider %q (known: %s)", ErrProvider, p, strings.Join(Providers(), ", ")))
		}
	}
	if _, err := Timeout(c); err != nil {
		out = append(out, spec.Problem{Path: c.Path, Line: c.KeyLine("agent", "timeout"), Col: 1, Severity: spec.SeverityError, Code: spec.CodeAgent, Message: err.Error()})
	}
	return out
}
