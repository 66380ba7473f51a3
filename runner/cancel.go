package runner

import (
	"fmt"
	"time"

	"github.com/chant-run/chant/internal/bookkeeping"
	"github.com/chant-run/chant/internal/fault"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/doc"
	"github.com/chant-run/chant/spec/store"
)

// ErrCannotCancel means the spec is not one that can be cancelled: it has
// completed, is cancelled already, or runs.
var ErrCannotCancel = fault.New(fault.Input, "cannot cancel")

// Cancel gives a spec up: status cancelled, committed as
// "chant(<id>): cancel". A completed spec is not cancelled (its work has
// landed), nor one in progress; chant reset makes a cancelled spec pending
// again. It returns the spec as written and the specs that depend on it,
// which can then never run (lint says so) until the dependency goes or the
// spec is reset.
func Cancel(w *spec.Workspace, id string, now time.Time) (*spec.Spec, []string, error) {
	set, err := store.List(w)
	if err != nil {
		return nil, nil, err
	}
	s, err := set.Resolve(id)
	if err != nil {
		return nil, nil, err
	}
	release, err := holdRun(w, now)
	if err != nil {
		return nil, nil, fmt.Errorf("cancel %s when the run ends: %w", s.ID, err)
	}
	defer release()
	repo, err := gitrepo.Open(w.Root)
	if err != nil {
		return nil, nil, err
	}
	message := fmt.Sprintf("chant(%s): cancel\n\nWas %s.", s.ID, s.Status)
	written, _, err := bookkeeping.Commit(w, repo, s.ID, message, now, func(cur *spec.Spec, e *doc.Editor) error {
		switch {
		case cur.Archived:
			return fmt.Errorf("%w: %s is archived", ErrCannotCancel, cur.ID)
		case cur.Status == spec.StatusCompleted:
			return fmt.Errorf("%w: %s has completed (its work has landed); chant reset %s first to run it again", ErrCannotCancel, cur.ID, cur.ID)
		case cur.Status == spec.StatusCancelled:
			return fmt.Errorf("%w: %s is cancelled already", ErrCannotCancel, cur.ID)
		case cur.Status == spec.StatusInProgress:
			return fmt.Errorf("%w: %s is in progress", ErrCannotCancel, cur.ID)
		}
		e.Set("status", spec.StatusCancelled)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	var dependents []string
	for _, d := range set.Order() {
		for _, dep := range d.DependsOn {
			if dep == s.ID && !d.Done() {
				dependents = append(dependents, d.ID)
			}
		}
	}
	return written, dependents, nil
}
