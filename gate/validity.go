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

// An approval is bound to what the reviewer approved: everything the
// gate's agent will be given and the work under review. Any change to
// those voids it; a decision on another gate, or a commit of unrelated
// files, does not.

// Covered is what an approval of a gate covers, read once: the contract
// its agent will be given, the work under review and the files its agent
// runs with.
type Covered struct {
	*spec.Contract
	Work map[string]string // its dependencies' target files as committed: path → "mode hash" ("" if absent)
	// Runs are the repository's files its agent is started with as code
	// or instructions (a command agent's script, CLAUDE.md, .claude/,
	// AGENTS.md, ...), as committed: path → "mode hash"; a path named and
	// absent → "".
	Runs map[string]string
}

// AgentFiles names the paths of the repository (files or directories)
// that the agent of spec s runs as code or reads as instructions; the
// runner knows them (its presets).
type AgentFiles func(w *spec.Workspace, repoRoot string, s *spec.Spec) []string

// Cover reads what an approval of s covers: its contract (override is run
// --prompt), the target files of every spec it depends on (directly or
// not) and the files its agent runs with (files), as HEAD holds them. A
// gate's phase reads its contract through Cover, so that what its agent
// is given is exactly what was approved.
func Cover(w *spec.Workspace, set *spec.Set, s *spec.Spec, override string, repo *gitrepo.Repo, files AgentFiles) (*Covered, error) {
	contract, err := spec.ReadContract(w, s, override)
	if err != nil {
		return nil, err
	}
	c := &Covered{Contract: contract, Work: map[string]string{}, Runs: map[string]string{}}
	head, err := repo.ReadHead()
	if err != nil {
		return nil, err
	}
	if files != nil {
		for _, p := range files(w, repo.Root, s) {
			found, err := repo.FilesUnder(head.Commit, p)
			if err != nil {
				return nil, err
			}
			if len(found) == 0 {
				c.Runs[p] = "" // named, and not there
			}
			for path, f := range found {
				c.Runs[path] = fmt.Sprintf("%o %s", f.Mode, f.Hash)
			}
		}
	}
	paths := w.InRepo(repo.Root)
	for _, dep := range dependencies(set, s) {
		for _, t := range dep.TargetFiles {
			rel := paths.Of(t)
			f, err := repo.FileAt(head.Commit, rel)
			if err != nil {
				return nil, err
			}
			c.Work[rel] = ""
			if f.Exists() {
				c.Work[rel] = fmt.Sprintf("%o %s", f.Mode, f.Hash)
			}
		}
	}
	return c, nil
}

// bindingVersion starts every binding this chant writes; an approval
// without it was not given through this chant. v2 bound the spec without
// its record sections, and not the files its agent runs with.
const bindingVersion = "v3"

var parts = []string{"spec", "prompt", "agent", "inputs", "work", "runs"}

// Binding is the approval's binding: one hash per part of what it covers,
// so that a void approval can say what changed.
func (c *Covered) Binding() string {
	sum := func(chunks ...[]byte) string {
		h := sha256.New()
		for _, b := range chunks {
			fmt.Fprintf(h, "%d:", len(b))
			h.Write(b)
		}
		return hex.EncodeToString(h.Sum(nil)[:8])
	}
	var inputs [][]byte
	for _, f := range c.Inputs {
		inputs = append(inputs, []byte(f.Pattern), []byte(f.Path), []byte(fmt.Sprint(f.Missing)), f.Data)
	}
	work, _ := json.Marshal(c.Work) // maps marshal sorted
	runs, _ := json.Marshal(c.Runs)
	values := map[string]string{
		"spec":   sum(c.Spec.Reviewed(spec.RecordKeys)),
		"runs":   sum(runs),
		"prompt": sum([]byte(c.PromptName), c.Template),
		"agent":  sum(c.Agent),
		"inputs": sum(inputs...),
		"work":   sum(work),
	}
	out := bindingVersion
	for _, p := range parts {
		out += " " + p + ":" + values[p]
	}
	return out
}

// changed names the parts of what an approval covers that differ between
// the binding recorded and the one now; nil when none.
func changed(recorded, now string) []string {
	was, cur := fields(recorded), fields(now)
	var out []string
	for _, p := range parts {
		if was[p] != cur[p] {
			out = append(out, p)
		}
	}
	return out
}

func fields(binding string) map[string]string {
	m := map[string]string{}
	for _, f := range strings.Fields(binding) {
		if k, v, ok := strings.Cut(f, ":"); ok {
			m[k] = v
		}
	}
	return m
}

// Bound reports whether a recorded binding is one this chant wrote.
func Bound(binding string) bool { return strings.HasPrefix(binding, bindingVersion+" ") }

var partNames = map[string]string{
	"spec":   "the gate spec",
	"prompt": "its prompt template",
	"agent":  "the agent configuration",
	"inputs": "its context or informed_by files",
	"work":   "the work under review (its dependencies' target files)",
	"runs":   "what its agent runs with (its script, or instruction and settings files such as CLAUDE.md, AGENTS.md, .claude/)",
}

// Verdict is the one answer, for every caller, to whether the approval
// of the gate c was read for opens it: "" if it does, else why not. It
// does not when it was not granted, was not given through chant approve
// (no binding: hand-written, or written by another tool), or something it
// covers has changed since.
func (c *Covered) Verdict() string {
	a := c.Spec.Approval
	switch {
	case a == nil || a.Status != spec.ApprovalApproved:
		return "not approved"
	case strings.HasPrefix(a.Hash, "v2 "):
		return "approved by an older chant, whose binding did not cover all of the gate spec nor the files its agent runs with: approve again with chant approve"
	case !Bound(a.Hash):
		return "approved without chant's binding to what was reviewed (hand-written, or by another tool): approve again with chant approve"
	}
	return VoidReason(a.Hash, c.Binding())
}

// Void says why gate s's granted approval does not open it now, or "" if
// it does (Verdict, with what it covers read from HEAD).
func Void(w *spec.Workspace, set *spec.Set, s *spec.Spec, repo *gitrepo.Repo, files AgentFiles) string {
	c, err := Cover(w, set, s, "", repo, files)
	if err != nil {
		// What it covers cannot be read: it cannot be shown to hold.
		return "approval cannot be checked: " + err.Error()
	}
	return c.Verdict()
}

// VoidReason says why an approval recorded with binding no longer holds
// against the binding now, or "" if it holds.
func VoidReason(recorded, now string) string {
	diff := changed(recorded, now)
	if len(diff) == 0 {
		return ""
	}
	names := make([]string, len(diff))
	for i, d := range diff {
		names[i] = partNames[d]
	}
	return "approval void: " + strings.Join(names, ", ") + " changed after it was approved; approve it again"
}

// Spent reports whether gate s's approval is the one its last phase ran
// under (recorded in what it was built on): it opened the gate once, and
// a stale gate needs another.
func Spent(s *spec.Spec) bool {
	a := s.Approval
	// One without a commit was given before approvals recorded theirs,
	// so before the phase that recorded what it was built on.
	return s.BuiltOn != nil && a != nil && a.Status == spec.ApprovalApproved && (a.Commit == "" || a.Commit == s.BuiltOn.Record().Approval)
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
