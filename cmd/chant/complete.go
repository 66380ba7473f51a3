package main

import (
	"github.com/spf13/cobra"

	"github.com/chant-run/chant/internal/clihelp"
)

// completeIDs completes spec IDs, each with its title, for the first max
// arguments of a command (max < 0: any number).
func completeIDs(g *globals, max int) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return clihelp.SpecIDs(g.target, max)
}

// completeGates completes the gates that may be given decision.
func completeGates(g *globals, decision string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return clihelp.Gates(g.target, decision)
}
