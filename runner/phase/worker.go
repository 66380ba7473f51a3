package phase

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/isolation"
	"github.com/chant-run/chant/internal/procs"
	"github.com/chant-run/chant/runner/agent"
	"github.com/chant-run/chant/runner/verdict"
	"github.com/chant-run/chant/spec"
)

// Worker runs phases an engine hands it (see Engine), for any repository
// it can fetch: each in a clone of its own under Dir, at the phase's base
// commit, in a worktree of that clone, with the agent that the
// repository's config asks for at that commit. It verifies exactly as a
// local run does, and hands back its verdict and a commit of the verified
// targets, pushed to a refs/chant/results/ reference of the repository;
// it never touches a branch.
type Worker struct {
	Identity string    // put in CHANT_WORKER for the agent, and in results
	Dir      string    // the worker's own directory
	Slots    int       // phases at once (default 1)
	Log      io.Writer // a line per phase; nil for none

	once   sync.Once
	slots  chan int
	mu     sync.Mutex
	clones map[string]*workerClone
}

type workerClone struct {
	repo  *gitrepo.Repo
	mu    sync.Mutex // fetches into it and pushes from it, one at a time
	guard *SharedGuard
}

// ErrWorker means a worker could not run a phase at all (the repository
// could not be fetched, its worktree prepared); an engine may retry it
// elsewhere. A phase that ran and failed is a result, not an error.
var ErrWorker = errors.New("worker")

// ErrBadPhase means a phase request makes no sense (no valid key, a spec
// that does not parse, paths outside the repository): no worker can run
// it, so it is not worth retrying.
var ErrBadPhase = errors.New("bad phase request")

// validKey reports whether key is what remoteKey makes (a key names files
// and references): a letter, digit or _, then up to 200 of those, . and -.
// (As a regexp, ^[A-Za-z0-9_][A-Za-z0-9._-]{0,200}$ took 1.5 ms to compile
// at every start of chant.)
func validKey(key string) bool {
	if key == "" || len(key) > 201 {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		ok := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || i > 0 && (c == '.' || c == '-')
		if !ok {
			return false
		}
	}
	return true
}

func (wk *Worker) init() {
	wk.once.Do(func() {
		n := max(wk.Slots, 1)
		wk.slots = make(chan int, n)
		for i := range n {
			wk.slots <- i
		}
		wk.clones = map[string]*workerClone{}
		if wk.Log == nil {
			wk.Log = io.Discard
		}
	})
}

// clone opens (making it the first time) the worker's clone of a
// repository.
func (wk *Worker) clone(url string) (*workerClone, error) {
	wk.mu.Lock()
	defer wk.mu.Unlock()
	if c := wk.clones[url]; c != nil {
		return c, nil
	}
	sum := sha256.Sum256([]byte(url))
	repo, err := gitrepo.Init(filepath.Join(wk.Dir, "repos", hex.EncodeToString(sum[:8])))
	if err != nil {
		return nil, err
	}
	c := &workerClone{repo: repo, guard: &SharedGuard{running: map[string]bool{}, blamed: map[string][]string{}}}
	if c.guard.g, err = repo.Guard(); err != nil {
		return nil, err
	}
	wk.clones[url] = c
	return c, nil
}

// fetch brings the phase's base commit into the clone.
func (c *workerClone) fetch(req *RemotePhase) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	base := plumbing.NewHash(req.Base)
	if c.repo.HasObject(base) {
		return nil
	}
	if err := c.repo.FetchCommit(req.Repo, base, req.BaseRef); err != nil {
		return err
	}
	if !c.repo.HasObject(base) {
		return fmt.Errorf("%s: the base commit %s is not there", req.Repo, gitrepo.Short(req.Base))
	}
	return nil
}

// RunPhase runs one phase. The error is ErrWorker's or the context's: what
// the phase itself came to, failure included, is in the result.
func (wk *Worker) RunPhase(ctx context.Context, req *RemotePhase) (*RemoteResult, error) {
	wk.init()
	s, err := checkRequest(req)
	if err != nil {
		return nil, err
	}
	c, err := wk.clone(req.Repo)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWorker, err)
	}
	if err := c.fetch(req); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWorker, err)
	}
	var slot int
	select {
	case slot = <-wk.slots:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { wk.slots <- slot }()
	tree, stateDir, err := wk.slotTree(c, req, slot)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWorker, err)
	}
	e, err := wk.env(c, req, tree, stateDir)
	if err != nil {
		return nil, err
	}
	if e.Agent == nil {
		return &RemoteResult{Worker: wk.Identity, Failed: e.failed}, nil
	}
	logFile, err := wk.openLog(req.Key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWorker, err)
	}
	defer logFile.Close()
	fmt.Fprintf(logFile, "=== %s %s (%s) on %s, base %s\n", time.Now().UTC().Format(time.RFC3339), s.ID, req.Key, wk.Identity, gitrepo.Short(req.Base))
	p := &phase{env: e.Env, spec: s, snapshot: req.Snapshot, specRel: req.SpecPath, log: logFile, tree: tree,
		contract: &spec.Contract{Spec: s, PromptName: req.PromptName},
		render:   func() (string, error) { return req.Prompt, nil },
		prog:     &progress{Spec: s.ID, Step: stepRunning, Base: req.Base, Slot: SlotName(slot), Key: req.Key, Worker: wk.Identity}}
	if err := saveProgress(stateDir, p.prog); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWorker, err)
	}
	defer removeProgress(stateDir, s.ID)
	fmt.Fprintf(wk.Log, "run   %s (%s)\n", s.ID, req.Key)
	res, v, err := p.attempt(ctx)
	if ctx.Err() != nil {
		fmt.Fprintf(wk.Log, "stop  %s: %v\n", s.ID, ctx.Err())
		return nil, ctx.Err() // cancelled or timed out: the engine decides
	}
	return wk.result(c, req, p, res, v, err)
}

// checkRequest refuses a request that is not a phase: its key, its spec,
// its paths (which must stay inside the repository).
func checkRequest(req *RemotePhase) (*spec.Spec, error) {
	if !validKey(req.Key) {
		return nil, fmt.Errorf("%w: %q is not a phase key", ErrBadPhase, req.Key)
	}
	s, err := remoteSpec(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadPhase, err)
	}
	if !filepath.IsLocal(filepath.FromSlash(req.SpecPath)) || req.WsRel != "." && !filepath.IsLocal(filepath.FromSlash(req.WsRel)) {
		return nil, fmt.Errorf("%w: paths outside the repository: %s, %s", ErrBadPhase, req.WsRel, req.SpecPath)
	}
	return s, nil
}

// slotTree is the worktree of slot, synced to the phase's base, and the
// slot's state directory; what an agent of a killed worker left running in
// the slot goes first.
func (wk *Worker) slotTree(c *workerClone, req *RemotePhase, slot int) (*isolation.Tree, string, error) {
	stateDir := filepath.Join(c.repo.StateDir(), "worker", SlotName(slot))
	if progs, err := loadProgress(stateDir); err == nil {
		for _, prog := range progs {
			procs.KillAll(prog.PGID, prog.Marker)
			removeProgress(stateDir, prog.Spec)
		}
	}
	tree, err := OpenTree(filepath.Join(wk.Dir, "worktrees"), c.repo, req.WsRel, SlotName(slot))
	if err != nil {
		return nil, "", err
	}
	if err := tree.Sync(plumbing.NewHash(req.Base)); err != nil {
		return nil, "", fmt.Errorf("prepare the phase's worktree: %w", err)
	}
	return tree, stateDir, nil
}

// workerEnv is the Env of a worker's phase, or why the phase failed before
// it could have one (failed, with no agent).
type workerEnv struct {
	*Env
	failed string
}

// env is the Env of a phase on the worker: the contract as the run read
// it, the config it sent (the agent, isolation) and recordings from the
// worktree at the base; paths are the clone's.
func (wk *Worker) env(c *workerClone, req *RemotePhase, tree *isolation.Tree, stateDir string) (*workerEnv, error) {
	cfg, err := spec.ParseConfig(filepath.ToSlash(filepath.Join(req.WsRel, ".chant", spec.ConfigFile)), req.Config)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadPhase, err)
	}
	workspace := func(root string) *spec.Workspace {
		return &spec.Workspace{Root: root, ChantDir: filepath.Join(root, ".chant"), SpecsDir: filepath.Join(root, ".chant", "specs"), Config: cfg}
	}
	atBase := workspace(filepath.Join(tree.Dir, filepath.FromSlash(req.WsRel)))
	w := workspace(filepath.Join(c.repo.Root, filepath.FromSlash(req.WsRel)))
	e := &workerEnv{Env: &Env{Workspace: w, Repo: c.repo, Paths: w.InRepo(c.repo.Root), StateDir: stateDir, Shared: c.guard,
		SkipCriteria: req.SkipCriteria, Now: time.Now}}
	ag, err := agent.For(atBase, false, nil)
	if err != nil {
		e.failed = err.Error()
		return e, nil
	}
	if cmd, ok := ag.(*agent.Command); ok {
		cmd.Env = append(cmd.Env, "CHANT_WORKER="+wk.Identity)
	}
	if e.Sandbox, err = agent.SandboxPolicy(atBase); err != nil {
		e.failed = err.Error()
		return e, nil
	}
	e.Agent = ag
	return e, nil
}

// result is what the worker sends back of an attempt: its failure, or its
// verification and, when verified, the result commit pushed.
func (wk *Worker) result(c *workerClone, req *RemotePhase, p *phase, res *agent.Result, v *verdict.Verification, err error) (*RemoteResult, error) {
	s := p.spec
	out := &RemoteResult{Worker: wk.Identity}
	if res != nil {
		out.Output, out.Model, out.Author, out.Usage = res.Output, res.Model, res.Author, res.Usage
	}
	if !p.kept.IsZero() {
		// Refused: its work goes back for chant diff. Without it, the
		// phase's outcome stands all the same.
		c.mu.Lock()
		err := wk.publish(c.repo, req, p.kept)
		c.mu.Unlock()
		if err == nil {
			out.Attempt = p.kept.String()
		} else {
			fmt.Fprintf(wk.Log, "%s: the refused work could not be sent back: %v\n", s.ID, err)
		}
	}
	if err != nil {
		out.Failed = err.Error()
		fmt.Fprintf(wk.Log, "FAIL  %s: %s\n", s.ID, out.Failed)
		return out, nil
	}
	out.Verification, out.Ticks = v, p.ticked()
	if v.OK() && len(p.work) > 0 {
		c.mu.Lock() // the clone's references and pushes, one phase at a time
		out.Work, err = wk.commitWork(c.repo, req, p, res.Author)
		c.mu.Unlock()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrWorker, err)
		}
	}
	verdict := "ok   "
	if !v.OK() {
		verdict = "FAIL "
	}
	fmt.Fprintf(wk.Log, "%s %s\n", verdict, s.ID)
	return out, nil
}

// commitWork makes the result commit (the base with the verified targets)
// and pushes it to the repository.
func (wk *Worker) commitWork(repo *gitrepo.Repo, req *RemotePhase, p *phase, author *gitrepo.Person) (string, error) {
	base := plumbing.NewHash(req.Base)
	tree, err := repo.TreeOf(base)
	if err != nil {
		return "", err
	}
	var edits []gitrepo.TreeEdit
	for rel, f := range p.work {
		h, err := repo.WriteBlob(f.data)
		if err != nil {
			return "", err
		}
		edits = append(edits, gitrepo.TreeEdit{Path: rel, File: gitrepo.File{Mode: f.mode, Hash: h}})
	}
	if tree, err = repo.EditTree(tree, edits); err != nil {
		return "", err
	}
	commit, err := repo.NewCommit(tree, []plumbing.Hash{base}, fmt.Sprintf("chant worker %s: result of %s\n", wk.Identity, req.Spec), author, time.Now())
	if err != nil {
		return "", err
	}
	if err := wk.publish(repo, req, commit); err != nil {
		return "", err
	}
	return commit.String(), nil
}

// publish pushes a commit of the phase's to the repository, under
// ResultRef.
func (wk *Worker) publish(repo *gitrepo.Repo, req *RemotePhase, commit plumbing.Hash) error {
	ref := ResultRef(req.Key)
	if err := repo.SetRef(ref, commit); err != nil {
		return err
	}
	return repo.Push(req.Repo, "+"+ref+":"+ref)
}

// openLog opens the log of one phase in the worker's directory.
func (wk *Worker) openLog(key string) (*os.File, error) {
	dir := filepath.Join(wk.Dir, "logs")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, err
	}
	return os.OpenFile(filepath.Join(dir, key+".log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666)
}
