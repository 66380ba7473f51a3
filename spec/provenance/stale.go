package provenance

import (
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/builton"
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
// one commit of the branch (its Tree, read when first needed).
type Checker struct {
	W    *spec.Workspace
	Repo *gitrepo.Repo
	Head plumbing.Hash
	// lazily: the tree, each prompt's record, each path's last change, the
	// branch's first-parent line
	tree    *Tree
	agent   string
	prompts map[string]string
	changed map[string]string
	history []plumbing.Hash
	walked  bool
}

// NewChecker checks against the commit head of repo.
func NewChecker(w *spec.Workspace, repo *gitrepo.Repo, head plumbing.Hash) *Checker {
	return &Checker{W: w, Repo: repo, Head: head, agent: AgentHash(w.Config), prompts: map[string]string{}, changed: map[string]string{}}
}

// Tree is the tree of the commit checked against.
func (c *Checker) Tree() (*Tree, error) {
	if c.tree == nil {
		t, err := NewTree(c.W, c.Repo, c.Head)
		if err != nil {
			return nil, err
		}
		c.tree = t
	}
	return c.tree, nil
}

// Changes lists what differs between what s was built on and the branch
// now, in the order of BuiltOn's fields; nil for a spec that records
// nothing (completed before chant recorded it, or by another tool).
func (c *Checker) Changes(s *spec.Spec) ([]Change, error) {
	if s.BuiltOn == nil {
		return nil, nil
	}
	b := s.BuiltOn.Record()
	tree, err := c.Tree()
	if err != nil {
		return nil, err
	}
	var out []Change
	if own := s.OwnHash(); own != b.Spec {
		out = append(out, Change{Input: "spec", Path: c.W.Rel(c.W.SpecPath(s.ID)), Was: b.Spec, Now: own})
	}
	name := spec.PromptName(c.W.Config, s, "")
	prompt, ok := c.prompts[name]
	if !ok {
		if prompt, err = tree.prompt(c.W, name); err != nil {
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
		changes, err := c.files(recorded(b, key), patterns)
		if err != nil {
			return nil, err
		}
		for _, ch := range changes {
			ch.Input = key
			out = append(out, ch)
		}
	}
	for _, d := range b.Deps {
		for _, f := range d.Files {
			now, err := tree.Blob(f.Path)
			if err != nil {
				return nil, err
			}
			if now != f.Hash {
				out = append(out, Change{Input: "dependency", Dep: d.ID, Path: f.Path, Was: f.Hash, Now: now})
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

// files lists what differs between the files recorded and what patterns
// match in the tree now. Where every pattern is a plain path that was
// recorded (as a rule), each is one lookup.
func (c *Checker) files(was builton.Blobs, patterns []string) ([]Change, error) {
	plain := len(was) == len(patterns)
	for _, p := range patterns {
		if _, ok := was.Get(p); !ok || strings.ContainsAny(p, `*?[\`) {
			plain = false
			break
		}
	}
	var out []Change
	if plain {
		for _, f := range was {
			now, err := c.tree.Blob(f.Path)
			if err != nil {
				return nil, err
			}
			if now != f.Hash {
				out = append(out, Change{Path: f.Path, Was: f.Hash, Now: now})
			}
		}
		return out, nil
	}
	now := map[string]string{}
	for _, p := range patterns {
		if err := c.tree.matchInto(now, p); err != nil {
			return nil, err
		}
	}
	for _, f := range was {
		n, ok := now[f.Path]
		if !ok {
			n = None
		}
		if n != f.Hash {
			out = append(out, Change{Path: f.Path, Was: f.Hash, Now: n})
		}
	}
	for _, f := range builton.FromMap(now) {
		if _, ok := was.Get(f.Path); !ok && f.Hash != None {
			out = append(out, Change{Path: f.Path, Was: None, Now: f.Hash})
		}
	}
	return out, nil
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
	repo, rel := c.tree.Repo, c.tree.Paths.Of(p)
	if !c.walked {
		c.history, _, _ = repo.FirstParents(c.tree.Commit, plumbing.ZeroHash, historyLimit)
		c.walked = true
	}
	if commits := c.history; len(commits) > 0 {
		cur, _ := repo.FileAt(c.tree.Commit, rel)
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
