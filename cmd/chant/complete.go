package main

import (
	"strings"

	"github.com/chant-run/chant/spec/store"
	"github.com/spf13/cobra"
)

// completeIDs completes spec IDs, each with its title, for the first max
// arguments of a command (max < 0: any number).
func completeIDs(g *globals, max int) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if max >= 0 && len(args) >= max {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		w, err := g.target()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		set, err := store.List(w)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for _, s := range set.Specs {
			if s.Archived || !strings.Contains(s.ID, toComplete) {
				continue
			}
			out = append(out, s.ID+"\t"+s.Title)
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
