package phase

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/chant-run/chant/internal/agentstream"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/runner/agent"
	"github.com/chant-run/chant/runner/verdict"
	"github.com/chant-run/chant/spec"
)

// Remote phases. A run with Options.Engine set has each phase's agent work
// and its verification done by a worker elsewhere (see Worker), and lands
// what the worker verified exactly as a local run lands its own: the run
// here reads the contract, marks the spec in progress, and makes every
// commit on the branch. The worker never touches the user's branch: it
// hands back a commit on the phase's base holding the verified targets,
// under a refs/chant/results/ reference of the repository.

// ErrEngineUnreachable means the engine could not be reached for longer
// than a phase may take (RemotePhase.Patience): the run gave the phase
// up, stopped rather than failed. Its spec is as it was before the run;
// the phase goes on wherever it runs, and the next run takes its result
// (the same key).
var ErrEngineUnreachable = fmt.Errorf("%w: the engine is unreachable", ErrStopped)

// An Engine runs phases away from this process.
type Engine interface {
	// Phase runs one phase and returns what the worker found, once it
	// ends. A request whose Key the engine has run or runs already gets
	// that phase's result: a phase is never run twice for one key (a run
	// killed and started again asks again). update, if set, is told which
	// worker has the phase.
	Phase(ctx context.Context, req *RemotePhase, update func(worker string)) (*RemoteResult, error)
	// Done says the run has taken the phase's result (landed it, or
	// recorded its failure): the engine need not keep it. Best effort: a
	// run killed before it says so leaves the result until the pipeline
	// ends.
	Done(key string)
}

// RemotePhase is what a worker needs to run a phase: everything the
// contract says, read by the run once, as a local phase reads it.
type RemotePhase struct {
	Key      string // see remoteKey
	Spec     string // its ID
	Repo     string // where workers fetch the repository (a path, file://, ssh or https)
	Base     string // the commit the phase works from
	BaseRef  string // a reference to Base in Repo, for fetching it
	WsRel    string // the workspace's directory in the repository ("." at its root)
	SpecPath string // the spec file, relative to the repository root
	Snapshot []byte // the spec file as the phase runs it (in progress)
	// Config is .chant/config.md as the run read it: the agent, its
	// timeout, isolation setup, as a local phase has them.
	Config     []byte
	Prompt     string // the rendered prompt
	PromptName string
	// SkipCriteria as Options.SkipCriteria.
	SkipCriteria bool
	// Patience is how long the run waits for an engine it cannot reach
	// before it gives the phase up (ErrEngineUnreachable): as long as the
	// phase may take, its agent's timeout and its checks'. The run's own,
	// never sent.
	Patience time.Duration `json:"-"`
}

// RemoteResult is what a worker hands back. The run trusts the worker as
// it trusts itself (workers are the team's machines); the agent it ran is
// judged by the worker's verification, as a local one is.
type RemoteResult struct {
	Worker string // its identity
	Output string
	Model  string
	Author *gitrepo.Person
	Usage  agentstream.Usage
	// Failed says why the phase failed before its work could be verified
	// (the agent failed, the worktree could not be prepared); "" if not.
	Failed       string
	Verification *verdict.Verification
	Ticks        []int  // the boxes the agent ticked, by offset in Snapshot
	Work         string // a commit on Base with the verified targets (under ResultRef); "" if none changed
	// Attempt is a commit on Base with what the agent left in its worktree
	// (under ResultRef), when it was refused; "" if none was kept.
	Attempt string
}

// ResultRef is the reference under which a phase's result commit is kept.
func ResultRef(key string) string { return "refs/chant/results/" + key }

// BaseRef is the reference that keeps a phase's base commit fetchable.
func BaseRef(commit string) string { return "refs/chant/bases/" + commit }

// remoteKey names a phase by what decides its outcome: the spec, its
// base commit and its contract. Asked again after the run was killed, the
// same phase gets the same key.
func remoteKey(req *RemotePhase) string {
	h := sha256.New()
	for _, part := range []string{req.Spec, req.Base, req.WsRel, req.SpecPath, string(req.Snapshot), string(req.Config), req.Prompt, req.PromptName, fmt.Sprint(req.SkipCriteria)} {
		fmt.Fprintf(h, "%d:%s\n", len(part), part)
	}
	return req.Spec + "-" + hex.EncodeToString(h.Sum(nil))[:20]
}

// phaseTimeout is the longest a phase of s may take: its agent's timeout,
// its setup commands' and its checks'.
func phaseTimeout(c *spec.Config, s *spec.Spec) (time.Duration, error) {
	d, err := agent.Timeout(c)
	if err != nil {
		return 0, err
	}
	d += time.Duration(len(c.Isolation.Setup)) * setupTimeout
	for _, ch := range s.Checks {
		d += verdict.CheckTimeout(ch)
	}
	return d, nil
}

// attemptRemote is attempt, on a worker: the request goes to the engine,
// and what the worker verified comes back, its targets read from the
// result commit.
func (p *phase) attemptRemote(ctx context.Context) (*agent.Result, *verdict.Verification, error) {
	r := p.env
	req, err := p.request()
	if err != nil {
		return nil, nil, err
	}
	// No worktree here holds its work: a run killed from now on asks the
	// engine again (the same key) rather than verify anything locally.
	p.prog.Released, p.prog.Key = true, req.Key
	if err := saveProgress(r.StateDir, p.prog); err != nil {
		return nil, nil, err
	}
	done := r.activity(p.spec.ID, "on a worker")
	res, err := r.Engine.Phase(ctx, req, func(worker string) {
		if worker != p.prog.Worker {
			p.prog.Worker = worker
			saveProgress(r.StateDir, p.prog)
			done()
			done = r.activity(p.spec.ID, "on "+worker)
		}
	})
	done()
	if err != nil && ctx.Err() != nil {
		return nil, nil, fmt.Errorf("%w: the phase was stopped on its worker", agent.ErrInterrupted)
	}
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(p.log, "worker: %s\n%s\n", res.Worker, res.Output)
	result := &agent.Result{Output: res.Output, Model: res.Model, Author: res.Author, Usage: res.Usage}
	p.prog.Usage = res.Usage
	if res.Attempt != "" {
		p.takeAttempt(req, res)
	}
	if res.Failed != "" {
		return result, nil, fmt.Errorf("on worker %s: %s", res.Worker, res.Failed)
	}
	v := res.Verification
	if v == nil {
		return result, nil, fmt.Errorf("worker %s sent no verification", res.Worker)
	}
	p.ticks, p.ticksRead = res.Ticks, true
	p.work = map[string]landedFile{}
	if !v.OK() || res.Work == "" {
		return result, v, nil
	}
	if err := p.takeWork(req, res); err != nil {
		return result, nil, err
	}
	return result, v, nil
}

// request is the phase as sent to the engine, its base published where
// the workers fetch from.
func (p *phase) request() (*RemotePhase, error) {
	r := p.env
	prompt, err := agent.Render(r.Workspace, p.contract)
	if err != nil {
		return nil, err
	}
	base := p.prog.head().Commit.String()
	req := &RemotePhase{
		Spec: p.spec.ID, Repo: r.EngineRepo, Base: base, BaseRef: BaseRef(base),
		WsRel: r.Paths.Root(), SpecPath: p.specRel, Snapshot: p.snapshot, Config: r.Workspace.Config.Source(), Prompt: prompt, PromptName: p.contract.PromptName,
		SkipCriteria: r.SkipCriteria,
	}
	if req.Repo == "" {
		req.Repo = r.Repo.Root
	}
	req.Key = remoteKey(req)
	if req.Patience, err = phaseTimeout(r.Workspace.Config, p.spec); err != nil {
		return nil, err
	}
	if err := r.publishBase(req); err != nil {
		return nil, err
	}
	return req, nil
}

// takeWork fetches the worker's result commit: what lands is what the
// worker verified, the targets as its result commit holds them, where
// they differ from the base.
func (p *phase) takeWork(req *RemotePhase, res *RemoteResult) error {
	r := p.env
	work, err := r.fetchResult(req, res.Worker, res.Work)
	if err != nil {
		return err
	}
	base := p.prog.head().Commit
	for _, t := range p.spec.TargetFiles {
		rel := r.Paths.Of(t)
		was, err := r.Repo.FileAt(base, rel)
		if err != nil {
			return err
		}
		now, err := r.Repo.FileAt(work, rel)
		if err != nil {
			return err
		}
		if now == was || !now.Exists() {
			continue
		}
		data, err := r.Repo.ReadBlob(now.Hash)
		if err != nil {
			return err
		}
		p.work[rel] = landedFile{mode: now.Mode, data: data}
	}
	return nil
}

// publishBase makes the phase's base fetchable by workers when they use
// another repository: a reference here, pushed there. Workers that use
// this one copy the base by its hash (gitrepo.FetchCommit): it is the
// branch's head.
func (r *Env) publishBase(req *RemotePhase) error {
	if r.localEngineRepo() {
		return nil
	}
	unlock, err := r.Workspace.Lock() // every git write of chant's
	if err != nil {
		return err
	}
	defer unlock()
	if err := r.Repo.SetRef(req.BaseRef, plumbing.NewHash(req.Base)); err != nil {
		return err
	}
	return r.Repo.Push(req.Repo, "+"+req.BaseRef+":"+req.BaseRef)
}

// fetchResult brings a commit a worker pushed under ResultRef here.
func (r *Env) fetchResult(req *RemotePhase, worker, commit string) (plumbing.Hash, error) {
	work := plumbing.NewHash(commit)
	if !r.localEngineRepo() && !r.Repo.HasObject(work) {
		unlock, err := r.Workspace.Lock()
		if err != nil {
			return work, err
		}
		ref := ResultRef(req.Key)
		err = r.Repo.Fetch(req.Repo, "+"+ref+":"+ref)
		unlock()
		if err != nil {
			return work, err
		}
	}
	if !r.Repo.HasObject(work) {
		return work, fmt.Errorf("the result commit %s of worker %s is not in the repository", gitrepo.Short(commit), worker)
	}
	return work, nil
}

// localEngineRepo reports whether workers use this very repository.
func (r *Env) localEngineRepo() bool {
	u := r.EngineRepo
	if u == "" {
		return true
	}
	u = strings.TrimPrefix(u, "file://")
	abs, err := filepath.Abs(u)
	if err != nil {
		return false
	}
	a, err := os.Stat(abs)
	if err != nil {
		return false
	}
	b, err := os.Stat(r.Repo.Root)
	return err == nil && os.SameFile(a, b)
}

// errNoSpec means a worker was asked to run a spec file that does not
// parse.
var errNoSpec = errors.New("the phase's spec does not parse")

// remoteSpec parses a request's spec snapshot.
func remoteSpec(req *RemotePhase) (*spec.Spec, error) {
	s, err := spec.Parse(req.SpecPath, req.Snapshot)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoSpec, err)
	}
	if s.ID != req.Spec {
		return nil, fmt.Errorf("%w: its ID is %s, not %s", errNoSpec, s.ID, req.Spec)
	}
	return s, nil
}
