package graph

import (
	"strings"
	"testing"
)

func sample() *Graph {
	return &Graph{
		Nodes: []Node{{ID: "a", Label: `a: "Fix" <#42>`, Class: "done"}, {ID: "b", Label: "b: next", Class: "ready"}},
		Edges: []Edge{{From: "a", To: "b"}, {From: "a", To: "b", Dashed: true}},
	}
}

// Labels are escaped for each format, so that a title cannot break the
// graph; dashed edges are drawn so.
func TestFormats(t *testing.T) {
	var m, d, j strings.Builder
	sample().Mermaid(&m)
	for _, want := range []string{"flowchart TD\n", `s0["a: #quot;Fix#quot; #lt;#35;42#gt;"]:::done`, "s0 --> s1", "s0 -.-> s1", "classDef ready fill:#bbdefb"} {
		if !strings.Contains(m.String(), want) {
			t.Errorf("mermaid lacks %q:\n%s", want, m.String())
		}
	}
	sample().DOT(&d)
	for _, want := range []string{`"a" [label="a: \"Fix\" <#42>", fillcolor="#c8e6c9"];`, `"a" -> "b";`, `"a" -> "b" [style=dashed];`} {
		if !strings.Contains(d.String(), want) {
			t.Errorf("dot lacks %q:\n%s", want, d.String())
		}
	}
	if err := sample().JSON(&j); err != nil {
		t.Fatal(err)
	}
	want := `{"nodes":[{"id":"a","label":"a: \"Fix\" <#42>","class":"done"},{"id":"b","label":"b: next","class":"ready"}],"edges":[{"from":"a","to":"b"},{"from":"a","to":"b","dashed":true}]}` + "\n"
	if j.String() != want {
		t.Errorf("json:\n%s\nwant\n%s", j.String(), want)
	}
	var empty strings.Builder
	(&Graph{}).JSON(&empty)
	if empty.String() != `{"nodes":[],"edges":[]}`+"\n" {
		t.Errorf("empty graph: %s", empty.String())
	}
}
