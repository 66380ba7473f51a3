package runner

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/chant-run/chant/gate"
	"github.com/chant-run/chant/internal/bookkeeping"
	"github.com/chant-run/chant/internal/fault"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/textsafe"
	"github.com/chant-run/chant/runner/plan"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/doc"
	"github.com/chant-run/chant/spec/provenance"
	"github.com/chant-run/chant/spec/store"
)

var (
	// ErrNotStale means chant accept was asked of a spec that is not stale
	// itself (nothing to accept, or only what it depends on is stale).
	ErrNotStale = fault.New(fault.Input, "not stale")
	// ErrAcceptor means no name, or a name or reason that is not one line.
	ErrAcceptor = fault.New(fault.Input, "accept needs a name (--by) and a reason on one line each, without control characters")
)

// Accepted is what chant accept recorded.
type Accepted struct {
	Spec    *spec.Spec // as written
	Commit  string     // the commit that records it
	Changes []provenance.Change
}

// Accept records that by looked at the stale spec id and that it stands as
// it is, for reason: what it is built on is recorded anew, as the branch
// holds it now, and the decision is committed ("chant(<id>): accept"),
// naming who and why. What depends on it is then stale no more on its
// account.
func Accept(w *spec.Workspace, id, by, reason string, now time.Time) (*Accepted, error) {
	by, reason = strings.TrimSpace(by), strings.TrimSpace(reason)
	if by == "" || textsafe.Line(by) != by || textsafe.Line(reason) != reason {
		return nil, ErrAcceptor
	}
	if agentID := os.Getenv("CHANT_SPEC_ID"); agentID != "" {
		return nil, fmt.Errorf("%w (CHANT_SPEC_ID=%s): a person decides that work stands, not an agent", gate.ErrFromAgent, agentID)
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
	a, err := plan.Assess(w, set, now, plan.AssessOptions{})
	if err != nil {
		return nil, err
	}
	st := a.States[s.ID]
	switch {
	case st.Kind != plan.KindStale:
		return nil, fmt.Errorf("%w: %s is %s: nothing it was built on changed since it ran", ErrNotStale, s.ID, st.Word())
	case len(st.Changes) == 0:
		return nil, fmt.Errorf("%w: %s is stale only through %s: run that again (chant run --stale) or accept it", ErrNotStale, s.ID, strings.Join(st.Through, ", "))
	}
	head, err := repo.ReadHead()
	if err != nil {
		return nil, err
	}
	tree, err := provenance.NewTree(w, repo, head.Commit)
	if err != nil {
		return nil, err
	}
	now = now.UTC().Truncate(time.Second)
	message := fmt.Sprintf("chant(%s): accept as it stands\n\nAccepted by %s%s.\n", s.ID, by, map[bool]string{true: ": " + reason}[reason != ""])
	written, commit, err := bookkeeping.Commit(w, repo, s.ID, message, now, func(cur *spec.Spec, e *doc.Editor) error {
		if cur.Status != spec.StatusCompleted || cur.BuiltOn == nil {
			return fmt.Errorf("%w: %s changed meanwhile (it is %s now)", ErrNotStale, cur.ID, cur.Status)
		}
		b, err := provenance.Current(w, set, cur, tree)
		if err != nil {
			return err
		}
		e.Set("built_on", provenance.KV(b))
		acc := []doc.KV{{Key: "by", Value: by}, {Key: "at", Value: now}}
		if reason != "" {
			acc = append(acc, doc.KV{Key: "reason", Value: reason})
		}
		e.Set("accepted", acc)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Accepted{Spec: written, Commit: commit, Changes: st.Changes}, nil
}
