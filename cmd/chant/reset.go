package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/chant-run/chant/runner"
)

type resetOptions struct {
	*globals
	id string
}

func newResetCmd(g *globals) *cobra.Command {
	opts := &resetOptions{globals: g}
	return &cobra.Command{
		Use:               "reset ID",
		Short:             "Return a spec to pending so it runs again, keeping its history",
		Args:              exactArgs(1, "one spec ID"),
		ValidArgsFunction: completeIDs(g, 1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.id = args[0]
			return runReset(opts)
		},
	}
}

func runReset(opts *resetOptions) error {
	target, err := opts.target()
	if err != nil {
		return err
	}
	s, err := runner.Reset(target, opts.id, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.stdout, "%s is pending again; its commits and output are kept. Run it with: %s run %s\n",
		s.ID, opts.invocation(), s.ID)
	return nil
}
