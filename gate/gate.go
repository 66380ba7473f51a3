// Package gate handles human gates: specs with approval.required that do
// not run until a person approves them. It records approvals and
// rejections in the spec and commits each decision.
package gate

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/spec"
)

var (
	// ErrNotGate means the spec does not require an approval.
	ErrNotGate = errors.New("not a human gate")
	// ErrNoName means no reviewer name was given.
	ErrNoName = errors.New("a reviewer name is required (--by)")
	// ErrNoReason means a rejection without a reason.
	ErrNoReason = errors.New("a rejection needs a reason (--reason)")
	// ErrDecided means the gate's spec has already run, or the decision is
	// already the one asked for.
	ErrDecided = errors.New("already decided")
)

// Decision is a recorded approval or rejection.
type Decision struct {
	Spec   *spec.Spec // as written
	By     string
	At     time.Time
	Status string // spec.ApprovalApproved or spec.ApprovalRejected
	Commit string // short SHA of the commit that records it
}

// Approve records that by approved the gate spec id (a partial ID works
// when unique) and commits it as "chant(<id>): approve".
func Approve(w *spec.Workspace, id, by string, now time.Time) (*Decision, error) {
	return decide(w, id, by, "", spec.ApprovalApproved, now)
}

// Reject records that by rejected the gate spec id, with a reason, and
// commits it as "chant(<id>): reject". The gate stays closed until a later
// approval.
func Reject(w *spec.Workspace, id, by, reason string, now time.Time) (*Decision, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, ErrNoReason
	}
	return decide(w, id, by, reason, spec.ApprovalRejected, now)
}

func decide(w *spec.Workspace, id, by, reason, status string, now time.Time) (*Decision, error) {
	by = strings.TrimSpace(by)
	if by == "" || strings.ContainsAny(by, "\r\n") {
		return nil, ErrNoName
	}
	set, err := w.Load()
	if err != nil {
		return nil, err
	}
	s, err := set.Resolve(id)
	if err != nil {
		return nil, err
	}
	repo, err := gitrepo.Open(w.Root)
	if err != nil {
		return nil, err
	}
	if err := repo.Exclude(w.RepoPatterns(repo.Root)...); err != nil {
		return nil, err
	}
	now = now.UTC().Truncate(time.Second)
	verb := map[string]string{spec.ApprovalApproved: "approve", spec.ApprovalRejected: "reject"}[status]

	unlock, err := w.Lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	written, err := w.UpdateLocked(s.ID, func(cur *spec.Spec, e *spec.Editor) error {
		// Decide on the file as it is now, under the lock.
		switch {
		case !cur.Gate():
			return fmt.Errorf("%w: %s (%s) has no approval.required: true", ErrNotGate, cur.ID, cur.Path)
		case cur.Status == spec.StatusCompleted:
			return fmt.Errorf("%w: %s has already run (completed)", ErrDecided, cur.ID)
		case cur.Approval.Status == status && status == spec.ApprovalApproved:
			return fmt.Errorf("%w: %s was approved by %s at %s", ErrDecided, cur.ID, cur.Approval.By, cur.Approval.At)
		}
		e.SetIn("approval", "status", status)
		e.SetIn("approval", "by", by)
		e.SetIn("approval", "at", now)
		entry := fmt.Sprintf("**%s** - %s - %s", by, now.Format("2006-01-02 15:04"), strings.ToUpper(status))
		if reason != "" {
			entry += "\n\n" + strings.TrimSpace(reason)
		}
		e.AppendToSection("Approval Discussion", entry)
		return nil
	})
	if err != nil {
		return nil, err
	}
	rel, err := filepath.Rel(repo.Root, w.SpecPath(s.ID))
	if err != nil {
		return nil, err
	}
	done := map[string]string{spec.ApprovalApproved: "Approved", spec.ApprovalRejected: "Rejected"}[status]
	hash, err := repo.Commit([]string{filepath.ToSlash(rel)}, fmt.Sprintf("chant(%s): %s\n\n%s by %s.\n", s.ID, verb, done, by), now)
	if err != nil {
		return nil, err
	}
	return &Decision{Spec: written, By: by, At: now, Status: status, Commit: gitrepo.Short(hash)}, nil
}
