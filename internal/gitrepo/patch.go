package gitrepo

import (
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	fdiff "github.com/go-git/go-git/v5/plumbing/format/diff"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Patch is the difference between two commits as git shows it: the
// diffstat, and the unified diff.
func (r *Repo) Patch(from, to plumbing.Hash) (stat, diff string, err error) {
	trees := make([]*object.Tree, 2)
	for i, h := range []plumbing.Hash{from, to} {
		c, err := r.repo.CommitObject(h)
		if err != nil {
			return "", "", fmt.Errorf("commit %s: %w", Short(h.String()), err)
		}
		if trees[i], err = c.Tree(); err != nil {
			return "", "", fmt.Errorf("commit %s: %w", Short(h.String()), err)
		}
	}
	p, err := trees[0].Patch(trees[1])
	if err != nil {
		return "", "", err
	}
	return p.Stats().String(), p.String(), nil
}

// CommitInfo is what chant reads of a commit besides its tree.
type CommitInfo struct {
	Message string
	Parents []plumbing.Hash
}

// CommitInfo reads a commit's message and parents.
func (r *Repo) CommitInfo(h plumbing.Hash) (CommitInfo, error) {
	c, err := r.repo.CommitObject(h)
	if err != nil {
		return CommitInfo{}, fmt.Errorf("commit %s: %w", Short(h.String()), err)
	}
	return CommitInfo{Message: c.Message, Parents: c.ParentHashes}, nil
}

// PatchOf is the unified diff between two commits of the given paths
// only (files, or directories and what is under them), and the paths that
// differ.
func (r *Repo) PatchOf(from, to plumbing.Hash, paths []string) (diff string, changed []string, err error) {
	trees := make([]*object.Tree, 2)
	for i, h := range []plumbing.Hash{from, to} {
		c, err := r.repo.CommitObject(h)
		if err != nil {
			return "", nil, fmt.Errorf("commit %s: %w", Short(h.String()), err)
		}
		if trees[i], err = c.Tree(); err != nil {
			return "", nil, err
		}
	}
	p, err := trees[0].Patch(trees[1])
	if err != nil {
		return "", nil, err
	}
	in := func(path string) bool {
		for _, q := range paths {
			if path == q || strings.HasPrefix(path, q+"/") {
				return true
			}
		}
		return false
	}
	kept := filePatches{}
	for _, fp := range p.FilePatches() {
		f, t := fp.Files()
		name := ""
		if t != nil {
			name = t.Path()
		} else if f != nil {
			name = f.Path()
		}
		if in(name) {
			kept = append(kept, fp)
			changed = append(changed, name)
		}
	}
	var b strings.Builder
	if err := fdiff.NewUnifiedEncoder(&b, fdiff.DefaultContextLines).Encode(kept); err != nil {
		return "", nil, err
	}
	return b.String(), changed, nil
}

// filePatches is a patch of some of a patch's files.
type filePatches []fdiff.FilePatch

func (f filePatches) FilePatches() []fdiff.FilePatch { return f }
func (f filePatches) Message() string                { return "" }
