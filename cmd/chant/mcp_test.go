package main

import (
	"context"
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
