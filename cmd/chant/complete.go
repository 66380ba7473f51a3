package main

import (
	"strings"

	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/store"
	"github.com/spf13/cobra"
)

// completeIDs completes spec IDs, each with its title, for the first max
// arguments of a command (max < 0: any number).
func completeIDs(g *globals, max int) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return completeIDsOf(g, max, nil)
}

// completeGates completes the IDs of the gates a decision may be given
// on: not done, cancelled or archived, and without that decision.
func completeGates(g *globals, decision string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return completeIDsOf(g, 1, func(s *spec.Spec) bool {
		return s.Gate() && s.Approval.Status != decision && s.Status != spec.StatusCompleted && s.Status != spec.StatusCancelled
	})
}

// completeIDsOf is completeIDs of the specs keep keeps (nil: all).
func completeIDsOf(g *globals, max int, keep func(*spec.Spec) bool) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
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
			if s.Archived || !strings.Contains(s.ID, toComplete) || keep != nil && !keep(s) {
				continue
			}
			out = append(out, s.ID+"\t"+s.Title)
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
