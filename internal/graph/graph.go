// Package graph writes a directed graph of labelled, classed nodes as
// Mermaid, Graphviz DOT or JSON.
package graph

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Graph is nodes in order and edges between them.
type Graph struct {
	Nodes []Node `json:"nodes"`
	Edges []Edge `json:"edges"`
}

// Node is one node: its ID, its text, and its class, which gives its
// colour (Classes).
type Node struct {
	ID    string `json:"id"`
	Label string `json:"label"`
	Class string `json:"class"`
}

// Edge goes from one node to another; a dashed one is of another kind.
type Edge struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Dashed bool   `json:"dashed,omitempty"`
}

// Classes are the node classes and their fill colours, in the order they
// are declared.
var Classes = []struct{ Name, Fill string }{
	{"done", "#c8e6c9"}, {"ready", "#bbdefb"}, {"gate", "#f8bbd0"}, {"failed", "#ffcdd2"}, {"running", "#fff9c4"}, {"waiting", "#eeeeee"},
	{"stale", "#ffe0b2"},
}

func fill(class string) string {
	for _, c := range Classes {
		if c.Name == class {
			return c.Fill
		}
	}
	return "#ffffff"
}

// Mermaid writes g as a Mermaid flowchart.
func (g *Graph) Mermaid(w io.Writer) {
	fmt.Fprintln(w, "flowchart TD")
	ids := map[string]string{}
	for i, n := range g.Nodes {
		ids[n.ID] = fmt.Sprintf("s%d", i)
		fmt.Fprintf(w, "    %s[\"%s\"]:::%s\n", ids[n.ID], mermaidEscapes.Replace(n.Label), n.Class)
	}
	for _, e := range g.Edges {
		arrow := "-->"
		if e.Dashed {
			arrow = "-.->"
		}
		fmt.Fprintf(w, "    %s %s %s\n", ids[e.From], arrow, ids[e.To])
	}
	for _, c := range Classes {
		fmt.Fprintf(w, "    classDef %s fill:%s,stroke:#555\n", c.Name, c.Fill)
	}
}

var mermaidEscapes = strings.NewReplacer("#", "#35;", `"`, "#quot;", "<", "#lt;", ">", "#gt;")

// DOT writes g as a Graphviz digraph.
func (g *Graph) DOT(w io.Writer) {
	fmt.Fprintln(w, "digraph specs {")
	fmt.Fprintln(w, "    rankdir=TB;")
	fmt.Fprintln(w, "    node [shape=box, style=\"rounded,filled\", fontname=\"sans-serif\"];")
	for _, n := range g.Nodes {
		fmt.Fprintf(w, "    %q [label=%q, fillcolor=%q];\n", n.ID, n.Label, fill(n.Class))
	}
	for _, e := range g.Edges {
		if e.Dashed {
			fmt.Fprintf(w, "    %q -> %q [style=dashed];\n", e.From, e.To)
		} else {
			fmt.Fprintf(w, "    %q -> %q;\n", e.From, e.To)
		}
	}
	fmt.Fprintln(w, "}")
}

// JSON writes g as one JSON object.
func (g *Graph) JSON(w io.Writer) error {
	if g.Nodes == nil {
		g.Nodes = []Node{}
	}
	if g.Edges == nil {
		g.Edges = []Edge{}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(g)
}
