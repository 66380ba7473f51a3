package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/chant-run/chant/internal/companion"
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
{"command": "chant", "args": ["mcp"]}}}. The server is chant-mcp, which
comes with chant (go install ./cmd/...): chant mcp becomes it.`,
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
			server, err := companion.Path(companion.MCP, "chant mcp")
			if err != nil {
				return err
			}
			// The server takes the process over: nothing of chant's between.
			err = syscall.Exec(server, []string{companion.MCP, "--chant", exe, "--dir", dir, "--version", version.Chant()}, os.Environ())
			return fmt.Errorf("run %s: %w", server, err)
		},
	}
}
