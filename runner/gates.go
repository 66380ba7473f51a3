package runner

import (
	"fmt"
	"time"

	"github.com/chant-run/chant/gate"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/spec"
)

// Readiness is spec.Set.Readiness with the approval rules that need the
// repository and the clock: an approval that does not cover what the
// gate's agent would be given now holds the gate again, and an unanswered
// gate shows its deadline or has expired. status, show and run all use it.
func Readiness(w *spec.Workspace, set *spec.Set, now time.Time) (map[string]spec.Readiness, error) {
	if after := w.Config.Approval.ExpiresAfter; after != "" {
		if d, err := time.ParseDuration(after); err != nil || d <= 0 {
			return nil, &spec.Error{Path: w.Config.Path, Msg: fmt.Sprintf("approval.expires_after %q is not a duration such as 72h", after)}
		}
	}
	readiness := set.Readiness()
	repo, err := gitrepo.Open(w.Root)
	if err != nil {
		return readiness, nil // no repository yet: nothing is approved against it
	}
	for _, s := range set.Specs {
		if !s.Gate() || s.Archived {
			continue
		}
		r := readiness[s.ID]
		switch {
		case r.Ready && s.Approved():
			void, err := gate.Void(w, set, s, repo)
			if err != nil {
				return nil, err
			}
			if void != "" {
				readiness[s.ID] = spec.Readiness{Gate: true, Reason: void}
			}
		case r.Gate && s.Approval.Status == spec.ApprovalPending:
			deadline, err := gate.Deadline(w, set, s)
			if err != nil {
				return nil, err
			}
			switch {
			case deadline.IsZero():
			case now.After(deadline):
				r.Reason = "approval expired at " + deadline.UTC().Format(time.RFC3339)
			default:
				r.Reason += " (expires " + deadline.UTC().Format(time.RFC3339) + ")"
			}
			readiness[s.ID] = r
		}
	}
	return readiness, nil
}
