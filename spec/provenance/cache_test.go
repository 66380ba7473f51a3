package provenance

import (
	"bytes"
	"encoding/gob"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chant-run/chant/internal/testgit"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/builton"
)

// The verdicts cache's key (of the completed specs with records) changes
// with every input it sums, whatever the order of the specs, a string
// longer than what key gathers at a time included.
func TestVerdictsKeySeesEveryInput(t *testing.T) {
	_, dir := fixture(t)
	o := open(t, dir)
	head, _ := o.repo.ReadHead()
	c := NewChecker(o.w, o.repo, head.Commit)
	down := o.set.Get("down")
	if down.BuiltOn == nil || len(down.BuiltOn.Record().Deps) == 0 || len(down.BuiltOn.Record().Context) == 0 {
		t.Fatalf("the fixture's record: %+v", down.BuiltOn)
	}
	long := strings.Repeat("p", 200<<10)
	type edit func(s *spec.Spec, r *builton.Record)
	key := func(e edit) uint64 {
		s := spec.Spec{ID: down.ID, Fields: down.Fields}
		r := *down.BuiltOn.Record()
		r.Context = slices.Clone(r.Context)
		r.Deps = slices.Clone(r.Deps)
		r.Deps[0].Files = slices.Clone(r.Deps[0].Files)
		s.Context = slices.Clone(s.Context)
		if e != nil {
			e(&s, &r)
		}
		s.BuiltOn = builton.Keep(&r)
		return c.key([]*spec.Spec{&s})
	}
	base := key(nil)
	other := spec.Spec{ID: "other", Fields: down.Fields}
	if c.key([]*spec.Spec{&other, down}) != c.key([]*spec.Spec{down, &other}) {
		t.Error("the key depends on the order of the specs")
	}
	edits := map[string]edit{
		"ID":      func(s *spec.Spec, r *builton.Record) { s.ID = "down2" },
		"prompt":  func(s *spec.Spec, r *builton.Record) { s.Prompt = "other" },
		"context": func(s *spec.Spec, r *builton.Record) { s.Context = append(s.Context, "more.md") },
		"an input moved to the next list": func(s *spec.Spec, r *builton.Record) {
			s.InformedBy = append([]string{s.Context[len(s.Context)-1]}, s.InformedBy...)
			s.Context = s.Context[:len(s.Context)-1]
		},
		"recorded spec":   func(s *spec.Spec, r *builton.Record) { r.Spec = "x" },
		"recorded prompt": func(s *spec.Spec, r *builton.Record) { r.Prompt = "x" },
		"recorded agent":  func(s *spec.Spec, r *builton.Record) { r.Agent = "x" },
		"a recorded path": func(s *spec.Spec, r *builton.Record) { r.Context[0].Path += "x" },
		"a recorded hash": func(s *spec.Spec, r *builton.Record) { r.Context[0].Hash = "none" },
		"a recorded file more": func(s *spec.Spec, r *builton.Record) {
			r.Context = append(r.Context, builton.Blob{Path: "z", Hash: "none"})
		},
		"a dependency's ID":   func(s *spec.Spec, r *builton.Record) { r.Deps[0].ID = "other" },
		"a dependency's file": func(s *spec.Spec, r *builton.Record) { r.Deps[0].Files[0].Hash = "none" },
		"a long path":         func(s *spec.Spec, r *builton.Record) { r.Context[0].Path = long },
		"a separator moved": func(s *spec.Spec, r *builton.Record) {
			r.Prompt, r.Agent = r.Prompt+r.Agent[:1], r.Agent[1:]
		},
	}
	seen := map[uint64]string{base: "nothing"}
	for name, e := range edits {
		k := key(e)
		if other, ok := seen[k]; ok {
			t.Errorf("changing %s gives the key of changing %s", name, other)
		}
		seen[k] = name
	}
	longAnd := func(e edit) uint64 {
		return key(func(s *spec.Spec, r *builton.Record) { edits["a long path"](s, r); e(s, r) })
	}
	if longAnd(func(s *spec.Spec, r *builton.Record) { r.Context[0].Path += "x" }) == key(edits["a long path"]) {
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

// What All found is what the next All gives, from the cache: a line
// naming the commit and key, then the changes (none on a repository where
// nothing is stale); another commit is a miss.
func TestVerdictsCacheGivesWhatAllFound(t *testing.T) {
	_, dir := fixture(t)
	all := func() map[string][]Change {
		t.Helper()
		o := open(t, dir)
		head, _ := o.repo.ReadHead()
		got, err := NewChecker(o.w, o.repo, head.Commit).All([]*spec.Spec{o.set.Get("down")})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	path := filepath.Join(dir, ".git", "chant", "cache", "verdicts")
	if got := all(); len(got) != 0 {
		t.Fatalf("changes on a fresh fixture: %v", got)
	}
	if data, _ := os.ReadFile(path); !bytes.HasPrefix(data, []byte("chant verdicts ")) || bytes.Count(data, []byte("\n")) != 1 || !bytes.HasSuffix(data, []byte("\n")) {
		t.Fatalf("the cache of no changes: %q", data)
	}
	write(t, dir, "ctx.md", "other\n")
	testgit.Git(t, dir, "commit", "-qam", "ctx")
	found := all()
	if len(found["down"]) != 1 {
		t.Fatalf("changes after ctx.md changed: %v", found)
	}
	// Read from the cache: a change kept there is what the next All gives.
	data, _ := os.ReadFile(path)
	header, _, _ := bytes.Cut(data, []byte("\n"))
	var buf bytes.Buffer
	buf.Write(append(header, '\n'))
	gob.NewEncoder(&buf).Encode(map[string][]Change{"down": {{Input: "kept", Path: "p"}}})
	os.WriteFile(path, buf.Bytes(), 0o644)
	if got := all(); len(got["down"]) != 1 || got["down"][0].Input != "kept" {
		t.Fatalf("not from the cache: %v", got)
	}
	testgit.Git(t, dir, "commit", "-q", "--allow-empty", "-m", "next")
	if got := all(); len(got["down"]) != 1 || got["down"][0].Input != "context" {
		t.Fatalf("on another commit: %v", got)
	}
}
