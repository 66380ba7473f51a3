// Package runner schedules a run: from where every spec stands (package
// plan), it takes over what an interrupted run left, and runs the ready
// specs in dependency order, one after another or side by side
// (Options.Parallel, or on an engine's workers), each as a phase (package
// phase) that an agent (package agent) does.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/chant-run/chant/internal/agentstream"
	"github.com/chant-run/chant/internal/fault"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/isolation"
	"github.com/chant-run/chant/internal/procs"
	"github.com/chant-run/chant/internal/sandbox"
	"github.com/chant-run/chant/runner/agent"
	"github.com/chant-run/chant/runner/phase"
	"github.com/chant-run/chant/runner/plan"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/store"
)

var (
	// ErrPhaseFailed means a phase's agent failed or its work did not verify.
	ErrPhaseFailed = fault.New(fault.Failed, "phase failed")
	// ErrRunInProgress means another chant run holds the workspace.
	ErrRunInProgress = fault.New(fault.Input, "another chant run is in progress")
	// ErrInvalid means a spec named to run has lint errors.
	ErrInvalid = fault.New(fault.Input, "invalid spec")
)

// Options configure a run.
type Options struct {
	Workspace *spec.Workspace // the workspace found from the command line
	IDs       []string        // run only these specs (partial IDs); all ready ones when empty
	Agent     agent.Agent     // nil: the agent the config asks for
	Out       io.Writer       // progress lines
	Stream    io.Writer       // the agent's output as it happens; nil for quiet
	Prompt    string          // prompt template for every spec (--prompt)
	// SkipCriteria completes a spec whose acceptance criteria are not all
	// checked; it is recorded as verification_status: partial.
	SkipCriteria bool
	// Record saves what the agent did as a replay recording in the
	// recordings directory, committed with the spec.
	Record bool
	// FailFast stops the run at the first failure; otherwise a failure
	// stops only what depends on the failed spec.
	FailFast bool
	// Parallel is how many specs may run at once (see runParallel); 0 or
	// 1 runs them one after another.
	Parallel int
	// Events, when set, is given an Event as each phase starts and ends,
	// one at a time (chant run --json).
	Events func(Event)
	// Activity, when set, is told when an agent, a check or a setup
	// command starts and ends, for a display that shows it running.
	Activity func(phase.Activity)
	// Engine, when set, runs each phase's agent and verification on its
	// workers (see Engine); the run lands what they verified. A run with
	// an engine is a parallel run (Parallel phases at once, at least 1).
	Engine phase.Engine
	// EngineRepo is where the engine's workers fetch the repository from
	// ("": this repository's path).
	EngineRepo string
	// Stale runs stale specs again too (see plan's stale.go), once what
	// they depend on is not stale.
	Stale bool
	// Budget bounds what the run's agents may cost in all, as their CLIs
	// report it (0: no bound): once spent, no phase starts.
	Budget float64
	Now    func() time.Time
}

func (o *Options) validate() error {
	if o.Workspace == nil {
		return errors.New("runner: no workspace")
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Parallel < 0 || o.Parallel > spec.MaxParallel {
		return fmt.Errorf("runner: parallel %d: not 0 to %d", o.Parallel, spec.MaxParallel)
	}
	if o.Parallel > 1 || o.Engine != nil {
		// Phases side by side (or on workers, in the parallel loop) write
		// lines at once; their agents' output would interleave, and goes
		// to their logs alone.
		o.Out = procs.NewLockedWriter(o.Out)
		o.Stream = nil
	}
	if o.Engine != nil && o.Parallel < 1 {
		o.Parallel = 1
	}
	if o.Engine != nil && o.Record {
		return errors.New("runner: --record records an agent run here; with an engine, agents run on workers")
	}
	if o.Prompt != "" && !spec.ValidPromptName(o.Prompt) {
		return fmt.Errorf("%w %q: not a template name (letters, digits, '.', '-', '_'; the template is .chant/prompts/<name>.md)", agent.ErrPrompt, o.Prompt)
	}
	return nil
}

// Report is what a run did and where it stopped.
type Report struct {
	Workspace *spec.Workspace // the workspace that ran
	Ran       []Phase
	Failed    []*Phase // of Ran, those that failed
	// Stopped are phases a --fail-fast parallel run stopped when another
	// failed, or that the run gave up for an engine out of reach
	// (ErrEngineUnreachable): their specs are as they were before the run.
	Stopped []Phase
	// Refused are specs that were not run, each with why: the user's own
	// changes in its target files, a symbolic link where chant writes, an
	// approval that no longer holds. They are as they were.
	Refused []Refusal
	// Named are the specs named on the command line, resolved; nil for a
	// run of everything ready.
	Named []string
	// Final is where the specs stand after the run: every spec, or with
	// specs named, those they stand on (see scope).
	Final *plan.Assessment
	// Spent is what the run's agents reported they cost (those that
	// reported a price); OverBudget: it reached Options.Budget, and the
	// run started no phase since.
	Spent      float64
	OverBudget bool
}

// Refusal is a spec a run did not run, and why.
type Refusal struct {
	Spec *spec.Spec
	Err  error
}

// Phase is one spec's execution.
type Phase struct {
	Spec     *spec.Spec
	Duration time.Duration
	phase.Outcome
	Err error // why it failed
}

// Run runs every ready spec, one after another in dependency order, until
// none is ready. A failure stops only what depends on it (the run ends with
// ErrPhaseFailed), or the whole run with FailFast.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	w := opts.Workspace
	rep := &Report{Workspace: w}
	release, err := holdRun(w, opts.Now())
	if err != nil {
		return rep, err
	}
	defer release()
	// Everything is checked before anything is written. The specs are
	// loaded again before each phase, reading only files that changed;
	// the listing cache is read while the repository is repaired.
	specs := store.NewReloader(w)
	defer specs.Close()
	repo, err := openRepaired(w, opts.Out)
	if err != nil {
		return rep, err
	}
	if len(opts.IDs) > 0 {
		// Only what the named specs stand on is read (see scope), and
		// what an interrupted run left, which resume takes over.
		specs.Narrow(opts.IDs, phase.Unfinished(repo.StateDir()))
	}
	set, err := specs.Load()
	if err != nil {
		return rep, err
	}
	named, a, err := check(w, set, opts, rep)
	if err != nil {
		return rep, err
	}
	r, err := prepare(w, repo, set, opts)
	if err != nil {
		return rep, err
	}
	r.assessed = a // of set, which r.set is
	r.named = rep.Named
	if err := r.resume(ctx, rep); err != nil {
		return rep, err
	}
	tried := map[string]bool{} // a spec runs at most once in a run
	for _, ph := range rep.Ran {
		tried[ph.Spec.ID] = true // resumed
	}
	sc := &scheduler{r: r, rep: rep, named: named, tried: tried}
	loop := sc.sequential
	if opts.Parallel > 1 || opts.Engine != nil {
		loop = sc.parallel
	}
	if err := loop(ctx, specs); err != nil {
		return rep, err
	}
	return rep, r.end(rep, specs, named)
}

// openRepaired opens w's repository, finishing (or undoing) what a command
// killed in the middle of a landing left, before anything is read.
func openRepaired(w *spec.Workspace, out io.Writer) (*gitrepo.Repo, error) {
	repo, err := gitrepo.Open(w.Root)
	if errors.Is(err, gitrepo.ErrNotRepository) {
		return nil, fmt.Errorf("%w; chant runs specs against a git repository: make one with git init", err)
	}
	if err != nil {
		return nil, err
	}
	unlock, err := w.Lock()
	if err != nil {
		return nil, err
	}
	// Repair less its sweep of temporary files, which the first phase's
	// Repair makes once the specs are listed (nothing to read again when
	// that listing found none: see safefs.FileNames).
	fixed, err := repo.Recover()
	unlock()
	if err != nil {
		return nil, err
	}
	for _, f := range fixed {
		fmt.Fprintf(out, "Repaired: %s\n", f)
	}
	return repo, nil
}

// check refuses a run that cannot start (the config's or the agent's
// problems, a named spec that is invalid) and resolves the specs named on
// the command line (into rep.Named).
func check(w *spec.Workspace, set *spec.Set, opts Options, rep *Report) (map[string]bool, *plan.Assessment, error) {
	named := map[string]bool{}
	var unresolved error
	for _, id := range opts.IDs {
		s, err := set.Resolve(id)
		if err != nil {
			unresolved = err
			break
		}
		if !named[s.ID] {
			rep.Named = append(rep.Named, s.ID)
		}
		named[s.ID] = true
	}
	a, err := plan.Assess(w, scope(set, opts, rep.Named), opts.Now(), plan.AssessOptions{Prompt: opts.Prompt})
	if err != nil {
		return nil, nil, err
	}
	if len(a.Blocking) > 0 {
		return nil, nil, problemErrors(a.Blocking)
	}
	if unresolved != nil {
		return nil, nil, unresolved
	}
	for _, id := range rep.Named {
		if st := a.States[id]; st.Kind == plan.KindInvalid {
			return nil, nil, fmt.Errorf("%w: %s is invalid: %w", ErrInvalid, id, problemErrors(st.Errors()))
		}
	}
	return named, a, nil
}

// scope is what a run assesses of set: with specs named on the command
// line, only the specs they stand on (spec's Closure: what they depend on,
// their groups), whose states are what assessing them all would find,
// so that a phase in a workspace of 10,000 specs does not lint and assess
// the 10,000 twice; else every spec.
func scope(set *spec.Set, opts Options, named []string) *spec.Set {
	if len(opts.IDs) == 0 {
		return set
	}
	return set.Closure(named)
}

// prepare makes the run: its agent and sandbox (no sandbox, no run, unless
// the config says sandbox: off: said before anything starts), its first
// worktree, and git told to ignore chant's logs.
func prepare(w *spec.Workspace, repo *gitrepo.Repo, set *spec.Set, opts Options) (*run, error) {
	ag := opts.Agent
	if ag == nil && opts.Engine == nil {
		var err error
		if ag, err = agent.For(w, opts.Record, opts.Stream); err != nil {
			return nil, err
		}
	}
	policy, err := agent.SandboxPolicy(w)
	if err != nil {
		return nil, err
	}
	// The worktree cache's limit: those of repositories that are gone go
	// (a failure to remove them is not this run's).
	isolation.PruneGone(isolation.BaseDir())
	tree, err := phase.OpenTree("", repo, w.InRepo(repo.Root).Of("."), "phase")
	if err != nil {
		return nil, err
	}
	unlock, err := w.Lock() // every git write, info/exclude included
	if err != nil {
		return nil, err
	}
	err = repo.Exclude(w.RepoPatterns(repo.Root)...)
	unlock()
	if err != nil {
		return nil, err
	}
	return newRun(opts, repo, set, ag, policy, tree), nil
}

// end fills in the report's failures and where every spec stands, and
// says how the run ended.
func (r *run) end(rep *Report, specs *store.Reloader, named map[string]bool) error {
	for i := range rep.Ran {
		if rep.Ran[i].Err != nil {
			rep.Failed = append(rep.Failed, &rep.Ran[i])
		}
	}
	set, err := specs.Load()
	if err != nil {
		return err
	}
	specs.Close() // the last load: the watch ends while the specs are assessed
	final, err := r.assess(set)
	if err != nil {
		return err
	}
	rep.Final = final
	rep.Spent, rep.OverBudget = r.spending()
	order := map[string]int{}
	for i, s := range final.Set.Order() {
		order[s.ID] = i
	}
	sort.SliceStable(rep.Stopped, func(i, j int) bool { return order[rep.Stopped[i].Spec.ID] < order[rep.Stopped[j].Spec.ID] })
	switch {
	case len(rep.Failed) > 0:
		ids := make([]string, len(rep.Failed))
		for i, f := range rep.Failed {
			ids[i] = f.Spec.ID
		}
		return fmt.Errorf("%w: %s", ErrPhaseFailed, strings.Join(ids, ", "))
	case len(rep.Refused) > 0:
		return rep.Refused[0].Err
	case len(rep.Stopped) > 0:
		return rep.Stopped[0].Err // the engine out of reach
	case len(named) > 0:
		return nil
	}
	var ids []string
	var problems []spec.Problem
	for _, s := range final.Set.Order() {
		if st := final.States[s.ID]; st.Kind == plan.KindInvalid {
			ids = append(ids, s.ID)
			problems = append(problems, st.Errors()...)
		}
	}
	if len(ids) > 0 {
		return fmt.Errorf("%w: %s did not run: %w", ErrInvalid, strings.Join(ids, ", "), problemErrors(problems))
	}
	return nil
}

// problemErrors turns lint problems into errors naming file and line.
func problemErrors(problems []spec.Problem) spec.Errors {
	var errs spec.Errors
	for _, p := range problems {
		errs = append(errs, &spec.Error{Path: p.Path, Line: p.Line, Col: p.Col, Msg: p.Message})
	}
	return errs
}

// run is a run's scheduling; what its phases share is its Env.
type run struct {
	*phase.Env
	opts Options
	mu   sync.Mutex // guards set and assessed (a parallel run's phases read set)
	set  *spec.Set  // the specs as last loaded
	tree *isolation.Tree
	// assessed is the assessment of the specs as last loaded: the
	// Reloader gives the same set when no spec changed, which is then not
	// assessed (linted, its gates checked) again.
	assessed *plan.Assessment
	named    []string // the specs named on the command line, by ID (see scope)

	eventsMu sync.Mutex // one event at a time (tell)

	spendMu sync.Mutex // guards spent, told by phases side by side
	spent   float64    // what the run's agents reported they cost
}

// spend counts what a phase's agent reported it cost, as soon as its
// attempt ends (before it lands, in a parallel run).
func (r *run) spend(_ string, u agentstream.Usage) {
	if u.Priced {
		r.spendMu.Lock()
		r.spent += u.CostUSD
		r.spendMu.Unlock()
	}
}

// overBudget reports whether the run has spent its budget (no phase
// starts then).
func (r *run) overBudget() bool {
	_, over := r.spending()
	return over
}

// spending is what the run's agents reported they cost so far, and
// whether that reaches its budget.
func (r *run) spending() (float64, bool) {
	r.spendMu.Lock()
	defer r.spendMu.Unlock()
	return r.spent, r.opts.Budget > 0 && r.spent >= r.opts.Budget
}

// newRun is the run of opts in repo, with the specs as loaded (set).
func newRun(opts Options, repo *gitrepo.Repo, set *spec.Set, ag agent.Agent, policy *sandbox.Policy, tree *isolation.Tree) *run {
	w := opts.Workspace
	r := &run{opts: opts, set: set, tree: tree}
	r.Env = &phase.Env{Workspace: w, Repo: repo, Paths: w.InRepo(repo.Root), StateDir: repo.StateDir(), Agent: ag, Sandbox: policy,
		Specs: r.loaded, Prompt: opts.Prompt, SkipCriteria: opts.SkipCriteria, Record: opts.Record,
		Engine: opts.Engine, EngineRepo: opts.EngineRepo, Now: opts.Now, OnActivity: opts.Activity, OnUsage: r.spend}
	return r
}

// notRun reports whether a phase's error means its spec was refused
// before anything ran (the user's changes in its targets, a link where
// chant writes, an approval that does not hold, no sandbox to be had).
func notRun(err error) bool {
	return errors.Is(err, phase.ErrDirtyTargets) || errors.Is(err, phase.ErrUnsafePath) || errors.Is(err, phase.ErrNotApproved) ||
		errors.Is(err, sandbox.ErrUnavailable)
}

// reload reads the specs again (only what changed) and assesses them,
// unless none changed since they were last assessed.
func (r *run) reload(specs *store.Reloader) (*plan.Assessment, error) {
	set, err := specs.Load()
	if err != nil {
		return nil, err
	}
	return r.assess(set)
}

// assess returns the assessment of set: the last one when set is the one
// last assessed.
func (r *run) assess(set *spec.Set) (*plan.Assessment, error) {
	r.mu.Lock()
	last := r.assessed
	if set != r.set {
		last = nil
	}
	r.set = set
	r.mu.Unlock()
	if last != nil {
		return last, nil
	}
	a, err := plan.Assess(r.Workspace, scope(set, r.opts, r.named), r.opts.Now(), plan.AssessOptions{Prompt: r.opts.Prompt})
	if err == nil {
		r.mu.Lock()
		r.assessed = a
		r.mu.Unlock()
	}
	return a, err
}

// loaded returns the specs as last loaded.
func (r *run) loaded() *spec.Set {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.set
}

// runOne runs the phase of one spec in tree, saying so on the run's
// output, and reports how it went; turn, if set, is called before the
// phase changes the branch (see phase.Turn).
func (r *run) runOne(ctx context.Context, s *spec.Spec, tree *isolation.Tree, turn phase.Turn) *Phase {
	out := r.opts.Out
	start := r.opts.Now()
	ph := &Phase{Spec: s}
	fmt.Fprintf(out, "run   %-20s %s\n", s.ID, s.Title)
	r.tell(Event{Event: "start", ID: s.ID, Title: s.Title})
	ph.Outcome, ph.Err = r.Execute(ctx, s, tree, turn)
	ph.Duration = r.opts.Now().Sub(start).Round(10 * time.Millisecond)
	defer r.tell(endEvent(ph))
	switch {
	case notRun(ph.Err):
		fmt.Fprintf(out, "skip  %-20s %s  (not run)\n", s.ID, s.Title)
	case errors.Is(ph.Err, phase.ErrStopped):
		fmt.Fprintf(out, "stop  %-20s %s  (%v after %s; it runs with the next run)\n", s.ID, s.Title, ph.Err, ph.Duration)
	case ph.Err != nil:
		fmt.Fprintf(out, "FAIL  %-20s %s  (failed after %s)\n", s.ID, s.Title, ph.Duration)
	default:
		how := "commit " + ph.Commit
		if ph.Unchanged {
			how = "its work unchanged since commit " + ph.Commit
		}
		if ph.Reproduced {
			how += "; its output is what it was, so nothing built on it is stale on its account"
		}
		fmt.Fprintf(out, "ok    %-20s %s  (completed in %s, %s)\n", s.ID, s.Title, ph.Duration, how)
	}
	return ph
}

// resume takes over what a run killed at any instant left (phase.Resume),
// before anything else runs: this run holds the run lock, so no other run
// is active, and git has been repaired.
func (r *run) resume(ctx context.Context, rep *Report) error {
	resumed, err := r.Resume(ctx, r.set, r.tree, r.opts.Out)
	for _, res := range resumed {
		rep.Ran = append(rep.Ran, Phase{Spec: res.Spec, Outcome: res.Outcome, Err: res.Err})
	}
	return err
}
