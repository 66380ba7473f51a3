package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/chant-run/chant/internal/modelserver"
	"github.com/chant-run/chant/runner/agent"
)

// agentCLIsEnv names a directory of agent CLIs (node_modules/.bin) that
// .ci/run installed. When it is set, a CLI missing from it fails the
// tests instead of skipping them.
const agentCLIsEnv = "CHANT_AGENT_CLIS"

// npmPresets are the presets whose real CLI .ci/run installs from npm
// (.ci/agents/package.json): those with a Package.
func npmPresets() []*agent.Preset {
	var out []*agent.Preset
	for _, p := range agent.Presets {
		if p.Package != "" {
			out = append(out, p)
		}
	}
	return out
}

// modelAPIs is the API of the scripted model server that each npm preset's
// CLI speaks.
var modelAPIs = map[string]string{"claude": "anthropic", "codex": "responses", "gemini": "gemini", "opencode": "chat"}

// The presets are the one list of agent CLIs: .ci/agents/package.json pins
// each npm preset's package and nothing else, the README's table of
// presets has each, and the end-to-end tests know the API each speaks.
func TestAgentListsAgree(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(projectRoot(t), ".ci", "agents", "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct{ Dependencies map[string]string }
	if err := json.Unmarshal(data, &pkg); err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(projectRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, p := range npmPresets() {
		want[p.Package] = true
		if pkg.Dependencies[p.Package] == "" {
			t.Errorf(".ci/agents/package.json does not pin %s (preset %s)", p.Package, p.Name)
		}
		if modelAPIs[p.Name] == "" {
			t.Errorf("preset %s: no model API for its end-to-end test (modelAPIs)", p.Name)
		}
	}
	for dep := range pkg.Dependencies {
		if !want[dep] {
			t.Errorf(".ci/agents/package.json pins %s, the package of no preset", dep)
		}
	}
	for _, p := range agent.Presets {
		row := fmt.Sprintf("| `%s` | %s | `%s` |", p.Name, p.Title, p.Install())
		if p.Package == "" {
			row = fmt.Sprintf("| `%s` |", p.Name)
		}
		if !strings.Contains(string(readme), "\n"+row) {
			t.Errorf("README.md's table of presets has no row starting %q", row)
		}
	}
}

// TestRealAgents runs testdata/agents/flow.txtar with each preset's real
// CLI against the scripted model server: on a fresh repository, init, two
// specs (the second a human gate), run, approve as the repository's own
// user, run again.
func TestRealAgents(t *testing.T) {
	requireChant(t)
	t.Parallel() // minutes long (waits, kills, agent CLIs): beside the other long tests
	for _, preset := range npmPresets() {
		name := preset.Name
		t.Run(name, func(t *testing.T) {
			requireAgent(t, name)
			testscript.Run(t, scriptParams(t, "testdata/agents", map[string]string{
				"AGENT": name, "AUTHOR_RE": regexp.QuoteMeta(preset.Author().Name), "API": modelAPIs[name],
			}))
		})
	}
}

// TestMCPWithClaudeCode runs testdata/mcp: chant mcp as the MCP server
// of the real Claude Code CLI, against the scripted model server.
func TestMCPWithClaudeCode(t *testing.T) {
	requireChant(t)
	t.Parallel()
	requireAgent(t, "claude")
	testscript.Run(t, scriptParams(t, "testdata/mcp", nil))
}

// requireAgent skips the test, saying what is missing, when the agent's
// CLI is not installed; it fails it when .ci/run installed the CLIs.
func requireAgent(t *testing.T, name string) {
	t.Helper()
	if _, err := lookAgent(name); err == nil {
		return
	}
	preset, _ := agent.PresetNamed(name)
	pkg := preset.Package
	if dir := os.Getenv(agentCLIsEnv); dir != "" {
		t.Fatalf("%s is not in %s=%s, where .ci/run installs %s", name, agentCLIsEnv, dir, pkg)
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skipf("%s is not installed and npm is missing: install Node.js and npm, then run .ci/run (it installs %s) or npm install -g %s", name, pkg, pkg)
	}
	t.Skipf("%s is not installed: run .ci/run (it installs %s) or npm install -g %s", name, pkg, pkg)
}

// lookAgent finds an agent CLI where the scripts will: in $CHANT_AGENT_CLIS,
// then on PATH.
func lookAgent(name string) (string, error) {
	if dir := os.Getenv(agentCLIsEnv); dir != "" {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return exec.LookPath(name)
}

// servers are the model servers the running scripts started.
var servers sync.Map // *testscript.TestScript → *modelserver.Server

// cmdModelServer: modelserver SCRIPT starts a scripted model server and
// points the agent CLIs at it (ANTHROPIC_BASE_URL, OPENAI_BASE_URL, …),
// with a home directory of their own outside the repository, set up as a
// user of each CLI would have it: Gemini CLI told to use an API key,
// Codex's home made.
func cmdModelServer(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: modelserver SCRIPT")
	}
	srv, err := modelserver.Start(ts.MkAbs(args[0]))
	ts.Check(err)
	servers.Store(ts, srv)
	home, err := os.MkdirTemp("", "chant-agent-home-")
	ts.Check(err)
	ts.Defer(func() {
		srv.Close()
		servers.Delete(ts)
		os.RemoveAll(home)
	})
	ts.Check(os.MkdirAll(filepath.Join(home, ".gemini"), 0o755))
	ts.Check(os.WriteFile(filepath.Join(home, ".gemini", "settings.json"),
		[]byte(`{"security":{"auth":{"selectedType":"gemini-api-key"}}}`+"\n"), 0o644))
	ts.Check(os.MkdirAll(filepath.Join(home, ".codex"), 0o755))
	ts.Setenv("HOME", home)
	ts.Setenv("CODEX_HOME", filepath.Join(home, ".codex"))
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		ts.Setenv(k, v)
	}
	ts.Setenv("MODEL_ADDR", strings.TrimPrefix(srv.URL, "http://"))
}

// cmdListen: listen NAME serves a line on a free loopback port, for as
// long as the script runs, and sets NAME to the port.
func cmdListen(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: listen NAME")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	ts.Defer(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, "you reached a port that was not listed")
			c.Close()
		}
	}()
	ts.Setenv(args[0], strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
}

// cmdAsked: asked API N checks that the model server answered at least N
// requests of an API with a conversation in progress.
func cmdAsked(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: asked API N")
	}
	v, ok := servers.Load(ts)
	if !ok {
		ts.Fatalf("no model server: start one with modelserver SCRIPT")
	}
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	got := 0
	for _, r := range v.(*modelserver.Server).Requests() {
		if r.API == args[0] {
			got++
		}
	}
	if (got >= want) == neg {
		ts.Fatalf("the model server answered %d %s requests, want %s%d", got, args[0], map[bool]string{false: "at least ", true: "fewer than "}[neg], want)
	}
	fmt.Fprintf(ts.Stdout(), "%d %s requests\n", got, args[0])
}
