package phase

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/chant-run/chant/internal/fault"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/isolation"
	"github.com/chant-run/chant/internal/sandbox"
	"github.com/chant-run/chant/runner/agent"
	"github.com/chant-run/chant/runner/verdict"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/store"
)

// ErrNotCompleted means verify was asked about a spec that has not run.
var ErrNotCompleted = fault.New(fault.Input, "not completed")

// VerifyOptions say what to verify and how.
type VerifyOptions struct {
	// IDs are the specs to verify (partial IDs); none: every completed spec.
	IDs []string
	// Head checks every spec against HEAD instead of the commit of its own
	// work: whether it still holds now, not whether it held when done.
	Head bool
	Log  io.Writer // the checks' output
	// Activity, when set, is told when a check or setup starts and ends.
	Activity func(Activity)
}

// Verified is one spec's checks run again, and at which commit.
type Verified struct {
	Spec *spec.Spec
	// Commit is the commit checked (short hash); Own says it is the
	// commit of the spec's own work, rather than HEAD.
	Commit string
	Own    bool
	// Note says why HEAD was checked for a spec checked at its own commit
	// otherwise (it has none, or it is gone from the repository).
	Note         string
	Verification *verdict.Verification
	// Stale says why the spec is stale, when it is (its caller knows).
	Stale string
}

// Verify runs completed specs' checks again in a worktree of their own
// (never the user's), each at the commit of its own work or at HEAD, and
// checks that their target files exist there. Drift is a check whose
// outcome is no longer the expected one, or a missing target. It changes
// nothing in the repository.
func Verify(ctx context.Context, w *spec.Workspace, opts VerifyOptions) ([]Verified, error) {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	set, err := store.List(w)
	if err != nil {
		return nil, err
	}
	specs, err := verifiable(set, opts.IDs)
	if err != nil {
		return nil, err
	}
	repo, err := gitrepo.Open(w.Root)
	if err != nil {
		return nil, err
	}
	head, err := repo.ReadHead()
	if err != nil {
		return nil, err
	}
	// One verify at a time uses the verify worktree.
	lock, err := spec.OpenLock(repo.StateDir(), "verify.lock")
	if err != nil {
		return nil, err
	}
	if err := lock.Lock(); err != nil {
		return nil, err
	}
	defer lock.Unlock()
	// Checks run committed agents' code: in the sandbox, as in a phase.
	policy, err := agent.SandboxPolicy(w)
	if err != nil {
		return nil, err
	}
	tree, err := OpenTree("", repo, w.InRepo(repo.Root).Of("."), "verify")
	if err != nil {
		return nil, err
	}
	cage := policy.CageFor(tree.Dir, repo.Root, repo.CommonDir)
	defer cage.Close()
	wsDir := filepath.Join(tree.Dir, filepath.FromSlash(w.InRepo(repo.Root).Of(".")))
	activity := func(id, what string) func() { return tell(opts.Activity, id, what) }
	var out []Verified
	for _, s := range specs {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		vd, commit := verifiedAt(repo, head.Commit, s, opts.Head)
		fmt.Fprintf(opts.Log, "=== %s at %s\n", s.ID, vd.Commit)
		v, err := verifyAt(ctx, w, repo, tree, cage, s, commit, wsDir, opts.Log, activity)
		if err != nil {
			return out, fmt.Errorf("spec %s: %w", s.ID, err)
		}
		vd.Verification = v
		out = append(out, vd)
	}
	return out, nil
}

// verifiable are the specs named (ids; all completed ones when none), each
// of which must be completed.
func verifiable(set *spec.Set, ids []string) ([]*spec.Spec, error) {
	var specs []*spec.Spec
	for _, id := range ids {
		s, err := set.Resolve(id)
		if err != nil {
			return nil, err
		}
		if s.Status != spec.StatusCompleted && !s.Archived {
			return nil, fmt.Errorf("%w: %s is %s; only completed specs can be verified", ErrNotCompleted, s.ID, s.Status)
		}
		specs = append(specs, s)
	}
	if len(ids) == 0 {
		for _, s := range set.Order() {
			if s.Status == spec.StatusCompleted && !s.Archived {
				specs = append(specs, s)
			}
		}
	}
	return specs, nil
}

// verifiedAt is the commit s is verified at: its own last commit, or head
// (atHead, or when it has none in the repository, which the result notes).
func verifiedAt(repo *gitrepo.Repo, head plumbing.Hash, s *spec.Spec, atHead bool) (Verified, plumbing.Hash) {
	vd := Verified{Spec: s}
	commit := head
	switch {
	case atHead:
	case len(s.Commits) == 0:
		vd.Note = "it has no commit of its own"
	default:
		own := s.Commits[len(s.Commits)-1]
		if h, err := repo.ResolveCommit(own); err == nil {
			commit, vd.Own = h, true
		} else {
			vd.Note = fmt.Sprintf("its commit %s is not in the repository", own)
		}
	}
	vd.Commit = gitrepo.Short(commit.String())
	return vd, commit
}

// verifyAt checks one spec in tree, synced to commit.
func verifyAt(ctx context.Context, w *spec.Workspace, repo *gitrepo.Repo, tree *isolation.Tree, cage *sandbox.Cage, s *spec.Spec, commit plumbing.Hash,
	wsDir string, log io.Writer, activity func(id, what string) func()) (*verdict.Verification, error) {
	// The last verify's checks may have written anything.
	if err := tree.Touched(); err != nil {
		return nil, err
	}
	if err := tree.Sync(commit); err != nil {
		return nil, fmt.Errorf("prepare the verify worktree: %w", err)
	}
	if err := prepareTree(ctx, w, repo, tree, cage, commit, s.ID, log, activity); err != nil {
		return nil, err
	}
	v := &verdict.Verification{Total: len(s.Criteria())}
	for _, t := range s.TargetFiles {
		f, err := repo.FileAt(commit, w.InRepo(repo.Root).Of(t))
		if err != nil {
			return nil, err
		}
		if !f.Exists() {
			v.Missing = append(v.Missing, t)
		}
	}
	if len(s.Checks) > 0 {
		if err := tree.Touched(); err != nil {
			return nil, err
		}
	}
	for _, c := range s.Checks {
		fmt.Fprintf(log, "check: %s (expect %s)\n", c.Run, c.Expect)
		done := activity(s.ID, "check `"+c.Run+"`")
		v.Checks = append(v.Checks, verdict.RunCheck(ctx, c, wsDir, s.ID, cage))
		done()
	}
	return v, nil
}

// MarshalJSON is the verification of a spec as chant verify --json gives
// it: one object a spec.
func (r Verified) MarshalJSON() ([]byte, error) {
	type check struct {
		Run        string `json:"run"`
		Expect     string `json:"expect"`
		Passed     bool   `json:"passed"`
		Held       bool   `json:"held"`
		DurationMS int64  `json:"duration_ms"`
		Error      string `json:"error,omitempty"`
		Output     string `json:"output"`
	}
	checks := []check{}
	for _, c := range r.Verification.Checks {
		checks = append(checks, check{c.Check.Run, c.Check.Expect, c.Passed, c.Held, c.Duration.Milliseconds(), c.Err, c.Output})
	}
	return json.Marshal(struct {
		ID      string   `json:"id"`
		Commit  string   `json:"commit"`
		Own     bool     `json:"own_commit"`
		Note    string   `json:"note,omitempty"`
		Holds   bool     `json:"holds"`
		Checks  []check  `json:"checks"`
		Missing []string `json:"missing"`
		Stale   string   `json:"stale,omitempty"`
	}{r.Spec.ID, r.Commit, r.Own, r.Note, r.Verification.OK() && r.Stale == "", checks, append([]string{}, r.Verification.Missing...), r.Stale})
}
