package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chant-run/chant/internal/testgit"
	"github.com/chant-run/chant/runner/agent"
	"github.com/chant-run/chant/runner/phase"
	"github.com/chant-run/chant/runner/plan"
	"github.com/chant-run/chant/spec"
)

// workersEngine hands phases to in-process workers in turn, and never
// runs a key twice: what an engine (Temporal) does, without a server.
type workersEngine struct {
	workers []*phase.Worker
	mu      sync.Mutex
	next    int
	results map[string]*phase.RemoteResult
	ran     map[string]string // spec → worker
	done    map[string]bool   // keys the run said it took
}

func (e *workersEngine) Phase(ctx context.Context, req *phase.RemotePhase, update func(string)) (*phase.RemoteResult, error) {
	e.mu.Lock()
	if res := e.results[req.Key]; res != nil {
		e.mu.Unlock()
		return res, nil
	}
	w := e.workers[e.next%len(e.workers)]
	e.next++
	e.mu.Unlock()
	if update != nil {
		update(w.Identity)
	}
	res, err := w.RunPhase(ctx, req)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.results == nil {
		e.results, e.ran = map[string]*phase.RemoteResult{}, map[string]string{}
	}
	e.results[req.Key], e.ran[req.Spec] = res, w.Identity
	return res, nil
}

func (e *workersEngine) Done(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done == nil {
		e.done = map[string]bool{}
	}
	e.done[key] = true
}

// remoteRepo is a workspace whose agent is a shell script that writes each
// target and ticks the boxes (or, for specs named in the script, not).
func remoteRepo(t *testing.T, specs map[string]string) *spec.Workspace {
	files := map[string]string{
		".chant/config.md": "---\nproject: {name: remote}\ndefaults: {provider: command}\nagent:\n  command: sh agent.sh\n---\n",
		"agent.sh": `t=$(sed -n 's/^target_files: \[\(.*\)\]$/\1/p' "$CHANT_SPEC_FILE")
mkdir -p "$(dirname "$t")"
echo "$CHANT_SPEC_ID by $CHANT_WORKER" > "$t"
case "$CHANT_SPEC_ID" in lazy*) exit 0 ;; esac
sed -i 's/- \[ \]/- [x]/' "$CHANT_SPEC_FILE"
`,
	}
	return workspaceOf(t, files, specs)
}

func TestRemotePhasesLandAsLocalOnes(t *testing.T) {
	specs := map[string]string{
		"a":    parallelSpec("out/a.txt"),
		"b":    parallelSpec("out/b.txt"),
		"c":    parallelSpec("out/c.txt"),
		"d":    parallelSpec("out/d.txt", "depends_on: [a, b]\n"),
		"lazy": parallelSpec("out/lazy.txt"),
	}
	w := remoteRepo(t, specs)
	engine := &workersEngine{workers: []*phase.Worker{
		{Identity: "w1", Dir: t.TempDir()},
		{Identity: "w2", Dir: t.TempDir()},
	}}
	rep, err := Run(context.Background(), Options{Workspace: w, Engine: engine, Parallel: 2})
	if err == nil || len(rep.Failed) != 1 || rep.Failed[0].Spec.ID != "lazy" {
		t.Fatalf("err %v, failed %v: want lazy to fail (its box unticked)", err, rep.Failed)
	}
	if !strings.Contains(rep.Failed[0].Err.Error(), "made") {
		t.Errorf("lazy failed with %v; want its unticked criterion named", rep.Failed[0].Err)
	}
	want := map[string]string{"a": spec.StatusCompleted, "b": spec.StatusCompleted, "c": spec.StatusCompleted, "d": spec.StatusCompleted, "lazy": spec.StatusFailed}
	if got := statuses(t, w); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	// Landed in plan order, as a sequential run lands, each target as the
	// worker that ran it wrote it.
	wantSubjects := []string{"chant(a): Make out/a.txt", "chant: record a completed", "chant(b): Make out/b.txt", "chant: record b completed",
		"chant(c): Make out/c.txt", "chant: record c completed", "chant(d): Make out/d.txt", "chant: record d completed", "chant: record lazy failed"}
	if got := subjects(t, w); strings.Join(got, "\n") != strings.Join(wantSubjects, "\n") {
		t.Errorf("history:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantSubjects, "\n"))
	}
	used := map[string]bool{}
	for _, id := range []string{"a", "b", "c", "d"} {
		data, _ := os.ReadFile(filepath.Join(w.Root, "out", id+".txt"))
		if want := id + " by " + engine.ran[id] + "\n"; string(data) != want {
			t.Errorf("out/%s.txt = %q, want %q", id, data, want)
		}
		used[engine.ran[id]] = true
	}
	if len(engine.done) != 5 {
		t.Errorf("the run took %d results (%v), want 5", len(engine.done), engine.done)
	}
	if !used["w1"] || !used["w2"] {
		t.Errorf("phases ran on %v; want both workers", engine.ran)
	}
	if st := gitCmd(t, w.Root, "status", "--porcelain"); st != "" {
		t.Errorf("git status:\n%s", st)
	}
	gitCmd(t, w.Root, "fsck", "--strict", "--no-dangling")
	// Results stay under refs/chant/results/, never on a branch.
	if refs := gitCmd(t, w.Root, "for-each-ref", "--format=%(refname)", "refs/heads"); refs != "refs/heads/main" {
		t.Errorf("branches: %s", refs)
	}
	// Four verified results, and lazy's refused work, sent back for chant
	// diff and kept as its last attempt.
	if n := strings.Count(gitCmd(t, w.Root, "for-each-ref", "refs/chant/results"), "\n") + 1; n != 5 {
		t.Errorf("%d result references, want 5", n)
	}
	if got, want := gitCmd(t, w.Root, "show", phase.AttemptRef("lazy")+":out/lazy.txt"), "lazy by "+engine.ran["lazy"]; got != want {
		t.Errorf("lazy's kept attempt has out/lazy.txt %q, want %q", got, want)
	}
}

func TestRemotePhasesThroughAnotherRepository(t *testing.T) {
	w := remoteRepo(t, map[string]string{"a": parallelSpec("out/a.txt")})
	// The repository workers use is another (a bare one, as on a server):
	// the run pushes the base there and fetches the result from it.
	bare := filepath.Join(t.TempDir(), "origin.git")
	gitCmd(t, w.Root, "clone", "-q", "--bare", w.Root, bare)
	engine := &workersEngine{workers: []*phase.Worker{{Identity: "w1", Dir: t.TempDir()}}}
	rep, err := Run(context.Background(), Options{Workspace: w, Engine: engine, EngineRepo: "file://" + bare})
	if err != nil || len(rep.Ran) != 1 {
		t.Fatalf("run: %v (%v)", err, rep.Ran)
	}
	if data, _ := os.ReadFile(filepath.Join(w.Root, "out", "a.txt")); string(data) != "a by w1\n" {
		t.Errorf("out/a.txt = %q", data)
	}
	base := gitCmd(t, w.Root, "rev-parse", "HEAD~2")
	if got := gitCmd(t, bare, "rev-parse", phase.BaseRef(base)); got != base {
		t.Errorf("the base in the other repository: %q, want %s", got, base)
	}
	if refs := gitCmd(t, bare, "for-each-ref", "--format=%(refname)", "refs/chant/results"); !strings.HasPrefix(refs, "refs/chant/results/a-") {
		t.Errorf("results in the other repository: %q", refs)
	}
	// Its branch is the user's to push: chant never moved it.
	if got, want := gitCmd(t, bare, "rev-parse", "main"), gitCmd(t, w.Root, "rev-parse", "HEAD~2"); got != want {
		t.Errorf("the other repository's main moved: %s, want %s", got, want)
	}
}

func TestAnInterruptedRemotePhaseIsRecordedAsInterrupted(t *testing.T) {
	w := remoteRepo(t, map[string]string{"a": parallelSpec("out/a.txt")})
	ctx, cancel := context.WithCancel(context.Background())
	engine := &blockingEngine{started: make(chan struct{})}
	go func() { <-engine.started; cancel() }()
	rep, err := Run(ctx, Options{Workspace: w, Engine: engine})
	if err == nil || len(rep.Ran) != 1 || !errors.Is(rep.Ran[0].Err, agent.ErrInterrupted) {
		t.Fatalf("err %v, ran %+v", err, rep.Ran)
	}
	if s, _ := spec.ReadFile(w.SpecPath("a")); s.Status != spec.StatusFailed || !strings.Contains(strings.Join(s.VerificationFailures, " "), "stopped on its worker") {
		t.Errorf("a is %s: %v", s.Status, s.VerificationFailures)
	}
}

// blockingEngine's phases never end unless interrupted.
type blockingEngine struct{ started chan struct{} }

func (e *blockingEngine) Done(string) {}

func (e *blockingEngine) Phase(ctx context.Context, req *phase.RemotePhase, update func(string)) (*phase.RemoteResult, error) {
	close(e.started)
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestAWorkerUsesTheConfigTheRunRead(t *testing.T) {
	w := remoteRepo(t, map[string]string{"a": parallelSpec("out/a.txt")})
	// Changed and not committed: a local run would use it, so a worker
	// does too (the worktree holds the committed one).
	cfg := "---\nproject: {name: remote}\ndefaults: {provider: command}\nagent:\n  command: sh agent.sh && echo as the run read it >> out/a.txt\n---\n"
	if err := os.WriteFile(filepath.Join(w.ChantDir, "config.md"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := spec.OpenWorkspace(w.Root)
	if err != nil {
		t.Fatal(err)
	}
	engine := &workersEngine{workers: []*phase.Worker{{Identity: "w1", Dir: t.TempDir()}}}
	if _, err := Run(context.Background(), Options{Workspace: w, Engine: engine}); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(w.Root, "out", "a.txt")); string(data) != "a by w1\nas the run read it\n" {
		t.Errorf("out/a.txt = %q", data)
	}
}

func TestAWorkerRunsPhasesSideBySide(t *testing.T) {
	w := remoteRepo(t, map[string]string{"a": parallelSpec("out/a.txt"), "b": parallelSpec("out/b.txt"), "c": parallelSpec("out/c.txt")})
	wk := &phase.Worker{Identity: "w1", Dir: t.TempDir(), Slots: 2}
	engine := &workersEngine{workers: []*phase.Worker{wk}}
	rep, err := Run(context.Background(), Options{Workspace: w, Engine: engine, Parallel: 3})
	if err != nil || len(rep.Ran) != 3 {
		t.Fatalf("run: %v, ran %v", err, rep.Ran)
	}
	for _, id := range []string{"a", "b", "c"} {
		if data, _ := os.ReadFile(filepath.Join(w.Root, "out", id+".txt")); string(data) != id+" by w1\n" {
			t.Errorf("out/%s.txt = %q", id, data)
		}
	}
	// Each slot is a worktree of its own, in the worker's directory.
	all, _ := filepath.Glob(filepath.Join(wk.Dir, "worktrees", "*", "phase*"))
	var trees []string
	for _, t := range all {
		if filepath.Ext(t) == "" { // not a sandbox's .tmp or .sandbox beside it
			trees = append(trees, t)
		}
	}
	if len(trees) != 2 {
		t.Errorf("worktrees: %v, want 2 in %s", trees, wk.Dir)
	}
}

// unreachableEngine is an engine whose cluster stays out of reach: it
// gives each phase up, as temporalengine does after the phase's patience.
type unreachableEngine struct{ asked []string }

func (e *unreachableEngine) Done(string) {}

func (e *unreachableEngine) Phase(ctx context.Context, req *phase.RemotePhase, update func(string)) (*phase.RemoteResult, error) {
	e.asked = append(e.asked, req.Spec)
	if req.Patience < agent.DefaultAgentTimeout {
		return nil, fmt.Errorf("patience %s: shorter than the agent's timeout", req.Patience)
	}
	return nil, fmt.Errorf("%w: the Temporal server did not answer for %s", phase.ErrEngineUnreachable, req.Patience)
}

// A phase given up for an engine out of reach is stopped, not failed: its
// spec is as before the run (git status clean), no other phase starts,
// and the next run, with the engine back, runs it.
func TestAPhaseGivenUpForTheEngineRunsWithTheNextRun(t *testing.T) {
	w := remoteRepo(t, map[string]string{"a": parallelSpec("out/a.txt"), "b": parallelSpec("out/b.txt")})
	gone := &unreachableEngine{}
	rep, err := Run(context.Background(), Options{Workspace: w, Engine: gone})
	if !errors.Is(err, phase.ErrEngineUnreachable) || len(rep.Stopped) != 1 || len(rep.Failed) != 0 || len(gone.asked) != 1 {
		t.Fatalf("err %v, stopped %d, failed %d, asked %v: want one phase given up and no other started", err, len(rep.Stopped), len(rep.Failed), gone.asked)
	}
	for _, id := range []string{"a", "b"} {
		if s, _ := spec.ReadFile(w.SpecPath(id)); s.Status != spec.StatusPending {
			t.Errorf("%s is %s after the engine was given up, want pending", id, s.Status)
		}
	}
	if st := testgit.Git(t, w.Root, "status", "--porcelain"); st != "" {
		t.Errorf("git status:\n%s", st)
	}
	// The one given up says it was interrupted, and why; it is ready.
	if st := rep.Final.States[gone.asked[0]]; st.Kind != plan.KindReady || st.Why() != "interrupted: the Temporal server did not answer for 30m0s; ready to run again" {
		t.Errorf("%s: %s, %q", gone.asked[0], st.Kind, st.Why())
	}
	back := &workersEngine{workers: []*phase.Worker{{Identity: "w1", Dir: t.TempDir()}}}
	if _, err := Run(context.Background(), Options{Workspace: w, Engine: back}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b"} {
		if s, _ := spec.ReadFile(w.SpecPath(id)); s.Status != spec.StatusCompleted {
			t.Errorf("%s is %s after the engine came back, want completed", id, s.Status)
		}
	}
}
