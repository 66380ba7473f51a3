package provenance

import (
	"slices"
	"strings"
	"testing"

	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/builton"
)

// The verdicts cache's key (of the completed specs with records) changes
// with every input it sums, whatever the order of the specs, a string longer than what key gathers at a time
// included.
func TestVerdictsKeySeesEveryInput(t *testing.T) {
	_, dir := fixture(t)
	o := open(t, dir)
	head, _ := o.repo.ReadHead()
	c := NewChecker(o.w, o.repo, head.Commit)
	down := o.set.Get("down")
	if down.BuiltOn == nil || len(down.BuiltOn.Deps) == 0 || len(down.BuiltOn.Context) == 0 {
		t.Fatalf("the fixture's record: %+v", down.BuiltOn)
	}
	long := strings.Repeat("p", 200<<10)
	key := func(edit func(s *spec.Spec)) uint64 {
		s := spec.Spec{ID: down.ID, Fields: down.Fields}
		r := *down.BuiltOn
		r.Context = slices.Clone(r.Context)
		r.Deps = slices.Clone(r.Deps)
		r.Deps[0].Files = slices.Clone(r.Deps[0].Files)
		s.BuiltOn = &r
		s.Context = slices.Clone(s.Context)
		if edit != nil {
			edit(&s)
		}
		return c.key([]*spec.Spec{&s})
	}
	base := key(nil)
	other := spec.Spec{ID: "other", Fields: down.Fields}
	if c.key([]*spec.Spec{&other, down}) != c.key([]*spec.Spec{down, &other}) {
		t.Error("the key depends on the order of the specs")
	}
	edits := map[string]func(s *spec.Spec){
		"ID":              func(s *spec.Spec) { s.ID = "down2" },
		"prompt":          func(s *spec.Spec) { s.Prompt = "other" },
		"context":         func(s *spec.Spec) { s.Context = append(s.Context, "more.md") },
		"recorded spec":   func(s *spec.Spec) { s.BuiltOn.Spec = "x" },
		"recorded prompt": func(s *spec.Spec) { s.BuiltOn.Prompt = "x" },
		"recorded agent":  func(s *spec.Spec) { s.BuiltOn.Agent = "x" },
		"a recorded path": func(s *spec.Spec) { s.BuiltOn.Context[0].Path += "x" },
		"a recorded hash": func(s *spec.Spec) { s.BuiltOn.Context[0].Hash = "none" },
		"a recorded file more": func(s *spec.Spec) {
			s.BuiltOn.Context = append(s.BuiltOn.Context, builton.Blob{Path: "z", Hash: "none"})
		},
		"a dependency's ID":   func(s *spec.Spec) { s.BuiltOn.Deps[0].ID = "other" },
		"a dependency's file": func(s *spec.Spec) { s.BuiltOn.Deps[0].Files[0].Hash = "none" },
		"a long path":         func(s *spec.Spec) { s.BuiltOn.Context[0].Path = long },
		"a separator moved": func(s *spec.Spec) {
			s.BuiltOn.Prompt, s.BuiltOn.Agent = s.BuiltOn.Prompt+s.BuiltOn.Agent[:1], s.BuiltOn.Agent[1:]
		},
	}
	seen := map[uint64]string{base: "nothing"}
	for name, edit := range edits {
		k := key(edit)
		if other, ok := seen[k]; ok {
			t.Errorf("changing %s gives the key of changing %s", name, other)
		}
		seen[k] = name
	}
	longAnd := func(edit func(s *spec.Spec)) uint64 {
		return key(func(s *spec.Spec) { edits["a long path"](s); edit(s) })
	}
	if longAnd(func(s *spec.Spec) { s.BuiltOn.Context[0].Path += "x" }) == key(edits["a long path"]) {
		t.Error("a change at the end of a long path is not seen")
	}
	if longAnd(edits["prompt"]) == key(edits["a long path"]) || longAnd(edits["a dependency's file"]) == key(edits["a long path"]) {
		t.Error("a change before or after a long path is not seen")
	}
	c.agent += "x"
	if key(nil) == base {
		t.Error("the agent's change is not seen")
	}
}
