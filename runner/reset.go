package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/chant-run/chant/internal/bookkeeping"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/procs"
	"github.com/chant-run/chant/spec"
)

// ErrNotCompleted means verify was asked about a spec that has not run.
var ErrNotCompleted = errors.New("not completed")

// Reset returns a spec to pending so that it runs again. Its history stays:
// commits, Agent Output blocks and approvals are kept. The change is
// committed as "chant(<id>): reset". A spec cannot be reset while a run
// holds the workspace; processes an interrupted run's agent left are
// stopped first.
func Reset(w *spec.Workspace, id string, now time.Time) (*spec.Spec, error) {
	set, err := w.Load()
	if err != nil {
		return nil, err
	}
	s, err := set.Resolve(id)
	if err != nil {
		return nil, err
	}
	release, err := holdRun(w, now)
	if err != nil {
		return nil, fmt.Errorf("reset %s when the run ends: %w", s.ID, err)
	}
	defer release()
	repo, err := gitrepo.Open(w.Root)
	if err != nil {
		return nil, err
	}
	progs, err := loadProgress(repo.StateDir())
	if err != nil {
		return nil, err
	}
	for _, p := range progs {
		procs.KillAll(p.PGID, p.Marker)
		if p.Spec == s.ID {
			if err := removeProgress(repo.StateDir(), p.Spec); err != nil {
				return nil, err
			}
		}
	}
	message := fmt.Sprintf("chant(%s): reset\n\nWas %s.", s.ID, s.Status)
	written, _, err := bookkeeping.Commit(w, repo, s.ID, message, now, setStatus(spec.StatusPending))
	if err != nil {
		return nil, err
	}
	return written, nil
}

// Verify re-runs a completed spec's checks against the working tree as it
// is now, and checks that its target files still exist. Drift is any check
// whose outcome is no longer the expected one, or a missing target.
func Verify(ctx context.Context, w *spec.Workspace, id string, log io.Writer) (*spec.Spec, *Verification, error) {
	set, err := w.Load()
	if err != nil {
		return nil, nil, err
	}
	s, err := set.Resolve(id)
	if err != nil {
		return nil, nil, err
	}
	if !s.Done() {
		return s, nil, fmt.Errorf("%w: %s is %s; only completed specs can be verified", ErrNotCompleted, s.ID, s.Status)
	}
	repo, err := gitrepo.Open(w.Root)
	if err != nil {
		return s, nil, err
	}
	v := &Verification{Total: len(s.Criteria())}
	for _, t := range s.TargetFiles {
		if f, err := repo.WorkFile(repoRel(repo, w, t)); err != nil {
			return s, nil, err
		} else if !f.Exists() {
			v.Missing = append(v.Missing, t)
		}
	}
	for _, c := range s.Checks {
		fmt.Fprintf(log, "check: %s (expect %s)\n", c.Run, c.Expect)
		v.Checks = append(v.Checks, runCheck(ctx, c, w.Root, s.ID))
	}
	return s, v, nil
}
