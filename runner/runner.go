// Package runner plans and executes a run: it takes the specs of a workspace
// in dependency order, has an agent do each ready one, verifies the work and
// records it as git commits.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/chant-run/chant/internal/bookkeeping"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/spec"
)

var (
	// ErrPhaseFailed means a phase's agent failed or its work did not verify.
	ErrPhaseFailed = errors.New("phase failed")
	// ErrRunInProgress means another chant run holds the workspace.
	ErrRunInProgress = errors.New("another chant run is in progress")
	// ErrTamper means an agent changed a spec's status or approval.
	ErrTamper = errors.New("tampering")
	// ErrProvider means the configured agent provider is not available.
	ErrProvider = errors.New("unknown agent provider")
)

// Options configure a run.
type Options struct {
	Workspace *spec.Workspace // the workspace found from the command line
	IDs       []string        // run only these specs (partial IDs); all ready ones when empty
	Agent     Agent           // nil: the agent the config asks for
	Out       io.Writer       // progress lines
	Stream    io.Writer       // the agent's output as it happens; nil for quiet
	Prompt    string          // prompt template for every spec (--prompt)
	// SkipCriteria completes a spec whose acceptance criteria are not all
	// checked; it is recorded as verification_status: partial.
	SkipCriteria bool
	// Record saves what the agent did as a replay recording in
	// .chant/recordings/<id>/, committed with the spec.
	Record bool
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
	return nil
}

// Report is what a run did and where it stopped.
type Report struct {
	Workspace *spec.Workspace // the workspace that ran
	Created   bool            // its fixture repository was made by this run
	Ran       []Phase
	Failed    *Phase
	Gates     []GateWait // ready but for a missing approval
	Rejected  []*spec.Spec
	Waiting   []Waiting // the other specs not done, with why
	Completed int       // specs completed, out of Total
	Total     int
	// Selected are the specs named on the command line that did not run
	// in the end, with why.
	Selected map[string]spec.Readiness
}

// GateWait is a gate awaiting approval, and the reason shown (with its
// deadline, if it has one).
type GateWait struct {
	Spec   *spec.Spec
	Reason string
}

// Waiting is a spec that is not done and did not run, and why.
type Waiting struct {
	Spec   *spec.Spec
	Reason string
}

// Phase is one spec's execution.
type Phase struct {
	Spec         *spec.Spec
	Duration     time.Duration
	Commit       string // short SHA of the work commit
	Verification *Verification
	Err          error // why it failed
}

// Run runs every ready spec, one after another in dependency order, until
// none is ready. It stops at the first failure (ErrPhaseFailed).
func Run(ctx context.Context, opts Options) (*Report, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	w, created, err := Prepare(opts.Workspace, opts.Now())
	if err != nil {
		return nil, err
	}
	rep := &Report{Workspace: w, Created: created}
	if created {
		fmt.Fprintf(opts.Out, "Made the %s fixture repository: %s\n", opts.Workspace.Config.Fixture, w.Root)
	} else {
		fmt.Fprintf(opts.Out, "Repository: %s\n", w.Root)
	}

	release, err := holdRun(w, opts.Now())
	if err != nil {
		return rep, err
	}
	defer release()

	repo, err := gitrepo.Open(w.Root)
	if err != nil {
		return rep, err
	}
	// Everything is checked before anything is written.
	agent := opts.Agent
	if agent == nil {
		if agent, err = agentFor(w, opts); err != nil {
			return rep, err
		}
	}
	set, err := w.Load()
	if err != nil {
		return rep, err
	}
	if err := validate(w, set); err != nil {
		return rep, err
	}
	if replay, ok := agent.(*Replay); ok {
		if err := replay.Check(w, set); err != nil {
			return rep, err
		}
	}
	unlock, err := w.Lock() // every git write, .git/info/exclude included
	if err != nil {
		return rep, err
	}
	err = repo.Exclude(w.RepoPatterns(repo.Root)...)
	unlock()
	if err != nil {
		return rep, err
	}
	var only map[string]bool
	if len(opts.IDs) > 0 {
		only = map[string]bool{}
		for _, id := range opts.IDs {
			s, err := set.Resolve(id)
			if err != nil {
				return rep, err
			}
			only[s.ID] = true
		}
	}
	r := &run{opts: opts, w: w, repo: repo, agent: agent}
	if err := r.resume(set, rep); err != nil {
		return rep, err
	}
	for {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		if set, err = w.Load(); err != nil {
			return rep, err
		}
		readiness, err := Readiness(w, set, opts.Now())
		if err != nil {
			return rep, err
		}
		var next *spec.Spec
		for _, s := range set.Order() {
			if readiness[s.ID].Ready && (only == nil || only[s.ID]) {
				next = s
				break
			}
		}
		if next == nil {
			break
		}
		ph := r.phase(ctx, next)
		rep.Ran = append(rep.Ran, *ph)
		if ph.Err != nil {
			rep.Failed = &rep.Ran[len(rep.Ran)-1]
			return rep, fmt.Errorf("%w: %s: %w", ErrPhaseFailed, next.ID, ph.Err)
		}
	}

	readiness, err := Readiness(w, set, opts.Now())
	if err != nil {
		return rep, err
	}
	rep.Total = len(set.Specs)
	if only != nil {
		rep.Selected = map[string]spec.Readiness{}
		for id := range only {
			rep.Selected[id] = readiness[id]
		}
	}
	for _, s := range set.Order() {
		r := readiness[s.ID]
		switch {
		case r.Done:
			rep.Completed++
		case r.Gate && s.Approval.Status == spec.ApprovalRejected:
			rep.Rejected = append(rep.Rejected, s)
		case r.Gate && r.Reason != "awaits approval" && !strings.HasPrefix(r.Reason, "awaits approval ("):
			rep.Waiting = append(rep.Waiting, Waiting{s, r.Reason}) // void or expired
		case r.Gate:
			rep.Gates = append(rep.Gates, GateWait{s, r.Reason})
		default:
			rep.Waiting = append(rep.Waiting, Waiting{s, r.Reason})
		}
	}
	return rep, nil
}

func agentFor(w *spec.Workspace, opts Options) (Agent, error) {
	switch p := w.Config.Defaults.Provider; p {
	case "", "replay":
		if opts.Record {
			return nil, &spec.Error{Path: w.Config.Path, Msg: "--record needs a real agent (defaults.provider: command); the provider is replay"}
		}
		return ReplayFor(w)
	case "command":
		return CommandFor(w, opts.Stream, opts.Prompt)
	default:
		return nil, &spec.Error{Path: w.Config.Path, Msg: fmt.Sprintf("%s: defaults.provider %q (known: replay, command)", ErrProvider, p)}
	}
}

type run struct {
	opts  Options
	w     *spec.Workspace
	repo  *gitrepo.Repo
	agent Agent
}

// phase runs one spec: agent, verification, then the work commit and the
// record of it. Any failure is in the returned Phase's Err.
func (r *run) phase(ctx context.Context, s *spec.Spec) *Phase {
	out := r.opts.Out
	start := r.opts.Now()
	ph := &Phase{Spec: s}
	fmt.Fprintf(out, "run   %-20s %s\n", s.ID, s.Title)

	ph.Err = r.execute(ctx, s, ph)
	ph.Duration = r.opts.Now().Sub(start).Round(10 * time.Millisecond)
	if ph.Err != nil {
		fmt.Fprintf(out, "FAIL  %-20s %s  (failed after %s)\n", s.ID, s.Title, ph.Duration)
		return ph
	}
	fmt.Fprintf(out, "ok    %-20s %s  (completed in %s, commit %s)\n", s.ID, s.Title, ph.Duration, ph.Commit)
	return ph
}

func (r *run) execute(ctx context.Context, s *spec.Spec, ph *Phase) error {
	if _, err := r.w.Update(s.ID, setStatus(spec.StatusInProgress)); err != nil {
		return err
	}
	logFile, err := openLog(r.w, s.ID)
	if err != nil {
		return err
	}
	defer logFile.Close()
	fmt.Fprintf(logFile, "=== %s %s: %s\n", r.opts.Now().UTC().Format(time.RFC3339), s.ID, s.Title)

	// What the tree is before the agent, to know what it changed.
	// Taken under the workspace lock, so that another command's write in
	// progress (a decision on a gate) is never mistaken for the agent's.
	var base string
	var before gitrepo.Snapshot
	err = r.locked(func() (err error) {
		if base, err = r.repo.Head(); err == nil {
			before, err = r.repo.Dirty()
		}
		return err
	})
	if err != nil {
		return err
	}
	job := &Job{Spec: s, Workspace: r.w, RepoRoot: r.repo.Root, Log: logFile}
	res, err := r.agent.Run(ctx, job)
	if res == nil {
		res = &Result{}
	}
	if err != nil {
		return r.fail(s, res.Output, nil, fmt.Errorf("agent: %w", err))
	}
	var changed []string
	if err := r.locked(func() (err error) { changed, err = r.repo.ChangedSince(base, before); return err }); err != nil {
		return r.fail(s, res.Output, nil, err)
	}
	// A target left in the tree by an earlier, failed attempt at this spec
	// is this spec's work too, even if this attempt wrote the same bytes.
	for _, t := range s.TargetFiles {
		p := r.repoPath(filepath.Join(r.w.Root, filepath.FromSlash(t)))
		if dirty, _, err := r.repo.Changed(p); err == nil && dirty && !slices.Contains(changed, p) {
			changed = append(changed, p)
		}
	}
	after, err := spec.ReadFile(r.w.SpecPath(s.ID))
	if err != nil {
		return r.fail(s, res.Output, nil, err)
	}
	if what := tampered(s, after); what != "" {
		return r.fail(s, res.Output, nil, fmt.Errorf("%w: the agent changed the spec's %s, which only chant and reviewers may change", ErrTamper, what))
	}
	v, err := r.verify(ctx, after, changed, logFile)
	if err != nil {
		return r.fail(s, res.Output, nil, err)
	}
	if ctx.Err() != nil {
		return r.fail(s, res.Output, v, fmt.Errorf("%w while checking", ErrInterrupted))
	}
	ph.Verification = v
	if !v.OK() {
		return r.fail(s, res.Output, v, errors.New(strings.Join(v.Problems(), "; ")))
	}
	prog := &progress{Step: stepVerified, Base: base, Output: res.Output, Model: res.Model, Author: res.Author,
		Summary: v.Summary(), Verification: v.Status(), Changed: changed}
	if err := saveProgress(r.w, s.ID, prog); err != nil {
		return err
	}
	commits, err := r.finish(s, prog)
	if len(commits) > 0 {
		ph.Commit = commits[len(commits)-1]
	}
	return err
}

// finish records a verified phase, from whatever step it reached: it
// commits what is left uncommitted of the agent's work as
// "chant(<id>): <title>", marks the spec completed with every work commit
// (the agent's own and ours, never bookkeeping), the verification and the
// agent's output, and commits the spec file. Each step is saved in the
// phase's progress file, so a run killed at any point resumes here. Both
// happen under the workspace lock.
func (r *run) finish(s *spec.Spec, prog *progress) ([]string, error) {
	unlock, err := r.w.Lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	specPath := r.repoPath(r.w.SpecPath(s.ID))
	now := r.opts.Now()
	if prog.Step == stepVerified {
		var work []string
		for _, p := range prog.Changed {
			if p == specPath || r.isLocal(p) {
				continue
			}
			if dirty, _, err := r.repo.Changed(p); err != nil {
				return nil, err
			} else if dirty {
				work = append(work, p)
			}
		}
		since, err := r.repo.WorkCommitsSince(prog.Base)
		if err != nil {
			return nil, err
		}
		if len(work) > 0 || len(since) == 0 {
			if _, err := r.repo.CommitAs(work, fmt.Sprintf("chant(%s): %s\n", s.ID, s.Title), now, prog.Author); err != nil {
				return nil, err
			}
		}
		// Runs are serialized, so every commit since the phase began that is
		// not another chant command's bookkeeping is its work: the agent's
		// own and ours.
		if since, err = r.repo.WorkCommitsSince(prog.Base); err != nil {
			return nil, err
		}
		prog.Commits = nil
		for _, c := range since {
			prog.Commits = append(prog.Commits, gitrepo.Short(c))
		}
		prog.Step = stepCommitted
		if err := saveProgress(r.w, s.ID, prog); err != nil {
			return prog.Commits, err
		}
	}
	bookkeeping := []string{specPath}
	if r.opts.Record {
		paths, err := r.saveRecording(s, prog)
		if err != nil {
			return prog.Commits, err
		}
		bookkeeping = append(bookkeeping, paths...)
	}
	cur, err := spec.ReadFile(r.w.SpecPath(s.ID))
	if err != nil {
		return prog.Commits, err
	}
	if cur.Status != spec.StatusCompleted {
		// Status and Agent Output are one atomic write: both or neither.
		_, err = r.w.UpdateLocked(s.ID, func(cur *spec.Spec, e *spec.Editor) error {
			e.Set("status", spec.StatusCompleted)
			e.Set("commits", append(append([]string{}, cur.Commits...), prog.Commits...))
			e.Set("completed_at", now)
			if prog.Model != "" {
				e.Set("model", prog.Model)
			}
			e.Set("verification_status", prog.Verification)
			e.Set("last_verified", now)
			e.AppendBody(agentOutput(now, prog.Output+"\n\n"+prog.Summary))
			return nil
		})
		if err != nil {
			return prog.Commits, err
		}
	}
	var dirty []string
	for _, p := range bookkeeping {
		if changed, _, err := r.repo.Changed(p); err != nil {
			return prog.Commits, err
		} else if changed {
			dirty = append(dirty, p)
		}
	}
	if len(dirty) > 0 { // none when only the progress file was left
		if _, err := r.repo.Commit(dirty, gitrepo.Bookkeeping(fmt.Sprintf("chant: record %s completed", s.ID)), now); err != nil {
			return prog.Commits, err
		}
	}
	return prog.Commits, removeProgress(r.w, s.ID)
}

// verify checks the spec's contract against what the agent changed.
func (r *run) verify(ctx context.Context, s *spec.Spec, changed []string, log io.Writer) (*Verification, error) {
	// Targets are relative to the workspace root; changes to the repository.
	changedSet := map[string]bool{}
	wsPrefix := r.repoPath(r.w.Root)
	for _, p := range changed {
		if wsPrefix != "." {
			p = strings.TrimPrefix(p, wsPrefix+"/")
		}
		changedSet[p] = true
	}
	v := verify(ctx, s, changedSet, r.w.Root, log)
	v.SkippedCriteria = r.opts.SkipCriteria && len(v.Unchecked) > 0
	specPath := r.repoPath(r.w.SpecPath(s.ID))
	targets := map[string]bool{}
	for _, t := range s.TargetFiles {
		targets[r.repoPath(filepath.Join(r.w.Root, filepath.FromSlash(t)))] = true
	}
	specsDir := r.repoPath(r.w.SpecsDir) + "/"
	for _, p := range changed {
		switch {
		case p == specPath || targets[p] || r.isLocal(p):
		case strings.HasPrefix(p, specsDir):
			v.OtherSpecs = append(v.OtherSpecs, p)
		default:
			v.Undeclared = append(v.Undeclared, p)
		}
	}
	return v, nil
}

// isLocal reports whether a repository path is one of chant's own local
// files (logs, locks, recordings being written), never the agent's work.
func (r *run) isLocal(p string) bool {
	chant := r.repoPath(r.w.ChantDir) + "/"
	return strings.HasPrefix(p, chant+spec.LogsDir+"/") || p == chant+".lock" || p == chant+spec.RunLockFile
}

// fail marks the spec failed, with what the agent said and why, and
// returns cause. The work is left in the tree, uncommitted, to inspect.
func (r *run) fail(s *spec.Spec, output string, v *Verification, cause error) error {
	now := r.opts.Now()
	text := output
	if v != nil {
		text += "\n\n" + v.Summary()
	}
	text = strings.TrimSpace(text + "\n\nFailed: " + cause.Error())
	if _, err := r.w.Update(s.ID, func(_ *spec.Spec, e *spec.Editor) error {
		e.Set("status", spec.StatusFailed)
		e.Set("verification_status", "failed")
		e.Set("last_verified", now)
		e.AppendBody(agentOutput(now, text))
		return nil
	}); err != nil {
		return fmt.Errorf("%w (and recording the failure: %v)", cause, err)
	}
	return cause
}

// resume puts right what a run killed at any instant left, before anything
// else runs (this run holds the run lock, so no other run is active): it
// repairs git, finishes phases that got past verification from their saved
// step, and returns phases caught earlier to pending, to run again.
func (r *run) resume(set *spec.Set, rep *Report) error {
	unlock, err := r.w.Lock()
	if err != nil {
		return err
	}
	fixed, err := bookkeeping.Repair(r.w, r.repo)
	unlock()
	if err == nil {
		// Progress files are written only by runs, and this run holds the
		// run lock: no live write can be there.
		err = spec.RemoveStaleTemps(filepath.Join(r.w.ChantDir, spec.LogsDir))
	}
	if err != nil {
		return err
	}
	for _, f := range fixed {
		fmt.Fprintf(r.opts.Out, "Repaired: %s\n", f)
	}
	for _, s := range set.Specs {
		prog, err := loadProgress(r.w, s.ID)
		if err != nil {
			return err
		}
		switch {
		case prog != nil && (s.Status == spec.StatusInProgress || s.Status == spec.StatusCompleted):
			fmt.Fprintf(r.opts.Out, "Resuming %s: an interrupted run left it %s\n", s.ID, prog.Step)
			commits, err := r.finish(s, prog)
			ph := Phase{Spec: s, Err: err}
			if len(commits) > 0 {
				ph.Commit = commits[len(commits)-1]
			}
			rep.Ran = append(rep.Ran, ph)
			if err != nil {
				return err
			}
		case prog != nil:
			if err := removeProgress(r.w, s.ID); err != nil {
				return err
			}
		case s.Status == spec.StatusInProgress:
			fmt.Fprintf(r.opts.Out, "Taking over %s, left in progress by an interrupted run\n", s.ID)
			if _, err := r.w.Update(s.ID, setStatus(spec.StatusPending)); err != nil {
				return err
			}
		}
	}
	return nil
}

// validate refuses a workspace with any error lint would report: what the
// specs say (spec.Set.Validate) and where their paths really lead.
func validate(w *spec.Workspace, set *spec.Set) error {
	errs, _ := set.Validate().(spec.Errors)
	for _, p := range w.PathProblems(set) {
		errs = append(errs, &spec.Error{Path: p.Path, Line: p.Line, Col: p.Col, Msg: p.Message})
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// locked runs fn under the workspace lock.
func (r *run) locked(fn func() error) error {
	unlock, err := r.w.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	return fn()
}

// tampered names what an agent changed in its own spec that it may not:
// the status (chant set it to in_progress) or the approval.
func tampered(before, after *spec.Spec) string {
	switch {
	case after.Status != spec.StatusInProgress:
		return "status"
	case (before.Approval == nil) != (after.Approval == nil),
		before.Approval != nil && *before.Approval != *after.Approval:
		return "approval"
	}
	return ""
}

func setStatus(status string) func(*spec.Spec, *spec.Editor) error {
	return func(_ *spec.Spec, e *spec.Editor) error {
		e.Set("status", status)
		return nil
	}
}

// repoPath returns an absolute path relative to the repository root, with
// forward slashes.
func (r *run) repoPath(abs string) string {
	rel, err := filepath.Rel(r.repo.Root, abs)
	if err != nil {
		return filepath.ToSlash(abs)
	}
	return filepath.ToSlash(rel)
}

func openLog(w *spec.Workspace, id string) (*os.File, error) {
	dir := filepath.Join(w.ChantDir, spec.LogsDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return os.OpenFile(filepath.Join(dir, id+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
}
