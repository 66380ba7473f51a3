package runner

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/chant-run/chant/internal/bookkeeping"
	"github.com/chant-run/chant/internal/fault"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/safefs"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/store"
)

// ErrCannotArchive means a spec is not one to archive: only completed
// specs are (an archived spec counts as completed).
var ErrCannotArchive = fault.New(fault.Input, "cannot archive")

// Archive moves completed specs to .chant/archive/<date>/<id>.md, Chant's
// layout (the date is the spec's completed_at, else today's), in one
// commit "chant: archive ID...". ids are partial IDs; all, every completed
// spec not archived yet. It returns the specs' new paths, relative to the
// workspace.
func Archive(w *spec.Workspace, ids []string, all bool, now time.Time) ([]string, error) {
	set, err := store.List(w)
	if err != nil {
		return nil, err
	}
	var specs []*spec.Spec
	for _, id := range ids {
		s, err := set.Resolve(id)
		if err != nil {
			return nil, err
		}
		switch {
		case s.Archived:
			return nil, fmt.Errorf("%w: %s is archived already", ErrCannotArchive, s.ID)
		case s.Status != spec.StatusCompleted:
			return nil, fmt.Errorf("%w: %s is %s; only completed specs are archived", ErrCannotArchive, s.ID, s.Status)
		}
		specs = append(specs, s)
	}
	if all {
		for _, s := range set.Order() {
			if s.Status == spec.StatusCompleted && !s.Archived {
				specs = append(specs, s)
			}
		}
	}
	if len(specs) == 0 {
		return nil, nil
	}
	release, err := holdRun(w, now)
	if err != nil {
		return nil, fmt.Errorf("archive when the run ends: %w", err)
	}
	defer release()
	repo, err := gitrepo.Open(w.Root)
	if err != nil {
		return nil, err
	}
	return archiveLocked(w, repo, specs, now)
}

// archiveLocked lands the moves of specs, under the workspace lock.
func archiveLocked(w *spec.Workspace, repo *gitrepo.Repo, specs []*spec.Spec, now time.Time) ([]string, error) {
	unlock, err := w.Lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := bookkeeping.Repair(w, repo); err != nil {
		return nil, err
	}
	head, err := repo.ReadHead()
	if err != nil {
		return nil, err
	}
	paths := w.InRepo(repo.Root)
	var changes []gitrepo.Change
	var moved []string
	message := "chant: archive"
	for _, s := range specs {
		data, _, err := safefs.Root{Dir: w.SpecsDir}.ReadFile(s.ID+".md", 0)
		if err != nil {
			return nil, fmt.Errorf("spec %s: %w", s.ID, err)
		}
		// As it is now, under the lock: it may have been reset meanwhile.
		if now, err := spec.Parse(s.Path, data); err != nil || now.Status != spec.StatusCompleted {
			return nil, fmt.Errorf("%w: %s is no longer completed", ErrCannotArchive, s.ID)
		}
		day := now.UTC().Format("2006-01-02")
		if t, err := time.Parse(time.RFC3339, s.CompletedAt); err == nil {
			day = t.UTC().Format("2006-01-02")
		}
		dest := filepath.Join(w.ChantDir, spec.ArchiveDir, day, s.ID+".md")
		if _, err := os.Lstat(dest); !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s is there already", ErrCannotArchive, w.Rel(dest))
		}
		was := gitrepo.File{Mode: safefs.Regular, Hash: gitrepo.BlobHash(data)}
		changes = append(changes,
			gitrepo.Change{Path: paths.Abs(w.SpecPath(s.ID)), Before: was},
			gitrepo.Change{Path: paths.Abs(dest), Mode: safefs.Regular, Data: data})
		moved = append(moved, w.Rel(dest))
		message += " " + s.ID
	}
	_, err = repo.Land(gitrepo.Landing{Onto: head, When: now, Commits: []gitrepo.CommitSpec{{Message: message + "\n", Changes: changes}}})
	if err != nil {
		return nil, err
	}
	return moved, nil
}
