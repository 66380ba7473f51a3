package phase

import (
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/isolation"
	"github.com/chant-run/chant/internal/textsafe"
	"github.com/chant-run/chant/spec"
)

// The work of a spec's last refused attempt is kept until the spec runs
// again, for chant diff: a commit on the phase's base holding everything
// the agent left in the worktree (its spec's copy included), at
// AttemptRef. A phase that lands drops it: its work commit is then the
// last attempt.

// AttemptRef is the reference to the commit of a spec's last refused
// attempt.
func AttemptRef(id string) string { return "refs/chant/attempts/" + id }

// maxKept bounds a file kept of a refused attempt, and maxKeptTotal all of
// them: what is past those is named in the commit's message, not kept (an
// agent's refused work must not fill the user's disk).
const (
	maxKept      = 16 << 20
	maxKeptTotal = 256 << 20
)

// keepAttempt commits what the phase's worktree holds against its base, and
// points AttemptRef at it. Failing to keep it costs the user the diff, not
// the phase: the log says so.
func (p *phase) keepAttempt(author *gitrepo.Person, why string) {
	if err := p.commitAttempt(author, why); err != nil {
		fmt.Fprintf(p.log, "The attempt's work could not be kept for chant diff: %v\n", err)
	}
}

func (p *phase) commitAttempt(author *gitrepo.Person, why string) error {
	repo, base := p.env.Repo, p.prog.head().Commit
	changes, err := p.tree.Scan()
	if err != nil {
		return err
	}
	var edits []gitrepo.TreeEdit
	var skipped []string
	total := 0
	for _, c := range changes {
		switch {
		case !c.Now.Exists():
			edits = append(edits, gitrepo.TreeEdit{Path: c.Path})
		case c.Now.Mode == isolation.ModeDir || c.Now.Mode == isolation.ModeOther:
			skipped = append(skipped, c.Path+" (not a file)")
		default:
			data, mode, err := p.tree.Read(c.Path)
			if err != nil {
				return err
			}
			if len(data) > maxKept || total+len(data) > maxKeptTotal {
				skipped = append(skipped, fmt.Sprintf("%s (%d bytes)", c.Path, len(data)))
				continue
			}
			total += len(data)
			h, err := repo.WriteBlob(data)
			if err != nil {
				return err
			}
			edits = append(edits, gitrepo.TreeEdit{Path: c.Path, File: gitrepo.File{Mode: mode, Hash: h}})
		}
	}
	baseTree, err := repo.TreeOf(base)
	if err != nil {
		return err
	}
	tree, err := repo.EditTree(baseTree, edits)
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("chant: attempt of %s, refused\n\n%s\n", p.spec.ID, textsafe.Clean(why))
	if n := len(skipped); n > 0 {
		if n > 20 {
			skipped = append(skipped[:20], fmt.Sprintf("and %d more", n-20))
		}
		msg += "\nNot kept: " + textsafe.Line(strings.Join(skipped, ", ")) + "\n"
	}
	commit, err := repo.NewCommit(tree, []plumbing.Hash{base}, msg, author, p.env.Now())
	if err != nil {
		return err
	}
	if err := repo.SetRef(AttemptRef(p.spec.ID), commit); err != nil {
		return err
	}
	p.kept = commit
	return nil
}

// takeAttempt keeps the refused work a worker sent (its commit, pushed
// under ResultRef) as the spec's last attempt here.
func (p *phase) takeAttempt(req *RemotePhase, res *RemoteResult) {
	r := p.env
	err := func() error {
		h, err := r.fetchResult(req, res.Worker, res.Attempt)
		if err != nil {
			return err
		}
		unlock, err := r.Workspace.Lock() // every git write of chant's
		if err != nil {
			return err
		}
		defer unlock()
		return r.Repo.SetRef(AttemptRef(p.spec.ID), h)
	}()
	if err != nil {
		fmt.Fprintf(p.log, "The attempt's work could not be kept for chant diff: %v\n", err)
	}
}

// dropAttempt drops the work kept of an earlier attempt: the phase landed,
// and its work commit is now the last attempt.
func (p *phase) dropAttempt() {
	if err := p.env.Repo.RemoveRef(AttemptRef(p.spec.ID)); err != nil {
		fmt.Fprintf(p.log, "The work of an earlier attempt, kept for chant diff, could not be dropped: %v\n", err)
	}
}

// Attempt is the last attempt of a spec to show: the commit of its work
// and the one it was made on.
type Attempt struct {
	Commit, Base plumbing.Hash
	// Refused: the attempt was refused (kept at AttemptRef); else it is
	// the spec's last work commit, landed.
	Refused bool
	// Message is its commit's message.
	Message string
}

// LastAttempt finds the last attempt of s: the refused one kept, else its
// last work commit; nil if it has none.
func LastAttempt(repo *gitrepo.Repo, s *spec.Spec) (*Attempt, error) {
	h, err := repo.Ref(AttemptRef(s.ID))
	if err != nil {
		return nil, err
	}
	a := &Attempt{Commit: h, Refused: true}
	if h.IsZero() {
		if len(s.Commits) == 0 {
			return nil, nil
		}
		if a.Commit, err = repo.ResolveCommit(s.Commits[len(s.Commits)-1]); err != nil {
			return nil, fmt.Errorf("%s's work commit %s: %w", s.ID, s.Commits[len(s.Commits)-1], err)
		}
		a.Refused = false
	}
	info, err := repo.CommitInfo(a.Commit)
	if err != nil {
		return nil, err
	}
	a.Message = info.Message
	if len(info.Parents) > 0 {
		a.Base = info.Parents[0]
	}
	return a, nil
}
