package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chant-run/chant/fixture"
	"github.com/chant-run/chant/runner/plan"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/store"
)

type dagOptions struct {
	*globals
	format string
	all    bool
}

func newDagCmd(g *globals) *cobra.Command {
	opts := &dagOptions{globals: g}
	c := &cobra.Command{
		Use:   "dag",
		Short: "Draw the dependency graph (Mermaid or Graphviz DOT), with status",
		Long: `Print the dependency graph of the specs, each node labelled with its ID,
title and status, in Mermaid (default; paste it into any Markdown that renders
Mermaid) or Graphviz DOT (dot -Tsvg). An arrow a → b means a runs before b.
Members hang off their driver with a dotted arrow.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, args []string) error { return runDag(opts) },
	}
	c.Flags().StringVar(&opts.format, "format", "mermaid", "`mermaid` or dot")
	c.Flags().BoolVar(&opts.all, "all", false, "include archived specs")
	return c
}

func runDag(opts *dagOptions) error {
	listingMemory()
	if opts.format != "mermaid" && opts.format != "dot" {
		return &usageError{fmt.Errorf("dag: --format %q: want mermaid or dot", opts.format)}
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
	var nodes []*spec.Spec
	shown := map[string]bool{}
	for _, s := range set.Order() {
		if !s.Archived || opts.all {
			nodes = append(nodes, s)
			shown[s.ID] = true
		}
	}
	g := graph{set: set, nodes: nodes, shown: shown, states: a.States}
	if opts.format == "dot" {
		g.dot(opts.stdout)
	} else {
		g.mermaid(opts.stdout)
	}
	return nil
}

type graph struct {
	set    *spec.Set
	nodes  []*spec.Spec
	shown  map[string]bool
	states map[string]*plan.State
}

// class is the node's state for styling: done, ready, gate, failed,
// running, waiting.
func (g graph) class(s *spec.Spec) string {
	switch g.states[s.ID].Kind {
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

// label is the node's text: ID, title, and where it stands.
func (g graph) label(s *spec.Spec) string {
	st := g.states[s.ID]
	state := statusWord(st)
	switch st.Kind {
	case plan.KindAwaiting, plan.KindRejected, plan.KindExpired, plan.KindFailed, plan.KindBlocked:
		state += ", " + why(st)
	case plan.KindInvalid:
		state += ", " + plural(len(st.Errors()), "problem")
	}
	return fmt.Sprintf("%s: %s (%s)", s.ID, s.Title, state)
}

// edges calls fn for each dependency edge (dep runs before s) and each
// driver-member edge.
func (g graph) edges(fn func(from, to string, member bool)) {
	for _, s := range g.nodes {
		for _, dep := range s.DependsOn {
			if g.shown[dep] && dep != spec.DriverOf(s.ID) {
				fn(dep, s.ID, false)
			}
		}
		for _, m := range g.set.MembersOf(s) {
			if g.shown[m] {
				fn(s.ID, m, true)
			}
		}
	}
}

var dagColors = map[string]string{
	"done": "#c8e6c9", "ready": "#bbdefb", "gate": "#f8bbd0", "failed": "#ffcdd2", "running": "#fff9c4", "waiting": "#eeeeee",
}

func (g graph) mermaid(w io.Writer) {
	fmt.Fprintln(w, "flowchart TD")
	ids := map[string]string{}
	for i, s := range g.nodes {
		ids[s.ID] = fmt.Sprintf("s%d", i)
		fmt.Fprintf(w, "    %s[\"%s\"]:::%s\n", ids[s.ID], mermaidText(g.label(s)), g.class(s))
	}
	g.edges(func(from, to string, member bool) {
		arrow := "-->"
		if member {
			arrow = "-.->"
		}
		fmt.Fprintf(w, "    %s %s %s\n", ids[from], arrow, ids[to])
	})
	for _, c := range []string{"done", "ready", "gate", "failed", "running", "waiting"} {
		fmt.Fprintf(w, "    classDef %s fill:%s,stroke:#555\n", c, dagColors[c])
	}
}

var mermaidEscapes = strings.NewReplacer("#", "#35;", `"`, "#quot;", "<", "#lt;", ">", "#gt;")

func mermaidText(s string) string { return mermaidEscapes.Replace(s) }

func (g graph) dot(w io.Writer) {
	fmt.Fprintln(w, "digraph specs {")
	fmt.Fprintln(w, "    rankdir=TB;")
	fmt.Fprintln(w, "    node [shape=box, style=\"rounded,filled\", fontname=\"sans-serif\"];")
	for _, s := range g.nodes {
		fmt.Fprintf(w, "    %q [label=%q, fillcolor=%q];\n", s.ID, g.label(s), dagColors[g.class(s)])
	}
	g.edges(func(from, to string, member bool) {
		if member {
			fmt.Fprintf(w, "    %q -> %q [style=dashed];\n", from, to)
		} else {
			fmt.Fprintf(w, "    %q -> %q;\n", from, to)
		}
	})
	fmt.Fprintln(w, "}")
}
