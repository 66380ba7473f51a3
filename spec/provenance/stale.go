package provenance

import (
	"fmt"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/doc"
)

// Change is one input of a spec that differs from what its phase was
// built on.
type Change struct {
	// Input is what changed: "spec", "prompt", "agent", a file key
	// ("context", "informed_by", "tracks", "origin") or "dependency".
	Input string
	Dep   string // the dependency, for "dependency"
	Path  string // the file, for a file or a dependency's target
	// Was and Now are the recorded and present values (None: no file).
	Was, Now string
	// Commit is the last commit that changed the file ("": not found, or
	// not a file of the branch).
	Commit string
}

// String says what changed, in words.
func (c Change) String() string {
	in := ""
	if c.Commit != "" {
		in = " in " + gitrepo.Short(c.Commit)
	}
	what := "changed"
	switch {
	case c.Now == None:
		what = "was removed"
	case c.Was == None:
		what = "was added"
	}
	switch c.Input {
	case "spec":
		return "its spec changed" + in
	case "prompt":
		now, _, _ := strings.Cut(c.Now, " ")
		if was, _, _ := strings.Cut(c.Was, " "); was != now {
			return fmt.Sprintf("its prompt template is %s now (it ran with %s)", now, was)
		}
		return fmt.Sprintf("its prompt template %s changed%s", c.Path, in)
	case "agent":
		return "the agent configuration changed" + in
	case "dependency":
		return fmt.Sprintf("%s's target %s %s%s", c.Dep, c.Path, what, in)
	}
	return fmt.Sprintf("%s %s %s%s", c.Input, c.Path, what, in)
}

// Checker tells what changed in the inputs of completed specs, against
// one commit of the branch (its Tree).
type Checker struct {
	W    *spec.Workspace
	Set  *spec.Set
	Tree *Tree
	// lazily: the agent's hash now, each prompt's, each path's last
	// change, the branch's first-parent line
	agent   string
	prompts map[string]string
	changed map[string]string
	history []plumbing.Hash
	walked  bool
}

// NewChecker checks against the commit head of repo.
func NewChecker(w *spec.Workspace, set *spec.Set, repo *gitrepo.Repo, head plumbing.Hash) (*Checker, error) {
	t, err := NewTree(w, repo, head)
	if err != nil {
		return nil, err
	}
	return &Checker{W: w, Set: set, Tree: t, agent: AgentHash(w.Config), prompts: map[string]string{}, changed: map[string]string{}}, nil
}

// Changes lists what differs between what s was built on and the branch
// now, in the order of BuiltOn's fields; nil for a spec that records
// nothing (completed before chant recorded it, or by another tool).
func (c *Checker) Changes(s *spec.Spec) ([]Change, error) {
	b := s.BuiltOn
	if b == nil {
		return nil, nil
	}
	var out []Change
	if own := s.OwnHash(); own != b.Spec {
		out = append(out, Change{Input: "spec", Path: c.W.Rel(c.W.SpecPath(s.ID)), Was: b.Spec, Now: own})
	}
	name := spec.PromptName(c.W.Config, s, "")
	prompt, ok := c.prompts[name]
	if !ok {
		var err error
		if prompt, err = c.Tree.prompt(c.W, name); err != nil {
			return nil, err
		}
		c.prompts[name] = prompt
	}
	if prompt != b.Prompt {
		out = append(out, Change{Input: "prompt", Path: c.W.Rel(c.W.PromptPath(name)), Was: b.Prompt, Now: prompt})
	}
	if c.agent != b.Agent {
		out = append(out, Change{Input: "agent", Path: doc.DisplayPath(c.W.Rel(c.W.Config.Path)), Was: b.Agent, Now: c.agent})
	}
	for _, kv := range fileFields(s) {
		key, patterns := kv[0].(string), kv[1].([]string)
		now := map[string]string{}
		for _, p := range patterns {
			if err := c.Tree.matchInto(now, p); err != nil {
				return nil, err
			}
		}
		for _, ch := range diff(recorded(b, key), now) {
			ch.Input = key
			out = append(out, ch)
		}
	}
	deps := make([]string, 0, len(b.Deps))
	for id := range b.Deps {
		deps = append(deps, id)
	}
	sort.Strings(deps)
	for _, id := range deps {
		for p, was := range sorted(b.Deps[id]) {
			now, err := c.Tree.Blob(p)
			if err != nil {
				return nil, err
			}
			if now != was {
				out = append(out, Change{Input: "dependency", Dep: id, Path: p, Was: was, Now: now})
			}
		}
	}
	for i := range out {
		if out[i].Path != "" {
			out[i].Commit = c.lastChange(out[i].Path)
		}
	}
	return out, nil
}

// diff lists the files whose recorded blob differs from now, and those
// matched now and not recorded, by path.
func diff(was, now map[string]string) []Change {
	var out []Change
	for p, w := range sorted(was) {
		n, ok := now[p]
		if !ok {
			n = None
		}
		if n != w {
			out = append(out, Change{Path: p, Was: w, Now: n})
		}
	}
	for p, n := range sorted(now) {
		if _, ok := was[p]; !ok && n != None {
			out = append(out, Change{Path: p, Was: None, Now: n})
		}
	}
	return out
}

// sorted iterates a map by key.
func sorted(m map[string]string) func(func(string, string) bool) {
	return func(yield func(string, string) bool) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !yield(k, m[k]) {
				return
			}
		}
	}
}

// historyLimit bounds how far back the last change of a file is looked for.
const historyLimit = 2000

// lastChange is the newest commit on the branch's first-parent line that
// changed the file at workspace path p, or "" if none within reach.
func (c *Checker) lastChange(p string) string {
	if h, ok := c.changed[p]; ok {
		return h
	}
	found := ""
	repo, rel := c.Tree.Repo, c.Tree.Paths.Of(p)
	if !c.walked {
		c.history, _, _ = repo.FirstParents(c.Tree.Commit, plumbing.ZeroHash, historyLimit)
		c.walked = true
	}
	if commits := c.history; len(commits) > 0 {
		cur, _ := repo.FileAt(c.Tree.Commit, rel)
		for i, h := range commits {
			var prev gitrepo.File
			if i+1 < len(commits) {
				prev, _ = repo.FileAt(commits[i+1], rel)
			} else if info, err := repo.CommitInfo(h); err != nil || len(info.Parents) > 0 {
				break // beyond the limit: unknown
			}
			if prev != cur {
				found = h.String()
				break
			}
		}
	}
	c.changed[p] = found
	return found
}
