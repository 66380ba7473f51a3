package runner

import (
	"path/filepath"

	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/spec"
)

// repoRel is a path of the workspace (relative to its root) relative to
// the repository root.
func repoRel(repo *gitrepo.Repo, w *spec.Workspace, p string) string {
	rel, err := filepath.Rel(repo.Root, filepath.Join(w.Root, filepath.FromSlash(p)))
	if err != nil {
		return p
	}
	return filepath.ToSlash(rel)
}
