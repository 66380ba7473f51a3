package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/chant-run/chant/runner"
)

// errDrift means a completed spec's checks no longer hold.
var errDrift = errors.New("drift")

type verifyOptions struct {
	*globals
	id      string
	verbose bool
}

func newVerifyCmd(g *globals) *cobra.Command {
	opts := &verifyOptions{globals: g}
	c := &cobra.Command{
		Use:   "verify ID",
		Short: "Re-run a completed spec's checks against the current tree and report drift",
		Long: `Re-run a completed spec's checks against the tree as it is now, and check
that its target files still exist. Exit 0 when everything still holds, 1 on
drift. Changes nothing.`,
		Args:              exactArgs(1, "one spec ID"),
		ValidArgsFunction: completeIDs(g, 1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.id = args[0]
			return runVerify(c.Context(), opts)
		},
	}
	c.Flags().BoolVarP(&opts.verbose, "verbose", "v", false, "show the checks' output")
	return c
}

func runVerify(ctx context.Context, opts *verifyOptions) error {
	target, err := opts.target()
	if err != nil {
		return err
	}
	var log io.Writer = io.Discard
	if opts.verbose {
		log = opts.stdout
	}
	s, v, err := runner.Verify(ctx, target, opts.id, log)
	if err != nil {
		return err
	}
	for _, c := range v.Checks {
		mark := "ok   "
		if !c.Held {
			mark = "DRIFT"
		}
		fmt.Fprintf(opts.stdout, "%s `%s`: %s\n", mark, c.Check.Run, c.Describe())
		if !c.Held && c.Output != "" {
			fmt.Fprintf(opts.stdout, "%s\n", c.Output)
		}
	}
	for _, f := range v.Missing {
		fmt.Fprintf(opts.stdout, "DRIFT target file is gone: %s\n", f)
	}
	if !v.OK() {
		fmt.Fprintf(opts.stdout, "%s has drifted since it completed.\n", s.ID)
		return &reported{errDrift}
	}
	fmt.Fprintf(opts.stdout, "%s still holds: %d checks as expected.\n", s.ID, len(v.Checks))
	return nil
}
