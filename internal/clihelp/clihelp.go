// Package clihelp adjusts cobra's help and completion to chant's ways:
// flags listed by group, a completion command that refuses an unknown
// shell, spec IDs completed with their titles.
package clihelp

import (
	"fmt"
	"strings"

	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/store"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// StrictCompletion makes cobra's completion command refuse a shell it has
// no script for (it printed its help and exited 0).
func StrictCompletion(root *cobra.Command, usage func(error) error) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		var shells []string
		for _, sub := range c.Commands() {
			shells = append(shells, sub.Name())
		}
		c.Args = func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usage(fmt.Errorf("no completion script for %q: chant has them for %s", args[0], strings.Join(shells, ", ")))
			}
			return nil
		}
		c.RunE = func(c *cobra.Command, _ []string) error {
			return usage(fmt.Errorf("name a shell: %s", strings.Join(shells, ", ")))
		}
	}
}

// FlagGroup is the annotation that puts a flag in a group of its own in a
// command's help (GroupedUsage); TemporalFlags is the group of flags of
// use only with --engine temporal.
const (
	FlagGroup     = "chant-group"
	TemporalFlags = "Temporal flags (with --engine temporal)"
)

// GroupedUsage is cobra's usage with each group of flags (FlagGroup)
// under a heading of its own after the command's other flags.
func GroupedUsage(c *cobra.Command) error {
	w := c.OutOrStderr()
	fmt.Fprintf(w, "Usage:\n  %s\n", c.UseLine())
	groups := map[string]*pflag.FlagSet{"": pflag.NewFlagSet("", pflag.ContinueOnError)}
	var names []string
	c.LocalFlags().VisitAll(func(f *pflag.Flag) {
		g := ""
		if v := f.Annotations[FlagGroup]; len(v) > 0 {
			g = v[0]
		}
		if groups[g] == nil {
			groups[g] = pflag.NewFlagSet(g, pflag.ContinueOnError)
			names = append(names, g)
		}
		groups[g].AddFlag(f)
	})
	fmt.Fprintf(w, "\nFlags:\n%s", groups[""].FlagUsages())
	for _, g := range names {
		fmt.Fprintf(w, "\n%s:\n%s", g, groups[g].FlagUsages())
	}
	if c.HasAvailableInheritedFlags() {
		fmt.Fprintf(w, "\nGlobal Flags:\n%s", c.InheritedFlags().FlagUsages())
	}
	return nil
}

// SpecIDs completes spec IDs, each with its title, for the first max
// arguments of a command (max < 0: any number).
func SpecIDs(target func() (*spec.Workspace, error), max int) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return specIDsOf(target, max, nil)
}

// Gates completes the IDs of the gates a decision may be given
// on: not done, cancelled or archived, and without that decision.
func Gates(target func() (*spec.Workspace, error), decision string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return specIDsOf(target, 1, func(s *spec.Spec) bool {
		return s.Gate() && s.Approval.Status != decision && s.Status != spec.StatusCompleted && s.Status != spec.StatusCancelled
	})
}

// specIDsOf is SpecIDs of the specs keep keeps (nil: all).
func specIDsOf(target func() (*spec.Workspace, error), max int, keep func(*spec.Spec) bool) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if max >= 0 && len(args) >= max {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		w, err := target()
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

// AddNamed adds to root, made with g, the command of cmds (by name) that
// args name (their first argument that is neither a flag nor the value of
// one of root's persistent flags), or all of them when args name none of
// them (help, completion, a name not known), and reports whether it added
// all. Most command lines name one: making all of chant's took 3% of a
// start.
func AddNamed[G any](root *cobra.Command, args []string, g G, cmds map[string]func(G) *cobra.Command) (all bool) {
	if mk := cmds[commandName(root, args)]; mk != nil {
		root.AddCommand(mk(g))
		return false
	}
	for _, mk := range cmds {
		root.AddCommand(mk(g))
	}
	return true
}

// commandName is the first of args that is neither a flag nor the value
// of one of root's persistent flags ("" if none).
func commandName(root *cobra.Command, args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return ""
		case !strings.HasPrefix(a, "-") || a == "-":
			return a
		case strings.Contains(a, "="):
			continue
		}
		var f *pflag.Flag
		if name, long := strings.CutPrefix(a, "--"); long {
			f = root.PersistentFlags().Lookup(name)
		} else if len(a) == 2 {
			f = root.PersistentFlags().ShorthandLookup(a[1:])
		}
		if f != nil && f.NoOptDefVal == "" {
			i++ // its value
		}
	}
	return ""
}

// readOnlyCommand is the annotation of a read-only command.
const readOnlyCommand = "chant-read-only"

// ReadOnly marks c as a command that only reads (its caches aside, whose
// writes are atomic) and starts no process: nothing of its is left to
// stop or put back at a signal, which ends it as it ends any program.
// Handling signals costs a process os/signal's threads at its start,
// about 7% of a chant status.
func ReadOnly(c *cobra.Command) *cobra.Command {
	c.Annotations = map[string]string{readOnlyCommand: "yes"} // their only one
	return c
}

// ReadsOnly is whether args run a read-only command of root's.
func ReadsOnly(root *cobra.Command, args []string) bool {
	c, _, err := root.Find(args)
	return err == nil && c.Annotations[readOnlyCommand] != ""
}
