package plan

import (
	"fmt"
	"strings"
	"time"

	"github.com/chant-run/chant/gate"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/runner/agent"
	"github.com/chant-run/chant/runner/phase"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/provenance"
	"github.com/chant-run/chant/spec/store"
)

// A completed spec is stale when something its last phase was built on
// differs from the branch now (its Changes), or when a spec it depends on
// is stale (Through): what it made was built on work that is to be made
// again. A stale spec runs again with run --stale once nothing it depends
// on is stale; a stale gate, once approved again.

// verdicts are what changed of the inputs of each completed spec that
// records them, against HEAD, by ID; nil without a repository or a
// commit, where nothing is stale.
func verdicts(w *spec.Workspace, set *spec.Set, repo *gitrepo.Repo) (map[string][]provenance.Change, error) {
	if repo == nil {
		return nil, nil
	}
	var judged []*spec.Spec
	for _, s := range set.Specs {
		if s.Status == spec.StatusCompleted && s.BuiltOn != nil && !s.Archived {
			judged = append(judged, s)
		}
	}
	if len(judged) == 0 {
		return nil, nil
	}
	head, err := repo.ReadHead()
	if err != nil || head.Commit.IsZero() {
		return nil, nil // no commit yet: nothing has landed
	}
	changes, err := provenance.NewChecker(w, repo, head.Commit).All(judged)
	if err != nil {
		return nil, fmt.Errorf("what the completed specs were built on: %w", err)
	}
	return changes, nil
}

// staleness decides whether the completed spec of st is stale; changes
// are what changed of its inputs (see verdicts).
func (a *Assessment) staleness(st *State, changes []provenance.Change, repo *gitrepo.Repo) {
	s := st.Spec
	if s.BuiltOn == nil || repo == nil {
		return // completed before chant recorded it: not judged
	}
	st.Changes = changes
	for _, id := range a.Set.Edges(s) {
		if d := a.States[id]; d != nil && d.Kind == KindStale {
			st.Through = append(st.Through, id)
		}
	}
	if len(changes) == 0 && len(st.Through) == 0 {
		return
	}
	st.Kind, st.clear = KindStale, len(st.Through) == 0
	if s.Gate() {
		st.Gate = a.staleGate(st, repo)
		st.clear = st.clear && st.Gate.Void == ""
	}
}

// staleGate is where a stale gate's approval stands: the approval its
// last phase ran under is spent, and a new one must hold against what it
// covers now.
func (a *Assessment) staleGate(st *State, repo *gitrepo.Repo) *GateState {
	s := st.Spec
	ap := s.Approval
	g := &GateState{Status: ap.Status, By: ap.By, At: ap.At}
	switch {
	case (ap.Status != spec.ApprovalApproved || gate.Spent(s)) && len(st.Through) > 0:
		g.Void = "its approval was spent by its last run: it needs another once " + strings.Join(st.Through, ", ") + " ran again"
	case ap.Status != spec.ApprovalApproved || gate.Spent(s):
		g.Void = "its approval was spent by its last run: approve it again to run it again (chant review " + s.ID + " shows what changed)"
	case len(st.Through) == 0:
		g.Void = gate.Void(a.Workspace, a.Set, s, repo, agent.Files)
	}
	return g
}

// StaleReason says why a stale spec is stale, in a line: what changed
// first, or what it depends on that is stale, and why that is.
func (st *State) StaleReason() string {
	var parts []string
	if n := len(st.Changes); n > 0 {
		msg := st.Changes[0].String()
		if n > 1 {
			msg += fmt.Sprintf(" (and %d more)", n-1)
		}
		parts = append(parts, msg)
	}
	if len(st.Through) > 0 {
		parts = append(parts, "through "+strings.Join(st.Through, ", "))
	}
	return strings.Join(parts, "; ")
}

// Root says in a line why a stale spec is stale: what of its own inputs
// changed, else ThroughWhy.
func (a *Assessment) Root(st *State) string {
	if len(st.Changes) > 0 {
		return st.StaleReason()
	}
	return a.ThroughWhy(st)
}

// Count is how many specs are of kind k.
func (a *Assessment) Count(k Kind) int {
	n := 0
	for _, st := range a.States {
		if st.Kind == k {
			n++
		}
	}
	return n
}

// StaleLines say why a spec is stale, a line each: each change of its
// own inputs, then what it is stale through (show).
func (a *Assessment) StaleLines(st *State) []string {
	var out []string
	for _, c := range st.Changes {
		out = append(out, c.String())
	}
	if len(st.Through) > 0 {
		out = append(out, a.ThroughWhy(st))
	}
	return out
}

// ThroughWhy says why a spec is stale through what it depends on: the
// stale dependencies back to one that changed itself, and its change
// ("through b → a: informed_by notes.md changed in 1a2b3c4"); "" when it
// is not stale through any.
func (a *Assessment) ThroughWhy(st *State) string {
	if len(st.Through) == 0 {
		return ""
	}
	chain := []string{st.Through[0]}
	cur := a.States[st.Through[0]]
	for len(cur.Changes) == 0 && len(cur.Through) > 0 {
		chain = append(chain, cur.Through[0])
		cur = a.States[cur.Through[0]]
	}
	msg := "through " + strings.Join(chain, " → ")
	if len(cur.Changes) > 0 {
		msg += ": " + cur.Changes[0].String()
	}
	if n := len(st.Through); n > 1 {
		msg += fmt.Sprintf(" (and %s)", strings.Join(st.Through[1:], ", "))
	}
	return msg
}

// Staleness says why a spec of w is stale ("": it is not), reading the
// workspace as it stands when asked: a gate that ran is approved again
// only then.
func Staleness(w *spec.Workspace, now time.Time) func(*spec.Spec) string {
	return func(s *spec.Spec) string {
		set, err := store.List(w)
		if err != nil {
			return ""
		}
		a, err := Assess(w, set, now, AssessOptions{})
		if st := a.States[s.ID]; err == nil && st != nil && st.Kind == KindStale {
			return st.StaleReason()
		}
		return ""
	}
}

// MarkStale says, in each verified spec, why it is stale (as status does).
func MarkStale(w *spec.Workspace, results []phase.Verified) error {
	set, err := store.List(w)
	if err != nil {
		return err
	}
	a, err := Assess(w, set, time.Now(), AssessOptions{})
	if err != nil {
		return err
	}
	for i, r := range results {
		if st := a.States[r.Spec.ID]; st != nil && st.Kind == KindStale {
			results[i].Stale = a.Root(st)
		}
	}
	return nil
}
