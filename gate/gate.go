// Package gate handles human gates: specs with approval.required that do
// not run until a person approves them. It records approvals and
// rejections in the spec and commits each decision.
package gate

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/chant-run/chant/internal/bookkeeping"
	"github.com/chant-run/chant/internal/fault"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/textsafe"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/doc"
	"github.com/chant-run/chant/spec/store"
)

var (
	// ErrNotGate means the spec does not require an approval.
	ErrNotGate = fault.New(fault.Input, "not a human gate")
	// ErrNoName means no reviewer name was given, or one with control
	// characters.
	ErrNoName = fault.New(fault.Input, "a reviewer name is required (--by), on one line, without control characters")
	// ErrNoReason means a rejection without a reason.
	ErrNoReason = fault.New(fault.Input, "a rejection needs a reason (--reason)")
	// ErrDecided means the gate's spec has already run, or the decision is
	// already the one asked for.
	ErrDecided = fault.New(fault.Input, "already decided")
	// ErrNotApprover means the name is not in approval.approvers.
	ErrNotApprover = fault.New(fault.Input, "not an approver")
	// ErrSelfApproval means the approver wrote the work under review.
	ErrSelfApproval = fault.New(fault.Input, "self-approval")
	// ErrFromAgent means a decision was attempted from inside an agent run.
	ErrFromAgent = fault.New(fault.Input, "decision from inside an agent run")
	// ErrExpired means the gate was left unanswered past its deadline.
	ErrExpired = fault.New(fault.Input, "expired")
	// ErrNotReady means an approval was asked for a gate whose
	// dependencies have not all completed: nothing to review yet.
	ErrNotReady = fault.New(fault.Input, "not ready for review")
)

// Decision is a recorded approval or rejection.
type Decision struct {
	Spec   *spec.Spec // as written
	By     string
	At     time.Time
	Status string // spec.ApprovalApproved or spec.ApprovalRejected
	Commit string // short SHA of the commit that records it
	// Binding is what an approval binds (see Covered.Binding); its
	// ReviewHash names the review it approves.
	Binding string
}

// Approve records that by approved the gate spec id (a partial ID works
// when unique) and commits it as "chant(<id>): approve", bound to what was
// reviewed, the files its agent runs with (files) included. A review hash
// (from chant review) refuses the approval when what it binds has changed
// since ("": not checked). A gate that has run is approved again only
// when stale says it is stale (its reason; nil: never), to run it again.
func Approve(w *spec.Workspace, id, by string, now time.Time, files AgentFiles, reviewHash string, stale func(*spec.Spec) string) (*Decision, error) {
	return decide(w, id, by, "", spec.ApprovalApproved, now, files, reviewHash, stale)
}

// Reject records that by rejected the gate spec id, with a reason, and
// commits it as "chant(<id>): reject". The gate stays closed until a later
// approval.
func Reject(w *spec.Workspace, id, by, reason string, now time.Time) (*Decision, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, ErrNoReason
	}
	return decide(w, id, by, reason, spec.ApprovalRejected, now, nil, "", nil)
}

func decide(w *spec.Workspace, id, by, reason, status string, now time.Time, files AgentFiles, reviewHash string, stale func(*spec.Spec) string) (*Decision, error) {
	by = strings.TrimSpace(by)
	if by == "" || textsafe.Line(by) != by {
		return nil, ErrNoName
	}
	set, err := store.List(w)
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
	if err := checkReviewer(w, set, s, by, repo, status == spec.ApprovalApproved); err != nil {
		return nil, err
	}
	if status == spec.ApprovalApproved {
		if err := checkLanded(set, s); err != nil {
			return nil, err
		}
	}
	if deadline, err := Deadline(w, set, s); err != nil {
		return nil, err
	} else if !deadline.IsZero() && now.After(deadline) {
		return nil, fmt.Errorf("%w: %s was left unanswered past %s (approval.expires_after)", ErrExpired, s.ID, deadline.UTC().Format(time.RFC3339))
	}
	now = now.UTC().Truncate(time.Second)
	verb := map[string]string{spec.ApprovalApproved: "approve", spec.ApprovalRejected: "reject"}[status]

	done := map[string]string{spec.ApprovalApproved: "Approved", spec.ApprovalRejected: "Rejected"}[status]
	message := fmt.Sprintf("chant(%s): %s\n\n%s by %s.", s.ID, verb, done, by)
	var bound string // the approval's binding, as recorded
	written, commit, err := bookkeeping.Commit(w, repo, s.ID, message, now, func(cur *spec.Spec, e *doc.Editor) error {
		// Decide on the file as it is now, under the lock.
		switch {
		case !cur.Gate():
			return fmt.Errorf("%w: %s (%s) has no approval.required: true", ErrNotGate, cur.ID, cur.Path)
		case cur.Status == spec.StatusCompleted && (stale == nil || stale(cur) == ""):
			return fmt.Errorf("%w: %s has already run (completed), and nothing it was built on changed since", ErrDecided, cur.ID)
		}
		if status == spec.ApprovalApproved {
			var err error
			if bound, err = binding(w, set, cur, repo, files, reviewHash); err != nil {
				return err
			}
		}
		e.SetIn("approval", "status", status)
		e.SetIn("approval", "by", by)
		e.SetIn("approval", "at", now)
		if status == spec.ApprovalApproved {
			e.SetIn("approval", "hash", bound)
			// Where the reviewed work stood: a later review shows what
			// changed since.
			if head, err := repo.ReadHead(); err == nil {
				e.SetIn("approval", "commit", head.Commit.String())
			}
		}
		entry := spec.DecisionEntry(by, now, status)
		if reason != "" {
			entry += "\n\n" + strings.TrimSpace(reason)
		}
		e.AppendToSection(spec.SectionApprovalDiscussion, entry)
		return nil
	})
	if errors.Is(err, syscall.EROFS) {
		// The sandbox of a phase: an agent's attempt.
		return nil, fmt.Errorf("%w: the repository is read-only here (a phase's sandbox): a person decides on gates, not an agent (%v)", ErrFromAgent, err)
	}
	if err != nil {
		return nil, err
	}
	return &Decision{Spec: written, By: by, At: now, Status: status, Commit: commit, Binding: bound}, nil
}

// binding is what an approval of gate s binds: what its agent will be
// given and the work under review, as they are now. It refuses when that
// is not the review named (reviewHash, "": any), and when a valid
// approval stands (a void one may be given again).
func binding(w *spec.Workspace, set *spec.Set, s *spec.Spec, repo *gitrepo.Repo, files AgentFiles, reviewHash string) (string, error) {
	c, err := Cover(w, set, s, "", repo, files)
	if err != nil {
		return "", err
	}
	b := c.Binding()
	if h := ReviewHash(b); reviewHash != "" && h != reviewHash {
		return "", fmt.Errorf("%w: %s's review hash is now %s, not %s: what an approval binds changed since that review (chant review %s shows it as it is)",
			ErrReviewChanged, s.ID, h, reviewHash, s.ID)
	}
	if c.Verdict() == "" && !Spent(s) {
		return "", fmt.Errorf("%w: %s was approved by %s at %s", ErrDecided, s.ID, s.Approval.By, s.Approval.At)
	}
	return b, nil
}

// checkReviewer decides whether by may decide on gate s: not from inside
// an agent run, only a listed approver when approval.approvers is set, and,
// for an approval, not an author of the work under review (the commits of
// the specs the gate depends on) unless approval.allow_self_approval. An
// agent's work is authored by the agent ("Claude Code (chant)"), so a
// person may approve their agent's work, never their own.
func checkReviewer(w *spec.Workspace, set *spec.Set, s *spec.Spec, by string, repo *gitrepo.Repo, approving bool) error {
	if id := os.Getenv("CHANT_SPEC_ID"); id != "" {
		return fmt.Errorf("%w (CHANT_SPEC_ID=%s): a person decides on gates, not an agent", ErrFromAgent, id)
	}
	cfg := w.Config.Approval
	if len(cfg.Approvers) > 0 && !matchesAny(by, cfg.Approvers) {
		return fmt.Errorf("%w: %q is not in approval.approvers (%s) in %s", ErrNotApprover, by, strings.Join(cfg.Approvers, ", "), w.Config.Path)
	}
	if !approving || cfg.AllowSelfApproval {
		return nil
	}
	for _, dep := range dependencies(set, s) {
		for _, c := range dep.Commits {
			author, err := repo.Author(c)
			if err != nil {
				continue // a commit no longer there is lint's business
			}
			if matchesAny(by, []string{author.Name, author.Email}) {
				return fmt.Errorf("%w: %s wrote %s of %s, which %s reviews; someone else must approve (or set approval.allow_self_approval)",
					ErrSelfApproval, by, c, dep.ID, s.ID)
			}
		}
	}
	return nil
}

// dependencies returns every spec s depends on, directly or not.
// checkLanded refuses an approval of gate s while a spec it depends on has
// not completed: the work under review is not there yet, and an approval
// given now would be void the moment it lands.
func checkLanded(set *spec.Set, s *spec.Spec) error {
	var pending []string
	for _, d := range dependencies(set, s) {
		if !d.Done() {
			pending = append(pending, d.ID+" ("+d.Status+")")
		}
	}
	for _, id := range s.DependsOn {
		if set.Get(id) == nil {
			pending = append(pending, id+" (no such spec)")
		}
	}
	if len(pending) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s depends on %s, not completed: approve it once the work under review has landed (chant run)",
		ErrNotReady, s.ID, strings.Join(pending, ", "))
}

func dependencies(set *spec.Set, s *spec.Spec) []*spec.Spec {
	var out []*spec.Spec
	seen := map[string]bool{s.ID: true}
	queue := append([]string{}, s.DependsOn...)
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if seen[id] {
			continue
		}
		seen[id] = true
		if d := set.Get(id); d != nil {
			out = append(out, d)
			queue = append(queue, d.DependsOn...)
		}
	}
	return out
}

func matchesAny(name string, list []string) bool {
	for _, x := range list {
		if x != "" && strings.EqualFold(strings.TrimSpace(x), name) {
			return true
		}
	}
	return false
}

// RejectionReason is the reason given with the last decision on s when it
// was a rejection ("" otherwise, or when none was given).
func RejectionReason(s *spec.Spec) string {
	lines := strings.Split(s.Section(spec.SectionApprovalDiscussion), "\n")
	last := -1
	for i, l := range lines {
		if spec.DecisionStatus(l) != "" {
			last = i
		}
	}
	if last < 0 || spec.DecisionStatus(lines[last]) != "REJECTED" {
		return ""
	}
	return strings.TrimSpace(strings.Join(lines[last+1:], "\n"))
}
