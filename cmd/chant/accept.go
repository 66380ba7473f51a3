package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/chant-run/chant/runner"
)

func newAcceptCmd(g *globals) *cobra.Command {
	opts := &decideOptions{globals: g}
	c := &cobra.Command{
		Use:   "accept ID [--by NAME] [--reason TEXT]",
		Short: "Say that a stale spec stands as it is: what it is built on is recorded anew",
		Long: `A completed spec is stale when something its phase was built on changed
since (chant status says what). chant accept records that a person looked
and the work stands as it is: what it is built on is recorded as the branch
holds it now, and the decision is committed, naming who and why. What
depends on it is then stale no more on its account.`,
		Args:              exactArgs(1, "one spec ID"),
		ValidArgsFunction: completeIDs(g, 1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.id, opts.bySet = args[0], c.Flags().Changed("by")
			return runAccept(opts)
		},
	}
	c.Flags().StringVar(&opts.by, "by", "", "who accepts (`NAME`; default: git config user.name)")
	c.Flags().StringVar(&opts.reason, "reason", "", "why it stands (`TEXT`)")
	return c
}

func runAccept(opts *decideOptions) error {
	_, target, now, err := opts.decider("name")
	if err != nil {
		return err
	}
	acc, err := runner.Accept(target, opts.id, opts.by, opts.reason, now)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.stdout, "Accepted %s as it stands, by %s (commit %s). What it is built on is recorded anew; it was stale because:\n", acc.Spec.ID, opts.by, acc.Commit)
	for _, c := range acc.Changes {
		fmt.Fprintf(opts.stdout, "  %s\n", c)
	}
	return nil
}
