package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chant-run/chant/internal/clihelp"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/term"
	"github.com/chant-run/chant/internal/textsafe"
	"github.com/chant-run/chant/runner/phase"
)

type diffOptions struct {
	*globals
	id   string
	stat bool
}

func newDiffCmd(g *globals) *cobra.Command {
	opts := &diffOptions{globals: g}
	c := &cobra.Command{
		Use:   "diff ID [--stat]",
		Short: "Show the work of a spec's last attempt, refused or landed, as a diff",
		Long: `Show what the agent did in a spec's last attempt, as a diff against the
commit it worked on. A refused attempt's work (everything it left in its
worktree: its targets, any other file, its spec's copy) is kept until the
spec runs again; a landed one is its work commit. --stat shows the files
and their counts of changed lines only.`,
		Args: exactArgs(1, "one spec ID"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.id = args[0]
			return runDiff(opts)
		},
		ValidArgsFunction: completeIDs(g, 1),
	}
	c.Flags().BoolVar(&opts.stat, "stat", false, "only the files changed and their counts of lines")
	return clihelp.ReadOnly(c)
}

func runDiff(opts *diffOptions) error {
	w, _, s, err := opts.listed(opts.id)
	if err != nil {
		return err
	}
	repo, err := gitrepo.Open(w.Root)
	if err != nil {
		return err
	}
	a, err := phase.LastAttempt(repo, s)
	if err != nil {
		return err
	}
	out := opts.stdout
	if a == nil {
		fmt.Fprintf(out, "%s has no attempt to show: it has not run, or nothing of its work was kept.\n", s.ID)
		return nil
	}
	stat, diff, err := repo.Patch(a.Base, a.Commit)
	if err != nil {
		return err
	}
	base := gitrepo.Short(a.Base.String())
	if a.Refused {
		_, why, _ := strings.Cut(a.Message, "\n\n")
		fmt.Fprintf(out, "%s's last attempt was refused:\n", s.ID)
		for _, line := range strings.Split(strings.TrimSpace(why), "\n") {
			fmt.Fprintf(out, "  %s\n", line)
		}
		fmt.Fprintf(out, "Its work, against %s, where it began (kept until %s runs again):\n\n", base, s.ID)
	} else {
		fmt.Fprintf(out, "%s's last attempt landed as %s (%s), against %s:\n\n", s.ID, gitrepo.Short(a.Commit.String()),
			textsafe.Line(strings.SplitN(a.Message, "\n", 2)[0]), base)
	}
	if stat == "" {
		fmt.Fprintln(out, "It changed nothing.")
		return nil
	}
	fmt.Fprint(out, stat)
	if !opts.stat {
		fmt.Fprintln(out)
		paint := term.NewStyle(out).DiffLine
		for _, line := range strings.SplitAfter(diff, "\n") {
			fmt.Fprint(out, paint(line))
		}
	}
	return nil
}
