// Package bookkeeping makes chant's own changes to spec files, such as a
// decision on a gate or a reset, as commits of their own: under the
// workspace lock, after repairing what a killed command left, as one
// atomic edit of the spec, staged alone and committed with the bookkeeping
// trailer so that it is never taken for an agent's work.
package bookkeeping

import (
	"path/filepath"
	"time"

	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/spec"
)

// Repair puts right what a chant command killed at any instant may have
// left: a torn git ref or index (see gitrepo.Recover) and the temporary
// files of interrupted atomic writes of specs. It reports what it
// repaired. The caller must hold the workspace lock, which every write of
// a spec and every git write takes. (A run's own files in .chant/logs are
// written under the run lock instead; the run cleans those.)
func Repair(w *spec.Workspace, repo *gitrepo.Repo) ([]string, error) {
	fixed, err := repo.Recover()
	if err != nil {
		return fixed, err
	}
	return fixed, spec.RemoveStaleTemps(w.SpecsDir)
}

// Commit edits the spec with this exact ID (see spec.Workspace.UpdateLocked:
// edit sees the file as it is now and may refuse) and commits that file
// alone with message. It returns the spec as written and the commit's
// short hash.
func Commit(w *spec.Workspace, repo *gitrepo.Repo, id, message string, now time.Time,
	edit func(*spec.Spec, *spec.Editor) error) (*spec.Spec, string, error) {
	unlock, err := w.Lock()
	if err != nil {
		return nil, "", err
	}
	defer unlock()
	if _, err := Repair(w, repo); err != nil {
		return nil, "", err
	}
	written, err := w.UpdateLocked(id, edit)
	if err != nil {
		return nil, "", err
	}
	rel, err := filepath.Rel(repo.Root, w.SpecPath(id))
	if err != nil {
		return nil, "", err
	}
	if err := repo.Exclude(w.RepoPatterns(repo.Root)...); err != nil {
		return nil, "", err
	}
	hash, err := repo.Commit([]string{filepath.ToSlash(rel)}, gitrepo.Bookkeeping(message), now)
	if err != nil {
		return nil, "", err
	}
	return written, gitrepo.Short(hash), nil
}
