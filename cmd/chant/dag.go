package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/chant-run/chant/internal/clihelp"
	"github.com/chant-run/chant/internal/heapgoal"
	"github.com/chant-run/chant/runner/plan"
	"github.com/chant-run/chant/spec/store"
)

type dagOptions struct {
	*globals
	format string
	json   bool
	all    bool
}

func newDagCmd(g *globals) *cobra.Command {
	opts := &dagOptions{globals: g}
	c := &cobra.Command{
		Use:   "dag",
		Short: "Draw the dependency graph (Mermaid or Graphviz DOT), with status",
		Long: `Print the dependency graph of the specs, each node labelled with its ID,
title and status, in Mermaid (default; paste it into any Markdown that renders
Mermaid), Graphviz DOT (dot -Tsvg) or JSON (--json: nodes with ID, label
and class, edges from and to). An arrow a → b means a runs before b.
Members hang off their driver with a dotted arrow.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, args []string) error { return runDag(opts) },
	}
	c.Flags().StringVar(&opts.format, "format", "mermaid", "`mermaid`, dot or json (nodes with their class, edges)")
	c.Flags().BoolVar(&opts.json, "json", false, "the same as --format json")
	c.Flags().BoolVar(&opts.all, "all", false, "include archived specs")
	return clihelp.ReadOnly(c)
}

func runDag(opts *dagOptions) error {
	heapgoal.Listing()
	if opts.json {
		opts.format = "json"
	}
	if opts.format != "mermaid" && opts.format != "dot" && opts.format != "json" {
		return usage(fmt.Errorf("dag: --format %q: want mermaid, dot or json", opts.format))
	}
	target, err := opts.target()
	if err != nil {
		return err
	}
	set, err := store.List(target)
	if err != nil {
		return err
	}
	a, err := plan.Assess(target, set, time.Now(), plan.AssessOptions{})
	if err != nil {
		return err
	}
	g := plan.Graph(set, a.States, opts.all)
	switch opts.format {
	case "dot":
		g.DOT(opts.stdout)
	case "json":
		return g.JSON(opts.stdout)
	default:
		g.Mermaid(opts.stdout)
	}
	return nil
}
