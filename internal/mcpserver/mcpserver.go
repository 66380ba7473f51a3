// Package mcpserver is chant as an MCP server (chant mcp, which executes
// the program chant-mcp), for a person working in Claude Code, Cursor or
// any MCP client: tools to see the pipeline (its specs, one spec, the
// graph, lint, a log, a gate's review), to add a spec and to run named
// specs, and each spec as a resource. Each tool runs chant itself, as the
// person would at a terminal, so that it says and does exactly what the
// command does. No tool decides a gate: approving and rejecting stay with
// a person at a terminal.
package mcpserver

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/chant-run/chant/internal/companion"
)

// Main is chant-mcp, the program chant mcp becomes (it executes it), so
// that chant itself links no MCP code: args are chant's executable, the
// workspace's directory and chant's version, as chant mcp gives them. It
// serves on standard input and output until the client closes them or a
// signal comes.
func Main(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet(companion.MCP, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("chant", "", "chant's executable")
	dir := fs.String("dir", "", "the workspace's directory")
	version := fs.String("version", "", "chant's version")
	if err := fs.Parse(args); err != nil || *path == "" || *dir == "" || fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: chant mcp runs this program; run chant mcp\n", companion.MCP)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := New(*path, *dir, *version).Run(ctx, &mcp.StdioTransport{}); err != nil && ctx.Err() == nil {
		fmt.Fprintf(stderr, "chant mcp: %v\n", err)
		return 1
	}
	return 0
}

// New is the server of the workspace in dir (as chant -C dir finds it),
// whose tools run the chant program at path.
func New(path, dir, version string) *mcp.Server {
	c := &chant{path: path, dir: dir}
	s := mcp.NewServer(&mcp.Implementation{Name: "chant", Version: version}, &mcp.ServerOptions{
		Instructions: "chant runs specs (Markdown files in .chant/specs) with coding agents in a sandbox, " +
			"verifies their work and lands it as commits. These tools show where the pipeline stands, add specs and start runs. " +
			"Gates are approved or rejected by a person at a terminal (chant approve), never through these tools.",
	})
	c.tools(s)
	s.AddResourceTemplate(&mcp.ResourceTemplate{Name: "spec", Title: "A chant spec", URITemplate: "chant://spec/{id}",
		Description: "A spec as chant show gives it: where it stands, then its body.", MIMEType: "text/markdown"}, c.specResource)
	return s
}

// chant runs the chant program in the workspace.
type chant struct{ path, dir string }

// run runs chant with args and returns its standard output; an exit other
// than 0 is an error carrying what it said.
func (c *chant) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, c.path, append([]string{"-C", c.dir}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("chant %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String(), nil
}

// text is a tool's result: chant's output, or what it said when it failed.
func (c *chant) text(ctx context.Context, args ...string) (*mcp.CallToolResult, any, error) {
	out, err := c.run(ctx, args...)
	if err != nil {
		return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: err.Error()}}}, nil, nil
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: out}}}, nil, nil
}

// The tools' inputs.
type (
	listInput struct {
		Status []string `json:"status,omitempty" jsonschema:"only specs in these statuses (pending, completed, failed, invalid, archived, ...)"`
		Ready  bool     `json:"ready,omitempty" jsonschema:"only specs ready to run"`
		All    bool     `json:"all,omitempty" jsonschema:"archived specs too"`
	}
	idInput struct {
		ID string `json:"id" jsonschema:"a spec ID (a unique part of one works)"`
	}
	noInput  struct{}
	addInput struct {
		Title     string   `json:"title" jsonschema:"the spec's title"`
		Targets   []string `json:"targets,omitempty" jsonschema:"the files the spec may change"`
		Criteria  []string `json:"criteria,omitempty" jsonschema:"its acceptance criteria"`
		DependsOn []string `json:"depends_on,omitempty" jsonschema:"specs that must be completed first"`
		Checks    []string `json:"checks,omitempty" jsonschema:"commands that must pass after the agent"`
		Gate      bool     `json:"gate,omitempty" jsonschema:"a human gate: it runs once a person approves it"`
	}
	runInput struct {
		IDs []string `json:"ids" jsonschema:"the specs to run (at least one)"`
	}
)

func (c *chant) tools(s *mcp.Server) {
	mcp.AddTool(s, &mcp.Tool{Name: "list_specs", Description: "Every spec with its status and, if not done, why (chant status --json)."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in listInput) (*mcp.CallToolResult, any, error) {
			args := []string{"status", "--json"}
			for _, st := range in.Status {
				args = append(args, "--status", st)
			}
			if in.Ready {
				args = append(args, "--ready")
			}
			if in.All {
				args = append(args, "--all")
			}
			return c.text(ctx, args...)
		})
	mcp.AddTool(s, &mcp.Tool{Name: "show_spec", Description: "One spec: where it stands, its checks, criteria and body (chant show --json)."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in idInput) (*mcp.CallToolResult, any, error) {
			return c.text(ctx, "show", "--json", "--", in.ID)
		})
	mcp.AddTool(s, &mcp.Tool{Name: "dag", Description: "The dependency graph with each spec's state, as JSON (chant dag --format json)."},
		func(ctx context.Context, _ *mcp.CallToolRequest, _ noInput) (*mcp.CallToolResult, any, error) {
			return c.text(ctx, "dag", "--format", "json")
		})
	mcp.AddTool(s, &mcp.Tool{Name: "lint", Description: "Every problem of the workspace's specs and config, each with its file and line (chant lint --json)."},
		func(ctx context.Context, _ *mcp.CallToolRequest, _ noInput) (*mcp.CallToolResult, any, error) {
			return c.text(ctx, "lint", "--json")
		})
	mcp.AddTool(s, &mcp.Tool{Name: "read_log", Description: "What the agent did in a spec's last phase: its commands, edits, words, errors and usage; then the checks (chant log)."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in idInput) (*mcp.CallToolResult, any, error) {
			return c.text(ctx, "log", "--", in.ID)
		})
	mcp.AddTool(s, &mcp.Tool{Name: "review", Description: "A gate's review, as Markdown: the work under review as diffs, its checks, the cost, what an approval binds (chant review)."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in idInput) (*mcp.CallToolResult, any, error) {
			return c.text(ctx, "review", "--format", "markdown", "--", in.ID)
		})
	mcp.AddTool(s, &mcp.Tool{Name: "add_spec", Description: "Write a new spec and say its ID (chant add)."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in addInput) (*mcp.CallToolResult, any, error) {
			args := []string{"add"}
			for flag, values := range map[string][]string{"--target": in.Targets, "--criterion": in.Criteria, "--depends-on": in.DependsOn, "--check": in.Checks} {
				for _, v := range values {
					args = append(args, flag, v)
				}
			}
			if in.Gate {
				args = append(args, "--gate")
			}
			return c.text(ctx, append(args, "--", in.Title)...)
		})
	mcp.AddTool(s, &mcp.Tool{Name: "run", Description: "Run the named specs (and only those), as chant run does; an event per line: each phase's start and end, then a summary (chant run --json)."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in runInput) (*mcp.CallToolResult, any, error) {
			if len(in.IDs) == 0 {
				return nil, nil, fmt.Errorf("name the specs to run")
			}
			return c.text(ctx, append([]string{"run", "--json", "--"}, in.IDs...)...)
		})
}

// specResource is a spec file, by ID: chant://spec/ID.
func (c *chant) specResource(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	id, ok := strings.CutPrefix(req.Params.URI, "chant://spec/")
	if !ok || id == "" {
		return nil, mcp.ResourceNotFoundError(req.Params.URI)
	}
	text, err := c.run(ctx, "show", "--", id)
	if err != nil {
		return nil, mcp.ResourceNotFoundError(req.Params.URI)
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: req.Params.URI, MIMEType: "text/markdown", Text: text}}}, nil
}
