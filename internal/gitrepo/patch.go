package gitrepo

import (
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
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
