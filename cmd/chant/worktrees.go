package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chant-run/chant/internal/isolation"
	"github.com/chant-run/chant/internal/table"
)

type worktreesOptions struct {
	*globals
	prune     bool
	olderThan time.Duration
}

func newWorktreesCmd(g *globals) *cobra.Command {
	opts := &worktreesOptions{globals: g}
	c := &cobra.Command{
		Use:   "worktrees [--prune [--older-than DURATION]]",
		Short: "List the phase worktrees chant keeps, per repository, with their size; --prune removes unused ones",
		Long: `List the phase worktrees chant keeps in its cache (CHANT_WORKTREE_DIR, else
~/.cache/chant/worktrees), one line per repository: where it is, the space
its worktrees take, when they were last used. A repository that is gone is
marked so; each chant run removes those by itself. --prune removes them now,
and with --older-than those not used for that long.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			if opts.olderThan < 0 || opts.olderThan > 0 && !opts.prune {
				return usage(fmt.Errorf("--older-than goes with --prune, and is a duration of 0 or more"))
			}
			return runWorktrees(opts)
		},
	}
	c.Flags().BoolVar(&opts.prune, "prune", false, "remove the worktrees of repositories that are gone")
	c.Flags().DurationVar(&opts.olderThan, "older-than", 0, "with --prune, also those not used for this `DURATION` (720h: 30 days)")
	return c
}

func runWorktrees(opts *worktreesOptions) error {
	base := isolation.BaseDir()
	caches, err := isolation.Caches(base, true)
	if err != nil {
		return err
	}
	var t table.Table
	t.Add(table.Cell{Text: "REPOSITORY"}, table.Cell{Text: "SIZE"}, table.Cell{Text: "LAST USED"}, table.Cell{Text: "WORKTREES"})
	var total, freed isolation.Bytes
	for _, c := range caches {
		old := opts.olderThan > 0 && time.Since(c.LastUsed) > opts.olderThan
		if opts.prune && (c.Gone || old) {
			if err := c.Remove(); err != nil {
				return err
			}
			fmt.Fprintf(opts.stdout, "Removed %s (%s, %s)\n", c.Dir, c.Repository, c.Size)
			freed += c.Size
			continue
		}
		repo := c.Repository
		if c.Gone {
			repo += " (gone)"
		}
		t.Add(table.Cell{Text: repo}, table.Cell{Text: c.Size.String()}, table.Cell{Text: c.LastUsed.Local().Format("2006-01-02 15:04")},
			table.Cell{Text: strings.Join(c.Slots, ", ")})
		total += c.Size
	}
	if opts.prune {
		fmt.Fprintf(opts.stdout, "Freed %s.\n", freed)
	}
	fmt.Fprintf(opts.stdout, "Worktrees in %s: %s.\n", base, total)
	if total > 0 {
		fmt.Fprintln(opts.stdout)
		return t.Write(opts.stdout)
	}
	return nil
}
