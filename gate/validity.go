package gate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/spec"
)

// ReviewHash identifies what a reviewer approves: the gate spec's task
// (type, dependencies, targets, checks, prompt, context, research, title
// and body), without what chant itself writes into it (status, approval,
// commits, times, the Approval Discussion and Agent Output sections).
func ReviewHash(s *spec.Spec) string {
	body := string(s.Body())
	for _, section := range []string{"\n## Approval Discussion", "\n## Agent Output"} {
		if i := strings.Index(body, section); i >= 0 {
			body = body[:i]
		}
	}
	reviewed := struct {
		Type, Prompt, Title, Body   string
		DependsOn, Targets          []string
		Context, InformedBy, Labels []string
		Checks                      []spec.Check
	}{s.Type, s.Prompt, s.Title, strings.TrimSpace(strings.ReplaceAll(body, "\r\n", "\n")),
		s.DependsOn, s.TargetFiles, s.Context, s.InformedBy, s.Labels, s.Checks}
	data, _ := json.Marshal(reviewed)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

// Void says why a granted approval no longer counts, or "" if it does: the
// gate spec changed since it was approved (its review hash), or the
// repository moved on from the commit it was approved at (other than by the
// approval's own commit).
func Void(s *spec.Spec, repo *gitrepo.Repo) (string, error) {
	a := s.Approval
	if a == nil || a.Status != spec.ApprovalApproved {
		return "", nil
	}
	if a.Hash != "" && a.Hash != ReviewHash(s) {
		return "approval void: the spec changed after it was approved; approve it again", nil
	}
	if a.Commit == "" {
		return "", nil
	}
	since, err := repo.CommitsSince(a.Commit)
	if err != nil {
		return fmt.Sprintf("approval void: the repository no longer has commit %s it was approved at; approve it again", a.Commit), nil
	}
	for _, c := range since {
		subject, err := repo.Subject(c)
		if err != nil {
			return "", err
		}
		if !strings.HasPrefix(subject, "chant("+s.ID+"): ") {
			return fmt.Sprintf("approval void: the repository changed after the approval (%s: %q); approve it again", gitrepo.Short(c), subject), nil
		}
	}
	return "", nil
}

// Deadline is when an unanswered gate expires: approval.expires_after
// after the last of its dependencies completed. Zero without expiry, or
// while a dependency is not completed.
func Deadline(w *spec.Workspace, set *spec.Set, s *spec.Spec) (time.Time, error) {
	after := w.Config.Approval.ExpiresAfter
	if after == "" || !s.Gate() || s.Approved() {
		return time.Time{}, nil
	}
	d, err := time.ParseDuration(after)
	if err != nil || d <= 0 {
		return time.Time{}, &spec.Error{Path: w.Config.Path, Msg: fmt.Sprintf("approval.expires_after %q is not a duration such as 72h", after)}
	}
	var last time.Time
	for _, id := range s.DependsOn {
		dep := set.Get(id)
		if dep == nil || !dep.Done() {
			return time.Time{}, nil
		}
		if t, err := time.Parse(time.RFC3339, dep.CompletedAt); err == nil && t.After(last) {
			last = t
		}
	}
	if last.IsZero() {
		return time.Time{}, nil
	}
	return last.Add(d), nil
}
