package provenance

import (
	"fmt"
	"sort"

	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/builton"
	"github.com/chant-run/chant/spec/doc"
)

// Given is what a phase of a spec was given, to record: its contract as
// read at its start, and the tree of the commit its worktree was made
// from (its dependencies' work, the files it follows).
type Given struct {
	Contract *spec.Contract
	Base     *Tree
	// Approval is the commit a gate's approval was given at ("": none).
	Approval string
}

// Record is what the phase was built on. Context and informed_by files
// are recorded as the agent was given them; the rest as the base holds it.
func Record(w *spec.Workspace, set *spec.Set, g Given) (*builton.Record, error) {
	c := g.Contract
	s := c.Spec
	b := &builton.Record{Spec: s.OwnHash(), Prompt: PromptOf(c.PromptName, c.Template), Agent: AgentHash(w.Config), Approval: g.Approval}
	given := map[string]string{}
	for _, f := range c.Inputs {
		if f.Missing {
			given[f.Path] = None
		} else {
			given[f.Path] = BlobOf(f.Data)
		}
	}
	for _, kv := range fileFields(s) {
		key, patterns := kv[0].(string), kv[1].([]string)
		m := map[string]string{}
		for _, p := range patterns {
			if key == "context" || key == "informed_by" {
				for _, f := range c.Inputs {
					if f.Pattern == p {
						m[f.Path] = given[f.Path]
					}
				}
				continue
			}
			if err := g.Base.matchInto(m, p); err != nil {
				return nil, err
			}
		}
		setRecorded(b, key, m)
	}
	deps, err := g.Base.deps(set, s)
	if err != nil {
		return nil, err
	}
	b.Deps = deps
	return b, nil
}

// Current is what s would record if it ran on tree now: chant accept
// records it.
func Current(w *spec.Workspace, set *spec.Set, s *spec.Spec, t *Tree) (*builton.Record, error) {
	prompt, err := t.prompt(w, spec.PromptName(w.Config, s, ""))
	if err != nil {
		return nil, err
	}
	b := &builton.Record{Spec: s.OwnHash(), Prompt: prompt, Agent: AgentHash(w.Config)}
	if s.BuiltOn != nil {
		b.Approval = s.BuiltOn.Record().Approval
	}
	for _, kv := range fileFields(s) {
		m := map[string]string{}
		for _, p := range kv[1].([]string) {
			if err := t.matchInto(m, p); err != nil {
				return nil, err
			}
		}
		setRecorded(b, kv[0].(string), m)
	}
	if b.Deps, err = t.deps(set, s); err != nil {
		return nil, err
	}
	return b, nil
}

// matchInto records what pattern matches in the tree into m.
func (t *Tree) matchInto(m map[string]string, pattern string) error {
	paths, err := t.Match(pattern)
	if err != nil {
		return err
	}
	for _, p := range paths {
		if m[p], err = t.Blob(p); err != nil {
			return err
		}
	}
	if len(paths) == 0 {
		m[pattern] = None
	}
	return nil
}

// deps records the target files of each spec s waits on (its graph's
// edges: its dependencies, a member's prior siblings, a driver's members),
// as the tree holds them.
func (t *Tree) deps(set *spec.Set, s *spec.Spec) (builton.Deps, error) {
	var out builton.Deps
	for _, id := range set.Edges(s) {
		d := set.Get(id)
		if d == nil {
			continue
		}
		m := map[string]string{}
		for _, p := range d.TargetFiles {
			if err := t.matchInto(m, p); err != nil {
				return nil, fmt.Errorf("%s's target files: %w", id, err)
			}
		}
		if len(m) > 0 {
			out = append(out, builton.Dep{ID: id, Files: builton.FromMap(m)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Outputs records the target files of s at its work commit: those the
// phase wrote (by repository path: content) and the rest as the base
// holds them.
func Outputs(s *spec.Spec, base *Tree, written map[string][]byte) (builton.Blobs, error) {
	out := map[string]string{}
	for _, p := range s.TargetFiles {
		if data, ok := written[base.Paths.Of(p)]; ok {
			out[p] = BlobOf(data)
			continue
		}
		b, err := base.Blob(p)
		if err != nil {
			return nil, err
		}
		out[p] = b
	}
	if len(out) == 0 {
		return nil, nil
	}
	return builton.FromMap(out), nil
}

// KV is b as the frontmatter holds it.
func KV(b *builton.Record) []doc.KV {
	out := []doc.KV{{Key: "spec", Value: b.Spec}, {Key: "prompt", Value: b.Prompt}, {Key: "agent", Value: b.Agent}}
	if b.Approval != "" {
		out = append(out, doc.KV{Key: "approval", Value: b.Approval})
	}
	for _, f := range []struct {
		key   string
		files builton.Blobs
	}{{"context", b.Context}, {"informed_by", b.InformedBy}, {"tracks", b.Tracks}, {"origin", b.Origin}} {
		if len(f.files) > 0 {
			out = append(out, doc.KV{Key: f.key, Value: BlobsKV(f.files)})
		}
	}
	var deps []doc.KV
	for _, d := range b.Deps {
		if len(d.Files) > 0 {
			deps = append(deps, doc.KV{Key: d.ID, Value: BlobsKV(d.Files)})
		}
	}
	if len(deps) > 0 {
		out = append(out, doc.KV{Key: "deps", Value: deps})
	}
	return out
}

// BlobsKV is a record of files as the frontmatter holds it, by path.
func BlobsKV(files builton.Blobs) []doc.KV {
	out := make([]doc.KV, len(files))
	for i, f := range files {
		out[i] = doc.KV{Key: f.Path, Value: f.Hash}
	}
	return out
}
