// Package bookkeeping makes chant's own changes to spec files, such as a
// decision on a gate or a reset, as commits of their own: under the
// workspace lock, after repairing what a killed command left, as one
// landing (see gitrepo.Land) of the spec file alone, so that the change is
// either committed and in the working tree, or absent.
package bookkeeping

import (
	"bytes"
	"fmt"
	"sync"
	"time"

	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/safefs"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/doc"
)

// Repair puts right what a chant command killed at any instant may have
// left: a landing half-way (see gitrepo.Recover) and the temporary files
// of interrupted writes of specs. It reports what it repaired. The caller
// must hold the workspace lock, which every write of a spec and every git
// write takes.
func Repair(w *spec.Workspace, repo *gitrepo.Repo) ([]string, error) {
	fixed, err := repo.Recover()
	if err != nil {
		return fixed, err
	}
	// What a killed process left in the specs directory is swept once per
	// process: reading a directory of 10,000 specs before every phase of
	// a run would cost more than the phase.
	sweptMu.Lock()
	defer sweptMu.Unlock()
	if swept[w.SpecsDir] {
		return fixed, nil
	}
	if err := safefs.RemoveStaleTemps(w.SpecsDir); err != nil {
		return fixed, err
	}
	swept[w.SpecsDir] = true
	return fixed, nil
}

var (
	sweptMu sync.Mutex
	swept   = map[string]bool{} // specs directories swept by this process
)

// Commit edits the spec with this exact ID (see spec.Workspace.EditLocked:
// edit sees the file as it is now and may refuse) and commits that file
// alone with message, then writes it. It returns the spec as written and
// the commit's short hash ("" when the edit changed nothing).
func Commit(w *spec.Workspace, repo *gitrepo.Repo, id, message string, now time.Time,
	edit func(*spec.Spec, *doc.Editor) error) (*spec.Spec, string, error) {
	unlock, err := w.Lock()
	if err != nil {
		return nil, "", err
	}
	defer unlock()
	if _, err := Repair(w, repo); err != nil {
		return nil, "", err
	}
	head, err := repo.ReadHead()
	if err != nil {
		return nil, "", err
	}
	ed, err := w.EditLocked(id, edit)
	if err != nil {
		return nil, "", err
	}
	if bytes.Equal(ed.Old, ed.New) {
		return ed.Spec, "", nil
	}
	change, err := SpecChange(repo, ed)
	if err != nil {
		return nil, "", err
	}
	hashes, err := repo.Land(gitrepo.Landing{Onto: head, When: now, Commits: []gitrepo.CommitSpec{
		{Message: message, Changes: []gitrepo.Change{change}},
	}})
	if err != nil {
		return nil, "", err
	}
	return ed.Spec, gitrepo.Short(hashes[0].String()), nil
}

// SpecChange is the landing change that writes an edited spec file: its
// repository path, its new content, and its content now as the expected
// before.
func SpecChange(repo *gitrepo.Repo, ed *spec.Edited) (gitrepo.Change, error) {
	rel, ok := spec.RepoPaths{RepoRoot: repo.Root}.Inside(ed.Path)
	if !ok {
		return gitrepo.Change{}, fmt.Errorf("%s lies outside the repository %s", ed.Path, repo.Root)
	}
	return gitrepo.Change{
		Path:   rel,
		Mode:   0o100644,
		Data:   ed.New,
		Before: gitrepo.File{Mode: 0o100644, Hash: gitrepo.BlobHash(ed.Old)},
	}, nil
}
