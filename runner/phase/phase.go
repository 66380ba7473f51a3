package phase

import (
	"context"
	"errors"
	"fmt"
	"github.com/chant-run/chant/spec/cost"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/chant-run/chant/gate"
	"github.com/chant-run/chant/internal/agentstream"
	"github.com/chant-run/chant/internal/bookkeeping"
	"github.com/chant-run/chant/internal/fault"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/isolation"
	"github.com/chant-run/chant/internal/procs"
	"github.com/chant-run/chant/internal/safefs"
	"github.com/chant-run/chant/internal/sandbox"
	"github.com/chant-run/chant/internal/textsafe"
	"github.com/chant-run/chant/runner/agent"
	"github.com/chant-run/chant/runner/verdict"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/doc"
)

// A phase:
//
//  1. begin, under the workspace lock: refuse the spec if the user has
//     uncommitted changes in its target files; mark it in_progress; read
//     its contract once (spec, prompt template, config, context), which
//     the rest of the phase uses and never reads again;
//  2. the agent works in the phase worktree at the branch's commit;
//  3. chant kills whatever the agent left running, puts back any git
//     configuration it changed, and compares the worktree with the
//     commit: only the declared targets and ticks of the spec's own boxes
//     may have changed; the checks run there;
//  4. the work lands: a commit chant builds of exactly the targets, then
//     the record of the spec, on the branch; the same paths are written
//     into the user's working tree and index.
//
// Failures are recorded in the spec and committed alone: nothing of the
// agent's work reaches the branch.

// phase is one spec's run across its steps.
type phase struct {
	env      *Env
	spec     *spec.Spec // the spec as read at its start (in_progress): its contract
	snapshot []byte     // its bytes: what the user's spec file holds during the phase
	contract *spec.Contract
	specRel  string // the spec file, relative to the repository root
	prog     *progress
	log      io.Writer
	tree     *isolation.Tree // the worktree the phase works in
	cage     *sandbox.Cage   // the sandbox of its processes (nil: sandbox: off)
	// What verification found to land: each target's content.
	work map[string]landedFile
	// ticks are the boxes the agent ticked, read from the worktree once.
	ticks     []int
	ticksRead bool
	before    []byte // the spec file before the phase
	// kept is the commit of its refused work, when it was kept (see
	// keepAttempt).
	kept plumbing.Hash
	// render, when set, gives the prompt (a worker's: rendered by the run
	// that sent the phase).
	render func() (string, error)
	// reproduced: its outputs are those its last phase recorded.
	reproduced bool
}

// Env is what the phases of a run, or of a worker, share, read by each
// phase and never changed by it: where they work, with which agent and
// sandbox, under which options. A phase has no other way to its run.
type Env struct {
	Workspace *spec.Workspace
	Repo      *gitrepo.Repo
	Paths     spec.RepoPaths // the workspace's paths in the repository
	StateDir  string         // chant's state directory (progress files, scratch)
	Agent     agent.Agent
	Sandbox   *sandbox.Policy // what a phase's processes may do; nil: sandbox: off
	// Shared, in a parallel run or on a worker, watches git's
	// configuration for all phases at once; nil: each phase watches it.
	Shared *SharedGuard
	// Specs returns the specs as last loaded (a gate's contract covers
	// its dependencies' work).
	Specs        func() *spec.Set
	Prompt       string // run --prompt
	SkipCriteria bool   // complete a spec whose criteria are not all checked
	Record       bool   // save what the agent did as a replay recording
	Engine       Engine // nil: phases run here
	EngineRepo   string // where the engine's workers fetch from ("": the repository)
	Now          func() time.Time
	OnActivity   func(Activity) // nil: nobody is told
	// OnUsage, when set, is told what a phase's agent reported it used, as
	// soon as its attempt ends.
	OnUsage func(spec string, u agentstream.Usage)
}

type landedFile struct {
	mode uint32
	data []byte
}

var (
	// ErrDirtyTargets means the user has uncommitted changes in a spec's
	// target files: it does not run, so that nothing of theirs is
	// committed or overwritten.
	ErrDirtyTargets = fault.New(fault.Input, "uncommitted changes in target files")
	// ErrUnsafePath means a file chant writes (a log, a recording) is, or
	// lies behind, a symbolic link or a special file.
	ErrUnsafePath = fault.New(fault.Input, "unsafe path")
)

// DirtyTargetsError names the spec and the files.
type DirtyTargetsError struct {
	Spec  string
	Paths []string
}

func (e *DirtyTargetsError) Error() string {
	return fmt.Sprintf("%s: %s: %s; commit or stash them first (chant never commits or overwrites your changes)",
		e.Spec, ErrDirtyTargets, strings.Join(e.Paths, ", "))
}

func (e *DirtyTargetsError) Unwrap() error { return ErrDirtyTargets }

var (
	// ErrNotApproved means a gate's approval does not hold at the moment
	// its phase reads its contract.
	ErrNotApproved = fault.New(fault.Input, "not approved")
	// ErrStopped means a phase was stopped before it came to anything (a
	// parallel run --fail-fast stopped it when another failed; the engine
	// was out of reach): its spec is back as it was, to run with the next
	// run.
	ErrStopped = errors.New("stopped")
)

// readContract reads what the phase of s is given. A gate's is read
// through what its approval covers, and only when the approval holds
// against it (gate's verdict), so that its agent is given exactly what was
// approved.
func (r *Env) readContract(s *spec.Spec) (*spec.Contract, error) {
	if !s.Gate() {
		return spec.ReadContract(r.Workspace, s, r.Prompt)
	}
	c, err := gate.Cover(r.Workspace, r.Specs(), s, r.Prompt, r.Repo, agent.Files)
	if err != nil {
		return nil, err
	}
	if why := c.Verdict(); why != "" {
		return nil, fmt.Errorf("%s: %w: %s", s.ID, ErrNotApproved, why)
	}
	if gate.Spent(s) {
		return nil, fmt.Errorf("%s: %w: its approval was spent by its last phase; approve it again", s.ID, ErrNotApproved)
	}
	return c.Contract, nil
}

// Outcome is what a phase came to, besides its error.
type Outcome struct {
	Commit string // short SHA of the work commit
	// Unchanged: the agent's result is what the spec's earlier commit
	// holds (after a reset); Commit is that commit, and only the record
	// was committed.
	Unchanged bool
	// Reproduced: its target files are what its last phase made (early
	// cutoff: what depends on it is not stale on its account).
	Reproduced   bool
	Verification *verdict.Verification
	// Usage is what its agent's CLI reported it used.
	Usage agentstream.Usage
}

// Turn is called once a phase's work is verified or failed, before the
// phase changes the branch: a parallel run waits there for the phase's
// turn to land. releaseTree gives up the phase's worktree (what it lands
// is in memory; its progress says so first) and reports whether it could.
type Turn func(releaseTree func() bool, failing bool)

// Execute runs the phase of s in tree: its steps, from begin to landing
// (see the top of this file). Any failure of the phase is recorded in the
// spec and returned. turn, when set, is called before the phase changes
// the branch.
func (r *Env) Execute(ctx context.Context, s *spec.Spec, tree *isolation.Tree, turn Turn) (Outcome, error) {
	var out Outcome
	err := r.execute(ctx, s, &out, tree, turn)
	return out, err
}

func (r *Env) execute(ctx context.Context, s *spec.Spec, ph *Outcome, tree *isolation.Tree, turn Turn) error {
	logFile, err := r.openLog(s.ID)
	if err != nil {
		return err
	}
	defer logFile.Close()
	p, err := r.begin(s, tree)
	if err != nil {
		return err
	}
	p.log = logFile
	// The phase's commands share a cage (sandbox: held.go), idle once the
	// attempt is over (its keeper has killed all else): ended when the
	// phase is, or when its tree may go to another phase, so that the
	// namespaces' teardown does not compete with the landing.
	defer func() { p.cage.Close() }()
	fmt.Fprint(logFile, logHeader(r.Now(), s))
	attempt := p.attempt
	if r.Engine != nil {
		attempt = p.attemptRemote
	}
	res, v, err := attempt(ctx)
	ph.Usage = p.prog.Usage
	if r.OnUsage != nil {
		r.OnUsage(s.ID, ph.Usage)
	}
	if p.prog.Key != "" {
		// Whatever becomes of it here, the engine may forget its result.
		defer r.Engine.Done(p.prog.Key)
	}
	if res == nil {
		res = &agent.Result{}
	}
	ph.Verification = v
	stopped := ctx.Err() != nil && errors.Is(context.Cause(ctx), ErrStopped)
	switch {
	case stopped:
		// Whatever the agent and checks did was cut short: nothing of it
		// is judged.
		err = context.Cause(ctx)
	case err == nil && ctx.Err() != nil:
		err = fmt.Errorf("%w while checking", agent.ErrInterrupted)
	}
	if err == nil && !v.OK() {
		err = errors.New(strings.Join(v.Problems(), "; "))
	}
	if stopped || errors.Is(err, sandbox.ErrUnavailable) || errors.Is(err, ErrEngineUnreachable) {
		// Bubblewrap refused the cage (the kernel's answer kept by the
		// probe went stale): the spec did not fail, nothing ran. Or the
		// engine was out of reach for longer than the phase may take: it
		// did not fail here either, and the next run takes its result.
		return p.stop(err)
	}
	if turn != nil {
		p.cage.Close()
		turn(p.releaseTree, err != nil)
	}
	if err != nil {
		return p.fail(res.Output, v, err)
	}
	p.prog.Step, p.prog.Output, p.prog.Model, p.prog.Author = stepVerified, res.Output, res.Model, res.Author
	if err := saveProgress(r.StateDir, p.prog); err != nil {
		return p.fail(res.Output, v, fmt.Errorf("the work was verified but not committed: %w", err))
	}
	commit, err := p.land(v)
	ph.Commit = commit
	ph.Unchanged = len(p.work) == 0 && len(s.Commits) > 0
	// Said of a re-run of a completed spec, where what depends on it may be
	// built on its output (not of a run after a reset).
	ph.Reproduced = p.reproduced && s.Status == spec.StatusCompleted
	return err
}

// releaseTree records that the phase no longer needs its worktree (what
// it lands is in memory), and reports whether it could: a run killed from
// then on runs the phase again rather than verify it in a worktree another
// phase may use.
func (p *phase) releaseTree() bool {
	p.ticked() // read from the worktree while it is the phase's
	p.prog.Released = true
	if saveProgress(p.env.StateDir, p.prog) == nil {
		return true
	}
	p.prog.Released = false // it keeps its worktree until it ends
	return false
}

// begin starts a phase under the workspace lock.
func (r *Env) begin(s *spec.Spec, tree *isolation.Tree) (*phase, error) {
	unlock, err := r.Workspace.Lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := bookkeeping.Repair(r.Workspace, r.Repo); err != nil {
		return nil, err
	}
	head, err := r.Repo.ReadHead()
	if err != nil {
		return nil, err
	}
	if err := r.checkTargets(s, head); err != nil {
		return nil, err
	}
	ed, err := r.Workspace.EditLocked(s.ID, setStatus(spec.StatusInProgress))
	if err != nil {
		return nil, err
	}
	p := &phase{env: r, spec: ed.Spec, snapshot: ed.New, specRel: r.Paths.Abs(r.Workspace.SpecPath(s.ID)), tree: tree, before: ed.Old}
	if p.contract, err = r.readContract(p.spec); err != nil {
		return nil, err
	}
	kept := keptPath(r.StateDir, s.ID)
	os.Remove(kept) // a crashed phase's
	if err := os.MkdirAll(progressDir(r.StateDir), 0o777); err != nil {
		return nil, err
	}
	// Another file system (a workspace linked into the repository) has
	// its spec put back by writing it.
	os.Link(ed.Path, kept)
	if err := safefs.WriteFileAtomic(ed.Path, ed.New); err != nil {
		os.Remove(kept)
		return nil, err
	}
	p.prog = &progress{Spec: s.ID, Step: stepRunning, Base: head.Commit.String(), Branch: head.Branch, Slot: tree.Slot()}
	if err := saveProgress(r.StateDir, p.prog); err != nil {
		if perr := p.putBack(); perr != nil {
			return nil, fmt.Errorf("%w (and putting its spec back: %v)", err, perr)
		}
		removeProgress(r.StateDir, s.ID)
		return nil, err
	}
	dropStopped(r.StateDir, s.ID) // it runs again
	return p, nil
}

// errSpecChanged means the spec file no longer holds what the phase
// wrote there: someone changed it meanwhile.
var errSpecChanged = errors.New("the spec file changed during the phase")

// putBack puts the spec file back as it was before the phase, if it still
// holds what the phase wrote (errSpecChanged if not): by renaming the kept
// file (keptPath) over it, which needs no free space, or else by writing
// it. The caller holds the workspace lock.
func (p *phase) putBack() error {
	path := p.env.Workspace.SpecPath(p.spec.ID)
	if cur, err := os.ReadFile(path); err != nil || string(cur) != string(p.snapshot) || p.before == nil {
		return errSpecChanged
	}
	kept := keptPath(p.env.StateDir, p.spec.ID)
	if data, err := os.ReadFile(kept); err == nil && string(data) == string(p.before) {
		if err := os.Rename(kept, path); err == nil {
			if d, err := os.Open(filepath.Dir(path)); err == nil {
				d.Sync()
				d.Close()
			}
			return nil
		}
	}
	return safefs.WriteFileAtomic(path, p.before)
}

// checkTargets refuses a spec whose target files the user has changed and
// not committed (in the working tree or staged).
func (r *Env) checkTargets(s *spec.Spec, head gitrepo.Head) error {
	rels := make([]string, len(s.TargetFiles))
	for i, t := range s.TargetFiles {
		rels[i] = r.Paths.Of(t)
	}
	staged, err := r.Repo.IndexFiles(rels)
	if err != nil {
		return err
	}
	var dirty []string
	for i, rel := range rels {
		committed, err := r.Repo.FileAt(head.Commit, rel)
		if err != nil {
			return err
		}
		cur, err := r.Repo.WorkFile(rel)
		if err != nil {
			return err
		}
		if cur != committed || staged[rel] != committed {
			dirty = append(dirty, s.TargetFiles[i])
		}
	}
	if len(dirty) > 0 {
		return &DirtyTargetsError{Spec: s.ID, Paths: dirty}
	}
	return nil
}

// attempt prepares the worktree, runs the agent there and verifies what it
// did.
func (p *phase) attempt(ctx context.Context) (*agent.Result, *verdict.Verification, error) {
	r := p.env
	// Once the phase is done with its tree, what the kernel noted there
	// (see prepare) makes it known again cheaply, for the next phase or
	// process.
	defer p.tree.Settle()
	guard, leave, err := p.prepare(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer leave()
	p.prog.Marker = procs.NewMarker()
	if err := saveProgress(r.StateDir, p.prog); err != nil {
		return nil, nil, err
	}
	// Whatever happens next, the tree is no longer known to hold only what
	// chant put there: the next sync scans it unless verification does.
	if err := p.tree.Touched(); err != nil {
		return nil, nil, err
	}
	done := r.activity(p.spec.ID, "agent "+agentName(r.Agent))
	res, agentErr := r.Agent.Run(ctx, p.job())
	done()
	if res != nil {
		p.prog.Usage = res.Usage
	}
	// Whatever the agent left running goes, before anything is read.
	p.cage.KillLeft(p.prog.PGID, p.prog.Marker)
	changed, err := guard.Restore()
	if err != nil {
		return res, nil, err
	}
	if res == nil {
		res = &agent.Result{}
	}
	res.Output = textsafe.Clean(res.Output)
	if agentErr != nil {
		if len(changed) > 0 {
			agentErr = fmt.Errorf("%w (it also changed git's configuration, undone: %s)", agentErr, strings.Join(changed, ", "))
		}
		agentErr = fmt.Errorf("agent: %w", agentErr)
		if ctx.Err() == nil {
			p.keepAttempt(res.Author, agentErr.Error())
		}
		return res, nil, agentErr
	}
	v, err := p.verify(ctx)
	if v != nil {
		v.GitConfig = changed
		if err == nil && !v.OK() && ctx.Err() == nil {
			p.keepAttempt(res.Author, strings.Join(v.Problems(), "\n"))
		}
	}
	return res, v, err
}

// configGuard puts git's configuration back as a phase found it.
type configGuard interface{ Restore() ([]string, error) }

// prepare syncs the worktree to the phase's base with its spec in it, and
// runs isolation's setup there, in the phase's cage. git's configuration
// is watched from before anything runs in the worktree (setup commands are
// held to it as the agent is): the guard, and leave to call when done.
func (p *phase) prepare(ctx context.Context) (configGuard, func(), error) {
	r, tree := p.env, p.tree
	// The cage is made while the tree is synced, mounting the tree's
	// directory: made first on a tree's first use (the sync keeps it).
	p.cage = r.Sandbox.CageFor(tree.Dir, r.Repo.Root, r.Repo.CommonDir)
	if p.cage != nil {
		if err := os.MkdirAll(tree.Dir, 0o777); err != nil {
			return nil, nil, fmt.Errorf("prepare the phase's worktree: %w", err)
		}
		p.cage.Warm()
	}
	if err := tree.Sync(p.prog.head().Commit); err != nil {
		return nil, nil, fmt.Errorf("prepare the phase's worktree: %w", err)
	}
	if err := p.watch(); err != nil {
		return nil, nil, err
	}
	if err := tree.Put(p.specRel, p.snapshot, safefs.Regular); err != nil {
		return nil, nil, err
	}
	var guard configGuard
	leave := func() {}
	if r.Shared != nil {
		g := r.Shared.enter(p.spec.ID)
		guard, leave = g, g.leave
	} else {
		g, err := r.Repo.Guard()
		if err != nil {
			return nil, nil, err
		}
		guard = g
	}
	fmt.Fprintln(p.log, sandboxLine(r.Sandbox))
	if p.cage.BlocksLinks() {
		// Everything that writes in the tree from now on is chant or
		// caged without hard links: what the kernel notes of its
		// directories is all that changed there, and scans read only
		// that.
		tree.Listen()
	}
	err := p.isolate(ctx)
	if err == nil {
		if changed, rerr := guard.Restore(); rerr != nil {
			err = rerr
		} else if len(changed) > 0 {
			err = fmt.Errorf("isolation.setup changed git's configuration (undone): %s; setup may only create ignored files", strings.Join(changed, ", "))
		}
	}
	if err != nil {
		leave()
		return nil, nil, err
	}
	return guard, leave, nil
}

// job is what the agent is given to work on.
func (p *phase) job() *agent.Job {
	r := p.env
	return &agent.Job{
		Spec: p.spec, Workspace: r.Workspace, Dir: p.tree.Dir, SpecFile: filepath.Join(p.tree.Dir, filepath.FromSlash(p.specRel)),
		PromptName: p.contract.PromptName, Log: p.log, Marker: p.prog.Marker, Scratch: filepath.Join(r.StateDir, "scratch"),
		Render: func() (string, error) {
			if p.render != nil {
				return p.render()
			}
			return agent.Render(r.Workspace, p.contract)
		},
		Started: func(pgid int) {
			p.prog.PGID = pgid
			saveProgress(r.StateDir, p.prog)
		},
		Cage: p.cage,
		// A spec's budget, else the config's default.
		Budget:     budgetOf(p.spec.Budget, r.Workspace.Config.Defaults.Budget),
		BudgetFrom: map[bool]string{true: "the spec's budget.usd", false: "defaults.budget.usd"}[p.spec.Budget != nil],
	}
}

func budgetOf(bs ...*cost.Budget) float64 {
	for _, b := range bs {
		if b != nil {
			return b.USD
		}
	}
	return 0
}

// isolate copies isolation.copy's files into the worktree and runs
// isolation.setup there (see prepareTree).
func (p *phase) isolate(ctx context.Context) error {
	r := p.env
	return prepareTree(ctx, r.Workspace, r.Repo, p.tree, p.cage, p.prog.head().Commit, p.spec.ID, p.log, r.activity)
}

// setupTimeout bounds each isolation.setup command.
const setupTimeout = 30 * time.Minute

// prepareTree copies isolation.copy's files from the user's working tree
// into a tree synced to commit, and runs isolation.setup there. Setup may
// create only ignored files (build caches, dependencies): anything else it
// changes is an error, so that it is never taken for an agent's work.
func prepareTree(ctx context.Context, w *spec.Workspace, repo *gitrepo.Repo, tree *isolation.Tree, cage *sandbox.Cage, commit plumbing.Hash,
	id string, log io.Writer, activity func(spec, what string) func()) error {
	cfg := w.Config.Isolation
	for _, pattern := range cfg.Copy {
		matches, err := filepath.Glob(filepath.Join(repo.Root, filepath.FromSlash(pattern)))
		if err != nil {
			return fmt.Errorf("isolation.copy %q: %w", pattern, err)
		}
		for _, m := range matches {
			rel := filepath.ToSlash(mustRel(repo.Root, m))
			if f, err := repo.FileAt(commit, rel); err != nil || f.Exists() {
				continue // tracked files come from the commit
			}
			data, mode, err := safefs.Root{Dir: repo.Root}.ReadFile(rel, 0)
			if err != nil || mode == safefs.Symlink {
				continue // only regular files, never through a link
			}
			if err := tree.Provide(rel, data, mode); err != nil {
				return err
			}
		}
	}
	if len(cfg.Setup) == 0 {
		return nil
	}
	if err := tree.Touched(); err != nil {
		return err
	}
	for _, command := range cfg.Setup {
		fmt.Fprintf(log, "setup: %s\n", command)
		done := activity(id, "setup `"+command+"`")
		c := verdict.RunCheck(ctx, spec.Check{Run: command, Expect: spec.ExpectPass, Timeout: setupTimeout.String()}, tree.Dir, id, cage)
		done()
		fmt.Fprint(log, c.Output)
		if !c.Held {
			return fmt.Errorf("isolation.setup `%s` %s:\n%s", command, c.Describe(), c.Output)
		}
	}
	changes, err := tree.Scan()
	if err != nil {
		return err
	}
	if len(changes) > 0 {
		var paths []string
		for _, c := range changes {
			paths = append(paths, c.Path)
		}
		return fmt.Errorf("isolation.setup changed files that are not ignored: %s (setup may only create ignored files)", strings.Join(paths, ", "))
	}
	return nil
}

func mustRel(base, p string) string {
	rel, err := filepath.Rel(base, p)
	if err != nil {
		return p
	}
	return rel
}

// verify compares the worktree with the phase's base and its contract,
// then runs the checks there.
func (p *phase) verify(ctx context.Context) (*verdict.Verification, error) {
	if err := p.watch(); err != nil {
		return nil, err
	}
	changes, err := p.tree.Scan()
	if err != nil {
		return nil, err
	}
	criteria := p.spec.Criteria()
	v := &verdict.Verification{Total: len(criteria)}
	byPath, ticked := p.sortChanges(changes, criteria, v)
	for _, c := range criteria {
		if !c.Checked && !ticked[c.Offset] {
			v.Unchecked = append(v.Unchecked, c)
		}
	}
	v.SkippedCriteria = p.env.SkipCriteria && len(v.Unchecked) > 0
	if err := p.readTargets(byPath, v); err != nil {
		return nil, err
	}
	p.runChecks(ctx, v)
	return v, nil
}

// sortChanges files each change of the worktree: the spec's own file (only
// ticks of its boxes may change: which, returned), its targets, other
// specs, anything else undeclared. It returns the changes by path.
func (p *phase) sortChanges(changes []isolation.Change, criteria []spec.Criterion, v *verdict.Verification) (map[string]isolation.Change, map[int]bool) {
	r := p.env
	targets := map[string]string{} // repository path → as declared
	for _, t := range p.spec.TargetFiles {
		targets[r.Paths.Of(t)] = t
	}
	specsDir := r.Paths.Abs(r.Workspace.SpecsDir) + "/"
	byPath := map[string]isolation.Change{}
	ticked := map[int]bool{}
	for _, c := range changes {
		byPath[c.Path] = c
		switch {
		case c.Path == p.specRel:
			data, _, err := p.tree.Read(p.specRel)
			boxes, ok := verdict.TicksOnly(p.snapshot, data, criteria)
			switch {
			case err != nil:
				v.Tampered = "the agent removed or replaced its spec file"
			case !ok:
				v.Tampered = verdict.SpecChanges(p.spec, data)
			default:
				ticked = boxes
			}
		case targets[c.Path] != "":
		case strings.HasPrefix(c.Path, specsDir):
			v.OtherSpecs = append(v.OtherSpecs, r.Paths.Workspace(c.Path))
		default:
			v.Undeclared = append(v.Undeclared, r.Paths.Workspace(c.Path))
		}
	}
	return byPath, ticked
}

// readTargets reads what the agent left in each target (p.work), and says
// in v which are missing, unchanged or not what may land.
func (p *phase) readTargets(byPath map[string]isolation.Change, v *verdict.Verification) error {
	r, tree := p.env, p.tree
	p.work = map[string]landedFile{}
	for _, t := range p.spec.TargetFiles {
		rel := r.Paths.Of(t)
		c, changed := byPath[rel]
		switch {
		case !changed:
			switch f, _ := r.Repo.FileAt(p.prog.head().Commit, rel); {
			case f.Exists() && len(p.spec.Commits) > 0:
				v.Same = append(v.Same, t) // as the spec's earlier completion left it
			case f.Exists():
				v.Unchanged = append(v.Unchanged, t)
			default:
				v.Missing = append(v.Missing, t)
			}
		case !c.Now.Exists():
			v.Missing = append(v.Missing, t)
		case c.Now.Mode == isolation.ModeDir || c.Now.Mode == isolation.ModeOther:
			v.BadTargets = append(v.BadTargets, "target "+t+" is not a file")
		default:
			data, mode, err := tree.Read(rel)
			if err != nil {
				return err
			}
			if mode == safefs.Symlink && escapes(tree.Dir, rel, string(data)) {
				v.BadTargets = append(v.BadTargets, fmt.Sprintf("target %s is a symbolic link leading outside the repository (to %s)", t, data))
				continue
			}
			if mode == safefs.Symlink && r.Record {
				v.BadTargets = append(v.BadTargets, "target "+t+" is a symbolic link; --record records regular files only")
				continue
			}
			p.work[rel] = landedFile{mode: mode, data: data}
		}
	}
	return nil
}

// runChecks runs the spec's checks in the worktree, then makes sure they
// left the targets as verified: what lands is what was verified, and a
// check that rewrote a target (or something it started) makes that untrue.
func (p *phase) runChecks(ctx context.Context, v *verdict.Verification) {
	r, tree := p.env, p.tree
	for _, c := range p.spec.Checks {
		if ctx.Err() != nil {
			break
		}
		fmt.Fprintf(p.log, "check: %s (expect %s)\n", c.Run, c.Expect)
		if err := tree.Touched(); err != nil {
			v.Checks = append(v.Checks, verdict.CheckResult{Check: c, Err: "could not run: " + err.Error()})
			break
		}
		done := r.activity(p.spec.ID, "check `"+c.Run+"`")
		res := verdict.RunCheck(ctx, c, filepath.Join(tree.Dir, filepath.FromSlash(r.Paths.Root())), p.spec.ID, p.cage)
		done()
		fmt.Fprintf(p.log, "%s", res.Output)
		v.Checks = append(v.Checks, res)
	}
	for rel, f := range p.work {
		data, mode, err := tree.Read(rel)
		if err != nil || mode != f.mode || string(data) != string(f.data) {
			v.ChangedByChecks = append(v.ChangedByChecks, r.Paths.Workspace(rel))
		}
	}
}

// watch makes the worktree compare chant's own directory and the phase's
// targets whatever the ignore rules say: a target may be an ignored path,
// and an agent must not hide a spec behind an ignore rule. It is saved, so
// that what a phase killed half-way wrote there is undone by the next.
func (p *phase) watch() error {
	watched := []string{p.env.Paths.Abs(p.env.Workspace.ChantDir)}
	for _, t := range p.spec.TargetFiles {
		watched = append(watched, p.env.Paths.Of(t))
	}
	return p.tree.Watch(watched)
}

// escapes reports whether a symbolic link at rel in root, pointing at
// target, leads outside root.
func escapes(root, rel, target string) bool {
	if filepath.IsAbs(target) {
		return true
	}
	joined := filepath.Join(filepath.Dir(filepath.Join(root, filepath.FromSlash(rel))), target)
	inside, err := filepath.Rel(root, joined)
	return err != nil || !filepath.IsLocal(inside)
}

// land commits the verified work and the spec's record, and brings the
// user's working tree and index along.
func (p *phase) land(v *verdict.Verification) (string, error) {
	r := p.env
	now := r.Now()
	unlock, err := r.Workspace.Lock()
	if err != nil {
		return "", err
	}
	var hashes []string
	err = func() error {
		defer unlock()
		if p.edited() {
			return &editedError{"its work verified"}
		}
		var work []gitrepo.Change
		for rel, f := range p.work {
			before, err := r.Repo.FileAt(p.prog.head().Commit, rel)
			if err != nil {
				return err
			}
			work = append(work, gitrepo.Change{Path: rel, Mode: f.mode, Data: f.data, Before: before})
		}
		record := func(made []plumbing.Hash) ([]gitrepo.Change, error) {
			short := "" // no work commit of its own
			if len(made) > 0 {
				short = gitrepo.Short(made[0].String())
			}
			data, err := p.record(v, short, now)
			if err != nil {
				return nil, err
			}
			changes := []gitrepo.Change{{Path: p.specRel, Mode: safefs.Regular, Data: data,
				Before: gitrepo.File{Mode: safefs.Regular, Hash: gitrepo.BlobHash(p.snapshot)}}}
			if r.Record {
				more, err := p.recording()
				if err != nil {
					return nil, err
				}
				changes = append(changes, more...)
			}
			return changes, nil
		}
		commits := []gitrepo.CommitSpec{
			{Message: fmt.Sprintf("chant(%s): %s\n", p.spec.ID, textsafe.Line(p.spec.Title)), Author: p.prog.Author, Changes: work},
			{Message: fmt.Sprintf("chant: record %s completed\n", p.spec.ID), Make: record},
		}
		if len(work) == 0 && len(p.spec.Commits) > 0 {
			// The same result as the spec's earlier completion: the record
			// alone, against the commit it has.
			commits = []gitrepo.CommitSpec{{Message: fmt.Sprintf("chant: record %s completed, its work unchanged since %s\n", p.spec.ID, p.spec.Commits[len(p.spec.Commits)-1]),
				Make: record}}
		}
		// Onto the phase's base: Land builds on the branch's head if only
		// chant's own commits moved it since (in a parallel run, the
		// results that landed meanwhile, with other targets).
		made, err := r.Repo.Land(gitrepo.Landing{Onto: p.prog.head(), When: now, Commits: commits})
		for _, h := range made {
			hashes = append(hashes, h.String())
		}
		return err
	}()
	if errors.Is(err, ErrStopped) {
		return "", p.stop(err)
	}
	if err != nil && len(hashes) == 0 {
		// Nothing landed: the branch moved under the phase, or the user
		// changed a file it writes. The agent's work stays in the worktree.
		return "", p.fail(p.prog.Output, v, fmt.Errorf("the work was verified but not committed: %w", err))
	}
	commit := gitrepo.Short(hashes[0])
	if len(p.work) == 0 && len(p.spec.Commits) > 0 {
		commit = p.spec.Commits[len(p.spec.Commits)-1] // its work, as committed before
	}
	if err != nil {
		return commit, err
	}
	p.dropAttempt()
	return commit, removeProgress(r.StateDir, p.spec.ID)
}

// record is the spec as completed: the ticks the agent made, the status,
// the work commit, the verification and the agent's output.
func (p *phase) record(v *verdict.Verification, commit string, now time.Time) ([]byte, error) {
	e := doc.NewEditor(p.snapshot)
	if v != nil {
		unchecked := map[int]bool{}
		for _, c := range v.Unchecked {
			unchecked[c.Offset] = true
		}
		for _, c := range p.spec.Criteria() {
			if !c.Checked && !unchecked[c.Offset] {
				e.CheckBox(c.Offset)
			}
		}
	}
	e.Set("status", spec.StatusCompleted)
	if commit != "" {
		e.Set("commits", append(append([]string{}, p.spec.Commits...), commit))
	}
	e.Set("completed_at", now)
	if p.prog.Model != "" {
		e.Set("model", p.prog.Model)
	}
	e.Set("verification_status", v.Status())
	e.Delete("verification_failures")
	e.Set("last_verified", now)
	p.setCost(e)
	if err := p.setProvenance(e); err != nil {
		return nil, fmt.Errorf("what %s was built on: %w", p.spec.ID, err)
	}
	e.AppendBody(agentOutput(now, recordSandbox(p.env.Sandbox, p.prog.Output+usageLine(p.prog.Usage)+"\n\n"+v.Summary())))
	out, err := e.Bytes()
	if err != nil {
		return nil, err
	}
	if _, err := spec.Parse(p.spec.Path, out); err != nil {
		return nil, fmt.Errorf("the record of %s would not parse: %w", p.spec.ID, err)
	}
	return out, nil
}

// fail records the failure in the spec (failed, with what the agent said
// and why) and commits that record alone; the agent's work stays in the
// worktree to inspect, and nothing of it reaches the branch. It returns
// cause.
func (p *phase) fail(output string, v *verdict.Verification, cause error) error {
	r := p.env
	if p.edited() {
		return p.stop(&editedError{"it failed: " + textsafe.Line(cause.Error())})
	}
	now := r.Now()
	text := output + usageLine(p.prog.Usage)
	if v != nil {
		text += "\n\n" + v.Summary()
	}
	text = recordSandbox(r.Sandbox, strings.TrimSpace(text+"\n\nFailed: "+cause.Error()))
	reasons := []string{cause.Error()}
	if v != nil && len(v.Problems()) > 0 {
		reasons = v.Problems()
	}
	for i, r := range reasons {
		// One line each, of a readable length, with no control sequence
		// (file names are the agent's): the log has the rest.
		r = strings.Join(strings.Fields(textsafe.Line(r)), " ")
		if len([]rune(r)) > 300 {
			r = string([]rune(r)[:300]) + "…"
		}
		reasons[i] = r
	}
	edit := func(e *doc.Editor) {
		e.Set("status", spec.StatusFailed)
		e.Set("verification_status", "failed")
		e.Set("verification_failures", reasons)
		e.Set("last_verified", now)
		p.setCost(e)
		e.AppendBody(agentOutput(now, text))
	}
	e := doc.NewEditor(p.snapshot)
	edit(e)
	data, err := e.Bytes()
	if err == nil {
		err = r.landRecord(p, data, fmt.Sprintf("chant: record %s failed\n", p.spec.ID), now)
	}
	if err != nil {
		// Not committed. Unless the user changed the spec file meanwhile,
		// nothing could be (the disk is full, the object store read-only):
		// the spec goes back as it was before the run, so that the working
		// tree holds nothing of the phase, and the failure is said, not
		// recorded.
		switch perr := p.putBackLocked(); {
		case perr == nil:
			removeProgress(r.StateDir, p.spec.ID)
			return fmt.Errorf("%w (its failure could not be recorded: %v; its spec is as it was before the run)", cause, err)
		case !errors.Is(perr, errSpecChanged):
			return fmt.Errorf("%w (and recording the failure: %v; and putting its spec back: %v)", cause, err, perr)
		}
		// The user's edit stays, with the record in it, uncommitted.
		if _, uerr := r.Workspace.Update(p.spec.ID, func(_ *spec.Spec, e *doc.Editor) error { edit(e); return nil }); uerr != nil {
			return fmt.Errorf("%w (and recording the failure: %v)", cause, uerr)
		}
	}
	removeProgress(r.StateDir, p.spec.ID)
	return cause
}

// editedError means the user edited the spec while its phase ran: the
// phase came to its outcome against the text before, so nothing of it is
// landed or recorded; the spec goes back to pending with the edit kept.
type editedError struct{ outcome string }

func (e *editedError) Error() string {
	return "its spec was edited while it ran (" + e.outcome + "): nothing of the phase was landed or recorded, and the edit is kept"
}

func (e *editedError) Unwrap() error { return ErrStopped }

// edited reports whether the spec file holds something else than what the
// phase wrote there: the user edited it.
func (p *phase) edited() bool {
	cur, err := os.ReadFile(p.env.Workspace.SpecPath(p.spec.ID))
	return err == nil && string(cur) != string(p.snapshot)
}

// putBackLocked is putBack under the workspace lock.
func (p *phase) putBackLocked() error {
	unlock, err := p.env.Workspace.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	return p.putBack()
}

// stop puts the spec file of a stopped phase back as it was before the
// phase, and returns cause. Nothing is committed: the spec did not fail,
// it runs with the next run.
func (p *phase) stop(cause error) error {
	r := p.env
	fmt.Fprintf(p.log, "Stopped: %v\n", cause)
	err := func() error {
		unlock, err := r.Workspace.Lock()
		if err != nil {
			return err
		}
		defer unlock()
		if err := p.putBack(); !errors.Is(err, errSpecChanged) {
			return err
		}
		// Changed meanwhile (by the user): only the status goes back.
		ed, err := r.Workspace.EditLocked(p.spec.ID, BackToPending)
		if err != nil {
			return err
		}
		return safefs.WriteFileAtomic(ed.Path, ed.New)
	}()
	if err != nil {
		return fmt.Errorf("%w (and putting its spec back: %v)", cause, err)
	}
	if now, err := os.ReadFile(r.Workspace.SpecPath(p.spec.ID)); err == nil {
		saveStopped(r.StateDir, p.spec.ID, now, cause)
	}
	removeProgress(r.StateDir, p.spec.ID)
	return cause
}

// landRecord commits a new version of the phase's spec file alone.
func (r *Env) landRecord(p *phase, data []byte, message string, now time.Time) error {
	unlock, err := r.Workspace.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	head, err := r.Repo.ReadHead()
	if err != nil {
		return err
	}
	_, err = r.Repo.Land(gitrepo.Landing{Onto: head, When: now, Commits: []gitrepo.CommitSpec{{Message: message, Changes: []gitrepo.Change{
		{Path: p.specRel, Mode: safefs.Regular, Data: data, Before: gitrepo.File{Mode: safefs.Regular, Hash: gitrepo.BlobHash(p.snapshot)}},
	}}}})
	return err
}

// agentName names an agent in progress lines.
func agentName(a agent.Agent) string {
	switch a := a.(type) {
	case *agent.Replay:
		return "replay"
	case *agent.Command:
		if len(a.Argv) > 0 {
			return filepath.Base(a.Argv[0])
		}
		if f := strings.Fields(a.Shell); len(f) > 0 {
			return filepath.Base(f[0])
		}
		return "command"
	}
	return "agent"
}

// Activity is something a phase runs that may take minutes.
type Activity struct {
	Spec  string
	What  string // "agent claude", "check `go test ./...`", "setup `npm ci`"
	Start time.Time
	Done  bool
}

// activity reports what starts, and returns its end.
func (e *Env) activity(spec, what string) func() { return tell(e.OnActivity, spec, what) }

// tell tells on (if set) that what starts for spec, and returns its end.
func tell(on func(Activity), spec, what string) func() {
	if on == nil {
		return func() {}
	}
	a := Activity{Spec: spec, What: what, Start: time.Now()}
	on(a)
	return func() {
		a.Done = true
		on(a)
	}
}

// BackToPending is the edit that returns a spec left in progress to
// pending.
func BackToPending(cur *spec.Spec, e *doc.Editor) error {
	if cur.Status == spec.StatusInProgress {
		e.Set("status", spec.StatusPending)
	}
	return nil
}

func setStatus(status string) func(*spec.Spec, *doc.Editor) error {
	return func(_ *spec.Spec, e *doc.Editor) error {
		e.Set("status", status)
		return nil
	}
}
