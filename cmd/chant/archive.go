package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/chant-run/chant/runner"
)

type archiveOptions struct {
	*globals
	ids       []string
	completed bool
}

func newArchiveCmd(g *globals) *cobra.Command {
	opts := &archiveOptions{globals: g}
	c := &cobra.Command{
		Use:   "archive ID... | --completed",
		Short: "Move completed specs to .chant/archive/<date>/, in one commit",
		Long: `Move completed specs to .chant/archive/<date>/<id>.md (Chant's layout; the
date is the spec's completed_at), in one commit. An archived spec counts as
completed for what depends on it, and status shows it with --all.`,
		ValidArgsFunction: completeIDs(g, -1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.ids = args
			return runArchive(opts)
		},
	}
	c.Flags().BoolVar(&opts.completed, "completed", false, "every completed spec")
	return c
}

func runArchive(opts *archiveOptions) error {
	if len(opts.ids) == 0 && !opts.completed {
		return usage(errors.New("archive: name the specs (IDs) or give --completed"))
	}
	target, err := opts.target()
	if err != nil {
		return err
	}
	moved, err := runner.Archive(target, opts.ids, opts.completed, time.Now())
	if err != nil {
		return err
	}
	if len(moved) == 0 {
		fmt.Fprintln(opts.stdout, "Nothing to archive: no spec is completed.")
		return nil
	}
	for _, p := range moved {
		fmt.Fprintf(opts.stdout, "Archived: %s\n", p)
	}
	return nil
}
