package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chant-run/chant/runner"
)

type cancelOptions struct {
	*globals
	id string
}

func newCancelCmd(g *globals) *cobra.Command {
	opts := &cancelOptions{globals: g}
	return &cobra.Command{
		Use:               "cancel ID",
		Short:             "Give a spec up: status cancelled, committed; chant reset undoes it",
		Args:              exactArgs(1, "one spec ID"),
		ValidArgsFunction: completeIDs(g, 1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.id = args[0]
			return runCancel(opts)
		},
	}
}

func runCancel(opts *cancelOptions) error {
	target, err := opts.target()
	if err != nil {
		return err
	}
	s, dependents, err := runner.Cancel(target, opts.id, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.stdout, "%s is cancelled; it runs again after: %s reset %s\n", s.ID, opts.invocation(), s.ID)
	if len(dependents) > 0 {
		fmt.Fprintf(opts.stdout, "%s %s on it and can never run now: drop the dependency, or reset %s.\n",
			strings.Join(dependents, ", "), map[bool]string{true: "depends", false: "depend"}[len(dependents) == 1], s.ID)
	}
	return nil
}
