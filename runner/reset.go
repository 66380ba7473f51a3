package runner

import (
	"fmt"
	"time"

	"github.com/chant-run/chant/internal/bookkeeping"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/runner/phase"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/doc"
	"github.com/chant-run/chant/spec/store"
)

// Reset starts a spec over: status pending, its acceptance criteria
// unticked, what its last run recorded (completed_at, verification, why it
// failed) gone. Its history stays: commits, Agent Output blocks and
// approvals are kept, and a run that then produces what is already
// committed completes against the commit it has. The change is committed
// as "chant(<id>): reset". A spec cannot be reset while a run holds the
// workspace; processes an interrupted run's agent left are stopped first.
func Reset(w *spec.Workspace, id string, now time.Time) (*spec.Spec, error) {
	set, err := store.List(w)
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
	if err := phase.Abandon(repo.StateDir(), s.ID); err != nil {
		return nil, err
	}
	message := fmt.Sprintf("chant(%s): reset\n\nWas %s.", s.ID, s.Status)
	written, _, err := bookkeeping.Commit(w, repo, s.ID, message, now, func(cur *spec.Spec, e *doc.Editor) error {
		for _, c := range cur.Criteria() { // boxes first: their offsets are the file's as read
			if c.Checked {
				e.UncheckBox(c.Offset)
			}
		}
		e.Set("status", spec.StatusPending)
		for _, key := range []string{"completed_at", "verification_status", "verification_failures", "last_verified"} {
			e.Delete(key)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return written, nil
}
