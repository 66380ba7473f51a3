package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/chant-run/chant/fixture"
	"github.com/chant-run/chant/internal/graph"
	"github.com/chant-run/chant/runner/plan"
	"github.com/chant-run/chant/spec"
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
	return c
}

func runDag(opts *dagOptions) error {
	listingMemory()
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
	a, err := plan.Assess(target, set, time.Now(), plan.AssessOptions{Bundles: fixture.Recordings})
	if err != nil {
		return err
	}
	g := dagOf(set, a.States, opts.all)
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

// dagOf is the graph of the specs (archived ones with all): an edge from
// each dependency to what depends on it, a dashed one from a driver to
// each member.
func dagOf(set *spec.Set, states map[string]*plan.State, all bool) *graph.Graph {
	g := &graph.Graph{}
	shown := map[string]bool{}
	var nodes []*spec.Spec
	for _, s := range set.Order() {
		if !s.Archived || all {
			nodes = append(nodes, s)
			shown[s.ID] = true
		}
	}
	for _, s := range nodes {
		st := states[s.ID]
		g.Nodes = append(g.Nodes, graph.Node{ID: s.ID, Label: dagLabel(st), Class: dagClass(st.Kind)})
		for _, dep := range s.DependsOn {
			if shown[dep] && dep != spec.DriverOf(s.ID) {
				g.Edges = append(g.Edges, graph.Edge{From: dep, To: s.ID})
			}
		}
		for _, m := range set.MembersOf(s) {
			if shown[m] {
				g.Edges = append(g.Edges, graph.Edge{From: s.ID, To: m, Dashed: true})
			}
		}
	}
	return g
}

// dagClass is a node's class (graph.Classes) for where its spec stands.
func dagClass(k plan.Kind) string {
	switch k {
	case plan.KindCompleted, plan.KindArchived:
		return "done"
	case plan.KindFailed, plan.KindInvalid:
		return "failed"
	case plan.KindRunning, plan.KindInterrupted:
		return "running"
	case plan.KindAwaiting, plan.KindRejected, plan.KindExpired:
		return "gate"
	case plan.KindReady:
		return "ready"
	}
	return "waiting"
}

// dagLabel is a node's text: ID, title, and where it stands.
func dagLabel(st *plan.State) string {
	state := statusWord(st)
	switch st.Kind {
	case plan.KindAwaiting, plan.KindRejected, plan.KindExpired, plan.KindFailed, plan.KindBlocked:
		state += ", " + why(st)
	case plan.KindInvalid:
		state += ", " + plural(len(st.Errors()), "problem")
	}
	return fmt.Sprintf("%s: %s (%s)", st.Spec.ID, st.Spec.Title, state)
}
