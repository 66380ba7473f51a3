package plan

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/chant-run/chant/gate"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/runner/agent"
	"github.com/chant-run/chant/runner/phase"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/provenance"
	"github.com/chant-run/chant/spec/templates"
)

// Kind is where a spec stands. status, show, dag, lint and run all speak
// from the one State that Assess computes per spec; what they say in words
// is the command's.
type Kind string

// The kinds, roughly from done to not yet.
const (
	KindCompleted   Kind = "completed"
	KindStale       Kind = "stale" // completed, and built on something that changed since (see stale.go)
	KindArchived    Kind = "archived"
	KindInvalid     Kind = "invalid"     // a lint error: it does not run, nor what depends on it
	KindCancelled   Kind = "cancelled"   // never runs
	KindRunning     Kind = "running"     // in progress in a run alive now
	KindInterrupted Kind = "interrupted" // left in progress by a run that ended: the next run takes it over
	KindFailed      Kind = "failed"      // runs again only when named, or after reset
	KindHeld        Kind = "held"        // paused, needs_attention or blocked, as its file says
	KindBlocked     Kind = "blocked"     // a dependency is missing, cancelled or invalid, or a cycle
	KindWaiting     Kind = "waiting"     // on dependencies not done yet
	KindAwaiting    Kind = "awaiting approval"
	KindRejected    Kind = "rejected"
	KindExpired     Kind = "expired" // a gate left unanswered past approval.expires_after
	KindReady       Kind = "ready"
)

// State is everything chant says about where one spec stands.
type State struct {
	Spec *spec.Spec
	Kind Kind
	// Problems are the spec's lint problems, including those of the
	// prompt template or recording it would run with; any error makes it
	// invalid.
	Problems []spec.Problem
	// Waits are its dependencies not done yet; Blockers those that cannot
	// be done as things are (Kind "" when the dependency does not exist).
	Waits    []Dep
	Blockers []Dep
	Cycle    []string // the dependency cycle it is in, first ID repeated last
	// Workspace says it is blocked by the workspace's own errors (the
	// config's, the agent's; see Assessment.Blocking).
	Workspace bool
	// Failure says why its last phase failed, as recorded in the spec.
	Failure []string
	Gate    *GateState // for a spec that needs an approval
	// Worker is the engine's worker that runs it (Kind running), if known.
	Worker string
	// Stopped says why its last phase was stopped (Ctrl-C, the engine out
	// of reach), for a ready spec that phase put back: it runs again.
	Stopped string
	// Changes are what changed of what a stale spec was built on; Through,
	// the stale specs it depends on.
	Changes []provenance.Change
	Through []string
	// clear: its dependencies are done and its approval holds, so that it
	// can run (a failed spec, when named).
	clear bool
}

// Dep is a dependency and where it stands.
type Dep struct {
	ID     string
	Kind   Kind   // "" when no such spec exists
	Status string // as its file says
}

// GateState is where a gate's approval stands.
type GateState struct {
	Status string // pending, approved, rejected
	By, At string
	Reason string // the reason given with a rejection
	// Void says why a granted approval no longer opens the gate.
	Void     string
	Deadline time.Time // when an unanswered gate closes (zero: never)
}

// Done reports whether the spec counts as done for what depends on it.
func (st *State) Done() bool {
	return st.Kind == KindCompleted || st.Kind == KindArchived || st.Kind == KindStale
}

// Runnable reports whether a run would run the spec now: a ready spec, or,
// named on the command line, a failed one whose dependencies are done and
// whose approval holds (a retry), or a stale one that RunsStale.
func (st *State) Runnable(named bool) bool {
	return st.Kind == KindReady || named && (st.Kind == KindFailed || st.Kind == KindStale) && st.clear
}

// RunsStale reports whether run --stale runs a stale spec now: it is stale
// itself, nothing it depends on is, and a gate is approved again.
func (st *State) RunsStale() bool { return st.Kind == KindStale && st.clear }

// Errors returns the error-severity problems.
func (st *State) Errors() []spec.Problem {
	var out []spec.Problem
	for _, p := range st.Problems {
		if p.Severity == spec.SeverityError {
			out = append(out, p)
		}
	}
	return out
}

// Assessment is where every spec of a workspace stands, and what lint
// finds: one computation for every command.
type Assessment struct {
	Workspace *spec.Workspace
	Set       *spec.Set
	States    map[string]*State
	// Problems are every problem lint reports, each once, sorted by file
	// and line.
	Problems []spec.Problem
	// Blocking are the errors no spec owns (the config's, the agent's):
	// while there are any, nothing runs.
	Blocking []spec.Problem
}

// AssessOptions tune an assessment.
type AssessOptions struct {
	// All reports the problems of archived specs too, as warnings (they
	// never run, and never hold anything up): lint --all.
	All bool
	// Prompt is run's --prompt: the template every spec would run with.
	Prompt string
}

// Assess computes where every spec of set stands now.
func Assess(w *spec.Workspace, set *spec.Set, now time.Time, opts AssessOptions) (*Assessment, error) {
	a := &Assessment{Workspace: w, Set: set, States: make(map[string]*State, len(set.Specs))}
	owned, err := a.lint(opts)
	if err != nil {
		return nil, err
	}
	repo, err := gitrepo.Open(w.Root)
	stateDir := ""
	if repo != nil {
		stateDir = repo.StateDir()
	} else {
		// Nothing is approved against it, nothing runs.
		p := spec.Problem{Path: w.Config.Path, Line: 1, Col: 1, Severity: spec.SeverityError, Code: spec.CodeNotGit,
			Message: fmt.Sprintf("%v: chant runs specs against a git repository; make one with git init", err)}
		a.Problems = append([]spec.Problem{p}, a.Problems...)
		a.Blocking = append(a.Blocking, p)
	}
	cycles := map[string][]string{}
	for _, cyc := range set.Cycles() {
		ids := make([]string, len(cyc))
		for i, s := range cyc {
			ids[i] = s.ID
		}
		for _, s := range cyc {
			cycles[s.ID] = ids
		}
	}
	changed, err := verdicts(w, set, repo)
	if err != nil {
		return nil, err
	}
	stopped := func(*spec.Spec) string { return "" }
	if stateDir != "" {
		stopped = phase.Stopped(stateDir)
	}
	// In dependency order, so that a dependency's state is known first
	// (members of a cycle are blocked whatever their dependencies say).
	for _, s := range set.Order() {
		st := &State{Spec: s, Problems: owned[s.ID], Failure: s.VerificationFailures}
		a.States[s.ID] = st
		switch {
		case s.Archived:
			st.Kind = KindArchived
		case len(st.Errors()) > 0:
			st.Kind = KindInvalid
		case s.Status == spec.StatusCompleted:
			st.Kind = KindCompleted
			a.staleness(st, changed[s.ID], repo)
		case s.Status == spec.StatusCancelled:
			st.Kind = KindCancelled
		case s.Status == spec.StatusInProgress:
			st.Kind = KindInterrupted
			if stateDir != "" && phase.Running(stateDir, s.ID) {
				st.Kind = KindRunning
				st.Worker = phase.RunningOn(stateDir, s.ID)
			}
		case s.Status == spec.StatusPending, s.Status == spec.StatusFailed:
			if err := a.standing(st, cycles[s.ID], repo, now); err != nil {
				return nil, err
			}
			if st.Kind == KindReady {
				st.Stopped = stopped(s)
			}
		default: // paused, needs_attention, blocked
			st.Kind = KindHeld
		}
		if st.Kind != KindFailed {
			st.Failure = nil
		}
		if len(a.Blocking) > 0 && st.Kind == KindReady {
			// Nothing runs while the workspace has errors of its own.
			st.Kind, st.clear, st.Workspace = KindBlocked, false, true
		}
	}
	return a, nil
}

// standing decides a pending or failed spec's kind from its dependencies
// and its approval.
func (a *Assessment) standing(st *State, cycle []string, repo *gitrepo.Repo, now time.Time) error {
	s := st.Spec
	kind := KindReady
	switch {
	case len(cycle) > 0:
		st.Cycle = cycle
		kind = KindBlocked
	default:
		for _, id := range a.Set.Edges(s) {
			dep := a.States[id]
			switch {
			case dep == nil && a.Set.Get(id) != nil:
				// Not assessed yet: only in a cycle, which is handled above.
			case dep == nil:
				st.Blockers = append(st.Blockers, Dep{ID: id})
			case dep.Kind == KindInvalid || dep.Kind == KindCancelled || dep.Kind == KindBlocked:
				st.Blockers = append(st.Blockers, Dep{ID: id, Kind: dep.Kind, Status: dep.Spec.Status})
			case !dep.Done():
				st.Waits = append(st.Waits, Dep{ID: id, Kind: dep.Kind, Status: dep.Spec.Status})
			}
		}
		switch {
		case len(st.Blockers) > 0:
			kind = KindBlocked
		case len(st.Waits) > 0:
			kind = KindWaiting
		}
	}
	if s.Gate() {
		g, gateKind, err := a.gate(s, repo, now, kind == KindReady)
		if err != nil {
			return err
		}
		st.Gate = g
		if kind == KindReady {
			kind = gateKind
		}
	}
	st.clear = kind == KindReady
	st.Kind = kind
	if s.Status == spec.StatusFailed {
		st.Kind = KindFailed
	}
	return nil
}

// gate reads where a gate's approval stands; open says its dependencies
// are done (only then is an approval checked against what it covers, or a
// deadline running).
func (a *Assessment) gate(s *spec.Spec, repo *gitrepo.Repo, now time.Time, open bool) (*GateState, Kind, error) {
	ap := s.Approval
	g := &GateState{Status: ap.Status, By: ap.By, At: ap.At}
	switch ap.Status {
	case spec.ApprovalRejected:
		g.Reason = gate.RejectionReason(s)
		return g, KindRejected, nil
	case spec.ApprovalApproved:
		if !open {
			return g, KindReady, nil
		}
		if repo == nil {
			g.Void = "there is no git repository to check the approval against"
			return g, KindAwaiting, nil
		}
		if void := gate.Void(a.Workspace, a.Set, s, repo, agent.Files); void != "" {
			g.Void = void
			return g, KindAwaiting, nil
		}
		return g, KindReady, nil
	}
	deadline, err := gate.Deadline(a.Workspace, a.Set, s)
	if err != nil {
		return nil, "", err
	}
	g.Deadline = deadline
	if !deadline.IsZero() && now.After(deadline) {
		return g, KindExpired, nil
	}
	return g, KindAwaiting, nil
}

// lint gathers every problem, each once, and returns them by the spec they
// make invalid (a template's problem belongs to every spec that would run
// with it); the config's and the agent's are Blocking.
func (a *Assessment) lint(opts AssessOptions) (map[string][]spec.Problem, error) {
	w, set := a.Workspace, a.Set
	owned := map[string][]spec.Problem{}
	byPath := make(map[string]*spec.Spec, len(set.Specs))
	for _, s := range set.Specs {
		byPath[s.Path] = s
	}
	var all []spec.Problem
	add := func(p spec.Problem, owners ...*spec.Spec) {
		var kept []*spec.Spec
		for _, s := range owners {
			if s != nil && s.Archived {
				if !opts.All {
					continue
				}
				if p.Severity == spec.SeverityError {
					p.Severity = spec.SeverityWarning
					p.Message += " (archived: it never runs)"
				}
			}
			kept = append(kept, s)
		}
		if len(owners) > 0 && len(kept) == 0 {
			return // only archived specs' problems
		}
		all = append(all, p)
		if len(owners) == 0 {
			if p.Severity == spec.SeverityError {
				a.Blocking = append(a.Blocking, p)
			}
			return
		}
		for _, s := range kept {
			owned[s.ID] = append(owned[s.ID], p)
		}
	}
	// What the spec files say.
	owner := func(path string) *spec.Spec {
		if s := byPath[path]; s != nil {
			return s
		}
		return set.Get(spec.IDFromPath(path)) // a duplicate of its ID
	}
	for _, p := range append(set.Problems(), w.PathProblems(set)...) {
		if s := owner(p.Path); s != nil {
			add(p, s)
		} else {
			add(p)
		}
	}
	// The config and the agent.
	for _, p := range append(spec.ConfigProblems(w.Config), agent.ConfigProblems(w)...) {
		add(p)
	}
	// The prompt templates specs that may still run would run with.
	if err := a.promptProblems(opts.Prompt, add); err != nil {
		return nil, err
	}
	// The replay agent's recordings.
	if p := w.Config.Defaults.Provider; p == "" || p == "replay" {
		if replay, err := agent.ReplayFor(w); err == nil {
			for _, rp := range replay.Problems(w, set) {
				add(rp.Problem, set.Get(rp.Spec))
			}
		}
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].Path != all[j].Path {
			return all[i].Path < all[j].Path
		}
		return all[i].Line < all[j].Line
	})
	a.Problems = all
	return owned, nil
}

// mayRun reports whether a spec may still run (and so needs its prompt).
func mayRun(s *spec.Spec) bool {
	switch s.Status {
	case spec.StatusPending, spec.StatusFailed, spec.StatusInProgress:
		return !s.Archived
	}
	return false
}

// promptProblems checks the templates that specs which may still run would
// run with: a template that does not exist (where the agent needs one), and
// unknown placeholders. Templates no spec uses are not checked: Chant's
// own, for instance, may use placeholders chant does not know.
func (a *Assessment) promptProblems(override string, add func(spec.Problem, ...*spec.Spec)) error {
	w := a.Workspace
	needsPrompt := w.Config.Defaults.Provider != "" && w.Config.Defaults.Provider != "replay"
	users := map[string][]*spec.Spec{}
	var names []string
	for _, s := range a.Set.Specs {
		if !mayRun(s) || s.Prompt != "" && !spec.ValidPromptName(s.Prompt) {
			continue // a bad name is the spec's own problem
		}
		name := spec.PromptName(w.Config, s, override)
		if !spec.ValidPromptName(name) {
			continue // defaults.prompt: the config's problem
		}
		if users[name] == nil {
			names = append(names, name)
		}
		users[name] = append(users[name], s)
	}
	for _, name := range names {
		data, err := w.ReadPrompt(name)
		if errors.Is(err, fs.ErrNotExist) {
			if !needsPrompt {
				continue // the replay agent needs no prompt
			}
			msg := fmt.Sprintf("prompt template %q does not exist: write .chant/prompts/%s.md (built in: %s)", name, name, strings.Join(templates.PromptNames(), ", "))
			var viaConfig []*spec.Spec
			for _, s := range users[name] {
				if s.Prompt == name && override == "" {
					add(spec.Problem{Path: s.Path, Line: s.KeyLine("prompt"), Col: 1, Severity: spec.SeverityError, Code: spec.CodePrompt, Message: msg}, s)
				} else {
					viaConfig = append(viaConfig, s)
				}
			}
			if len(viaConfig) > 0 {
				add(spec.Problem{Path: w.Config.Path, Line: w.Config.KeyLine("defaults", "prompt"), Col: 1, Severity: spec.SeverityError, Code: spec.CodePrompt, Message: msg}, viaConfig...)
			}
			continue
		}
		path := w.Rel(w.PromptPath(name))
		if err != nil {
			add(spec.Problem{Path: path, Line: 1, Col: 1, Severity: spec.SeverityError, Code: spec.CodePrompt, Message: err.Error()}, users[name]...)
			continue
		}
		if _, builtin := templates.Prompt(name); builtin && !fileExists(w.PromptPath(name)) {
			continue // the built-in template is known good
		}
		for _, p := range agent.UnknownPlaceholders(data) {
			p.Path = path
			add(p, users[name]...)
		}
	}
	return nil
}

// Kinds lists every kind, for messages and filters.
func Kinds() []Kind {
	return slices.Clone(allKinds)
}

var allKinds = []Kind{KindCompleted, KindStale, KindArchived, KindInvalid, KindCancelled, KindRunning, KindInterrupted, KindFailed,
	KindHeld, KindBlocked, KindWaiting, KindAwaiting, KindRejected, KindExpired, KindReady}

func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
