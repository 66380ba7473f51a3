package plan

import (
	"fmt"

	"github.com/chant-run/chant/internal/graph"
	"github.com/chant-run/chant/internal/words"
	"github.com/chant-run/chant/spec"
)

// Graph is the graph of the specs (archived ones with all): an edge from
// each dependency to what depends on it, a dashed one from a driver to
// each member.
func Graph(set *spec.Set, states map[string]*State, all bool) *graph.Graph {
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
func dagClass(k Kind) string {
	switch k {
	case KindCompleted, KindArchived:
		return "done"
	case KindFailed, KindInvalid:
		return "failed"
	case KindRunning, KindInterrupted:
		return "running"
	case KindAwaiting, KindRejected, KindExpired:
		return "gate"
	case KindReady:
		return "ready"
	case KindStale:
		return "stale"
	}
	return "waiting"
}

// dagLabel is a node's text: ID, title, and where it stands.
func dagLabel(st *State) string {
	state := st.Word()
	switch st.Kind {
	case KindAwaiting, KindRejected, KindExpired, KindFailed, KindBlocked, KindStale:
		state += ", " + st.Why()
	case KindInvalid:
		state += ", " + words.Plural(len(st.Errors()), "problem")
	}
	return fmt.Sprintf("%s: %s (%s)", st.Spec.ID, st.Spec.Title, state)
}
