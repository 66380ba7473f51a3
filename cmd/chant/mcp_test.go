package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/chant-run/chant/internal/mcpserver"
	"github.com/chant-run/chant/internal/testgit"
)

// chant mcp's tools, through the MCP SDK's own client: a spec added, run
// and reviewed as a person in an MCP client would; no tool decides a gate.
func TestMCPTools(t *testing.T) {
	requireChant(t)
	dir := testgit.Repo(t, map[string]string{
		".chant/config.md": "---\nproject: {name: mcp}\ndefaults: {provider: command}\nagent:\n  command: sh agent.sh\n---\n",
		".gitignore":       ".chant/logs/\n",
		"agent.sh": "t=$(sed -n 's/^target_files: \\[\\(.*\\)\\]$/\\1/p' \"$CHANT_SPEC_FILE\")\necho done > \"$t\"\n" +
			"sed -i 's/- \\[ \\]/- [x]/' \"$CHANT_SPEC_FILE\"\necho 'I made it.'\n",
	})
	t.Setenv("GIT_AUTHOR_NAME", "Tester")
	t.Setenv("GIT_AUTHOR_EMAIL", "tester@example.com")
	t.Setenv("GIT_COMMITTER_NAME", "Tester")
	t.Setenv("GIT_COMMITTER_EMAIL", "tester@example.com")
	ctx := context.Background()
	st, ct := mcp.NewInMemoryTransports()
	ss, err := mcpserver.New(chantBin, dir, "test").Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()

	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	if want := []string{"add_spec", "dag", "lint", "list_specs", "read_log", "review", "run", "show_spec"}; !slices.Equal(names, want) {
		t.Errorf("tools %v, want %v: none approves, rejects or accepts", names, want)
	}
	call := func(name string, args map[string]any) string {
		t.Helper()
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		text := res.Content[0].(*mcp.TextContent).Text
		if res.IsError {
			t.Fatalf("%s: %s", name, text)
		}
		return text
	}

	out := call("add_spec", map[string]any{"title": "Make it", "targets": []string{"made.txt"}, "criteria": []string{"made.txt exists"}})
	id := regexp.MustCompile(`[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{3}-[0-9a-z]+`).FindString(out)
	if id == "" {
		t.Fatalf("add_spec said no ID: %s", out)
	}
	gateOut := call("add_spec", map[string]any{"title": "Ship it", "targets": []string{"shipped.txt"}, "criteria": []string{"shipped"},
		"depends_on": []string{id}, "gate": true})
	gate := regexp.MustCompile(`[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{3}-[0-9a-z]+`).FindString(gateOut)
	testgit.Git(t, dir, "add", ".chant")
	testgit.Git(t, dir, "commit", "-qm", "specs")

	if out := call("run", map[string]any{"ids": []string{id}}); !strings.Contains(out, `"outcome":"completed"`) {
		t.Errorf("run: %s", out)
	}
	// The gate runs only once a person approves it.
	if out := call("run", map[string]any{"ids": []string{gate}}); strings.Contains(out, `"outcome":"completed"`) {
		t.Errorf("a run through MCP ran a gate no one approved: %s", out)
	}
	for name, want := range map[string][2]any{
		"list_specs": {map[string]any{"status": []string{"completed"}}, `"id":"` + id + `"`},
		"show_spec":  {map[string]any{"id": id}, `"text": "made.txt exists",`},
		"dag":        {map[string]any{}, `"from":"` + id + `","to":"` + gate + `"`},
		"lint":       {map[string]any{}, `[]`},
		"read_log":   {map[string]any{"id": id}, "I made it."},
		"review":     {map[string]any{"id": gate}, "## Review of " + gate + ": Ship it"},
	} {
		if out := call(name, want[0].(map[string]any)); !strings.Contains(out, want[1].(string)) {
			t.Errorf("%s: no %q in:\n%s", name, want[1], out)
		}
	}
	// A tool that fails says why, as an error result.
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "show_spec", Arguments: map[string]any{"id": "nosuch"}})
	if err != nil || !res.IsError || !strings.Contains(res.Content[0].(*mcp.TextContent).Text, `no spec matches "nosuch"`) {
		t.Errorf("show_spec of no spec: %v, %+v", err, res)
	}
	// Each spec is a resource.
	r, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "chant://spec/" + id})
	if err != nil || !strings.Contains(r.Contents[0].Text, "Make it") {
		t.Errorf("resource: %v, %+v", err, r)
	}
}

// chant mcp becomes chant-mcp, beside chant or on PATH: a client that
// starts chant mcp talks to the server (the tools run chant, the program
// that started it); without chant-mcp, chant mcp says how to install it.
func TestMCPIsChantMCP(t *testing.T) {
	requireChant(t)
	dir := testgit.Repo(t, map[string]string{
		".chant/config.md":                   "---\nproject: {name: mcp}\n---\n",
		".chant/specs/2026-01-01-001-abc.md": "---\nstatus: pending\n---\n# Served\n",
	})
	ctx := context.Background()
	cmd := exec.Command(chantBin, "-C", dir, "mcp")
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test"}, nil).Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "list_specs", Arguments: map[string]any{}})
	if err != nil || res.IsError || !strings.Contains(res.Content[0].(*mcp.TextContent).Text, `"title":"Served"`) {
		t.Errorf("list_specs through chant mcp: %v, %+v", err, res)
	}
	if err := cs.Close(); err != nil {
		t.Errorf("close: %v", err)
	}

	// A chant with no chant-mcp beside it, nor on PATH.
	lone := filepath.Join(t.TempDir(), "chant")
	if err := os.Link(chantBin, lone); err != nil {
		data, err := os.ReadFile(chantBin)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(lone, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	none := exec.Command(lone, "-C", dir, "mcp")
	none.Env = append(os.Environ(), "PATH="+t.TempDir())
	out, err := none.CombinedOutput()
	if code := none.ProcessState.ExitCode(); code != exitBadInput || !strings.Contains(string(out), "chant mcp needs chant-mcp") ||
		!strings.Contains(string(out), "go install github.com/chant-run/chant/cmd/chant-mcp@latest") {
		t.Errorf("chant mcp without chant-mcp: exit %d (%v), want %d and how to install it:\n%s", code, err, exitBadInput, out)
	}

	alone := exec.Command(filepath.Join(filepath.Dir(chantBin), "chant-mcp"))
	out, _ = alone.CombinedOutput()
	if alone.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), "chant mcp runs this program") {
		t.Errorf("chant-mcp run by a person: exit %d:\n%s", alone.ProcessState.ExitCode(), out)
	}
}
