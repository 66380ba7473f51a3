package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"

	"github.com/chant-run/chant/internal/mcpserver"
	"github.com/chant-run/chant/internal/version"
)

func newMCPCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "mcp",
		Short: "Serve the workspace to an MCP client (Claude Code, Cursor, ...) on standard input and output",
		Long: `Serve chant to an MCP client on standard input and output: tools to list the
specs (with status --json's filters), show one, show the dependency graph,
lint, read a spec's log, review a gate, add a spec and run named specs; each
spec as a resource (chant://spec/ID). Each tool runs chant itself in the
workspace, as at a terminal. No tool approves or rejects a gate: that stays
with a person at a terminal, and an agent inside a phase is refused.
Set it up in Claude Code with a .mcp.json: {"mcpServers": {"chant":
{"command": "chant", "args": ["mcp"]}}}.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			if id := os.Getenv("CHANT_SPEC_ID"); id != "" {
				return usage(fmt.Errorf("chant mcp serves a person, not the agent of a phase (CHANT_SPEC_ID=%s)", id))
			}
			w, err := g.workspace()
			if err != nil {
				return err
			}
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			dir, err := filepath.Abs(w.Root)
			if err != nil {
				return err
			}
			return mcpserver.New(exe, dir, version.Chant()).Run(c.Context(), &mcp.StdioTransport{})
		},
	}
}
