package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chant-run/chant/internal/gitdir"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/isolation"
	"github.com/chant-run/chant/internal/phasetest"
	"github.com/chant-run/chant/internal/testgit"
	"github.com/chant-run/chant/runner/agent"
	"github.com/chant-run/chant/runner/plan"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/doc"
)

// fakeAgent writes files and ticks criteria as told.
type fakeAgent struct {
	files map[string]string
	tick  bool
	write bool // write the spec's own target files
	err   error
	// errAfterWrite makes err come after the files are written.
	errAfterWrite bool
	runs          []string
}

func (a *fakeAgent) Run(ctx context.Context, job *agent.Job) (*agent.Result, error) {
	a.runs = append(a.runs, job.Spec.ID)
	if a.err != nil && !a.errAfterWrite {
		return nil, a.err
	}
	res := &agent.Result{Output: "did " + job.Spec.ID}
	files := a.files
	if a.write {
		files = map[string]string{}
		for _, t := range job.Spec.TargetFiles {
			files[t] = "done " + job.Spec.ID + "\n"
		}
	}
	for p, content := range files {
		full := filepath.Join(job.Dir, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			return nil, err
		}
	}
	if a.err != nil {
		return nil, a.err
	}
	if a.tick {
		if err := tickAll(job.SpecFile); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// tickAll ticks every box of the spec file, as an agent does.
func tickAll(specFile string) error {
	src, err := os.ReadFile(specFile)
	if err != nil {
		return err
	}
	s, err := spec.Parse(specFile, src)
	if err != nil {
		return err
	}
	e := doc.NewEditor(src)
	for _, c := range s.Criteria() {
		e.CheckBox(c.Offset)
	}
	out, err := e.Bytes()
	if err != nil {
		return err
	}
	return os.WriteFile(specFile, out, 0o644)
}

func TestMain(m *testing.M) { phasetest.Main(m) }

// newRepo makes a git workspace with the given specs and one commit.
func newRepo(t *testing.T, specs map[string]string) *spec.Workspace {
	t.Helper()
	return workspaceOf(t, map[string]string{".chant/config.md": "---\nproject: {name: t}\n---\n", "README": "hi\n"}, specs)
}

// workspaceOf makes a repository of files and specs (by ID) and opens its
// workspace.
func workspaceOf(t *testing.T, files, specs map[string]string) *spec.Workspace {
	t.Helper()
	for id, src := range specs {
		files[".chant/specs/"+id+".md"] = src
	}
	w, err := spec.OpenWorkspace(testgit.Repo(t, files))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

var gitCmd = testgit.Git

const goodSpec = "---\ntarget_files: [out.txt]\nchecks:\n- grep -q done out.txt\n---\n# Make out\n\n## Acceptance Criteria\n\n- [ ] out.txt says done\n"

func TestRunRecordsWorkAndResult(t *testing.T) {
	w := newRepo(t, map[string]string{"a": goodSpec, "b": "---\ndepends_on: [a]\ntarget_files: [out.txt]\n---\n# B\n"})
	agent := &fakeAgent{files: map[string]string{"out.txt": "done\n"}, tick: true}
	rep, err := Run(context.Background(), Options{Workspace: w, IDs: []string{"a"}, Agent: agent})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Ran) != 1 || rep.Ran[0].Commit == "" || strings.Join(agent.runs, ",") != "a" {
		t.Fatalf("ran %v (%+v)", agent.runs, rep.Ran)
	}
	s, err := spec.ReadFile(w.SpecPath("a"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != spec.StatusCompleted || len(s.Commits) != 1 || s.Commits[0] != rep.Ran[0].Commit || s.CompletedAt == "" {
		t.Fatalf("spec after run: status %s commits %v completed_at %q", s.Status, s.Commits, s.CompletedAt)
	}
	body := string(s.Body())
	if !strings.Contains(body, "## Agent Output") || !strings.Contains(body, "did a") || !strings.Contains(body, "criteria: 1 of 1 checked") {
		t.Fatalf("no agent output:\n%s", body)
	}
	log := gitCmd(t, w.Root, "log", "--format=%s", "-3")
	if log != "chant: record a completed\nchant(a): Make out\ninit" {
		t.Fatalf("log:\n%s", log)
	}
	if files := gitCmd(t, w.Root, "show", "--name-only", "--format=", s.Commits[0]); files != "out.txt" {
		t.Fatalf("work commit has %q", files)
	}
	if st := gitCmd(t, w.Root, "status", "--porcelain"); st != "" {
		t.Fatalf("tree not clean:\n%s", st)
	}
}

func TestRunFailsWhenWorkDoesNotVerify(t *testing.T) {
	w := newRepo(t, map[string]string{"a": goodSpec, "b": "---\ndepends_on: [a]\n---\n# B\n"})
	agent := &fakeAgent{files: map[string]string{"out.txt": "nope\n"}} // no ticks, check fails
	rep, err := Run(context.Background(), Options{Workspace: w, Agent: agent})
	if !errors.Is(err, ErrPhaseFailed) || len(rep.Failed) == 0 {
		t.Fatalf("Run = %v", err)
	}
	probs := strings.Join(rep.Failed[0].Verification.Problems(), "\n")
	for _, want := range []string{"acceptance criterion not checked (line 11): out.txt says done", "check `grep -q done out.txt`: failed, expected to pass"} {
		if !strings.Contains(probs, want) {
			t.Errorf("problems lack %q:\n%s", want, probs)
		}
	}
	if strings.Join(agent.runs, ",") != "a" {
		t.Errorf("dependents ran: %v", agent.runs)
	}
	s, _ := spec.ReadFile(w.SpecPath("a"))
	if s.Status != spec.StatusFailed || len(s.Commits) != 0 {
		t.Errorf("status %s commits %v", s.Status, s.Commits)
	}
	// The failure is recorded in a commit of the spec alone; the agent's
	// work reaches neither the branch nor the working tree.
	if log := gitCmd(t, w.Root, "log", "--format=%s"); log != "chant: record a failed\ninit" {
		t.Errorf("log:\n%s", log)
	}
	if files := gitCmd(t, w.Root, "show", "--name-only", "--format=", "HEAD"); files != ".chant/specs/a.md" {
		t.Errorf("the failure commit touches %q", files)
	}
	if _, err := os.Stat(filepath.Join(w.Root, "out.txt")); !os.IsNotExist(err) {
		t.Errorf("the failed work reached the working tree")
	}
	if st := gitCmd(t, w.Root, "status", "--porcelain"); st != "" {
		t.Errorf("git status:\n%s", st)
	}
}

func TestRunAgentError(t *testing.T) {
	w := newRepo(t, map[string]string{"a": goodSpec})
	rep, err := Run(context.Background(), Options{Workspace: w, Agent: &fakeAgent{err: errors.New("boom")}})
	if !errors.Is(err, ErrPhaseFailed) || len(rep.Failed) != 1 || !strings.Contains(rep.Failed[0].Err.Error(), "agent: boom") {
		t.Fatalf("Run = %v", err)
	}
}

func TestOneRunAtATime(t *testing.T) {
	w := newRepo(t, map[string]string{"a": goodSpec})
	since := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	release, err := holdRun(w, since)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), Options{Workspace: w, Agent: &fakeAgent{}})
	want := fmt.Sprintf("(pid %d since 2026-05-06T07:08:09Z)", os.Getpid())
	if !errors.Is(err, ErrRunInProgress) || !strings.Contains(err.Error(), want) {
		t.Fatalf("Run while another holds the lock = %v, want it to name %s", err, want)
	}
	if _, err := Reset(w, "a", since); !errors.Is(err, ErrRunInProgress) {
		t.Fatalf("Reset during a run = %v", err)
	}
	release()
	if _, err := Run(context.Background(), Options{Workspace: w, Agent: &fakeAgent{files: map[string]string{"out.txt": "done\n"}, tick: true}}); err != nil {
		t.Fatalf("Run after the holder left = %v", err)
	}
}

func TestStaleInProgressIsTakenOver(t *testing.T) {
	w := newRepo(t, map[string]string{"a": strings.Replace(goodSpec, "---\n", "---\nstatus: in_progress\n", 1)})
	agent := &fakeAgent{files: map[string]string{"out.txt": "done\n"}, tick: true}
	var out strings.Builder
	if _, err := Run(context.Background(), Options{Workspace: w, Agent: agent, Out: &out}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Taking over a") || len(agent.runs) != 1 {
		t.Fatalf("output %q, runs %v", out.String(), agent.runs)
	}
}

// A run of named specs takes over what an interrupted run left, however
// far from them: it loads those specs too (the rest it does not read).
func TestANamedRunTakesOverAnInterruptedPhase(t *testing.T) {
	w := newRepo(t, map[string]string{
		"a": strings.Replace(goodSpec, "---\n", "---\nstatus: in_progress\n", 1),
		"b": strings.Replace(goodSpec, "out.txt", "b.txt", -1),
	})
	dirs, err := gitdir.Find(w.Root)
	if err != nil {
		t.Fatal(err)
	}
	progress := filepath.Join(dirs.StateDir(), "progress")
	if err := os.MkdirAll(progress, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(progress, "a.json"), []byte(`{"spec":"a","step":"running"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	agent := &fakeAgent{files: map[string]string{"b.txt": "done\n"}, tick: true}
	if _, err := Run(context.Background(), Options{Workspace: w, IDs: []string{"b"}, Agent: agent, Out: &out}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Taking over a") || strings.Join(agent.runs, " ") != "b" {
		t.Fatalf("output %q, runs %v", out.String(), agent.runs)
	}
	set, err := w.Load()
	if err != nil {
		t.Fatal(err)
	}
	if st := set.Get("a").Status; st != spec.StatusPending {
		t.Errorf("a is %s after the run took it over, want pending", st)
	}
}

func TestInvalidSpecsDoNotRunTheOthersDo(t *testing.T) {
	w := newRepo(t, map[string]string{"a": "---\ndepends_on: [zzz]\n---\n# A\n\n## Acceptance Criteria\n\n- [ ] a\n", "b": goodSpec, "c": "---\ndepends_on: [a]\n---\n# C\n\n## Acceptance Criteria\n\n- [ ] c\n"})
	agent := &fakeAgent{files: map[string]string{"out.txt": "done\n"}, tick: true}
	rep, err := Run(context.Background(), Options{Workspace: w, Agent: agent, Out: io.Discard})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), ".chant/specs/a.md:2:14: depends_on: zzz does not exist") || strings.Join(agent.runs, " ") != "b" {
		t.Fatalf("Run = %v, runs %v", err, agent.runs)
	}
	if st := rep.Final.States["c"]; st.Kind != plan.KindBlocked || st.Blockers[0].ID != "a" || st.Blockers[0].Kind != plan.KindInvalid {
		t.Errorf("c: %+v", st)
	}
	// Named, an invalid spec is refused before anything runs.
	agent.runs = nil
	if _, err := Run(context.Background(), Options{Workspace: w, Agent: agent, IDs: []string{"a"}}); !errors.Is(err, ErrInvalid) || len(agent.runs) != 0 {
		t.Fatalf("run a = %v, runs %v", err, agent.runs)
	}
}

// What a failed attempt left in the worktree, even where the repository
// ignores it, is not there for the retry, also when the retry is another
// chant process: a retry that does not write the target finds none.
func TestAFailedAttemptLeavesNothingToTheRetry(t *testing.T) {
	w := newRepo(t, map[string]string{"a": "---\ntarget_files: [dist/out.js]\n---\n# A\n\n## Acceptance Criteria\n\n- [ ] built\n"})
	os.WriteFile(filepath.Join(w.Root, ".gitignore"), []byte("dist/\n"), 0o644)
	gitCmd(t, w.Root, "add", ".gitignore")
	gitCmd(t, w.Root, "commit", "-qm", "ignore dist")
	// First attempt: builds the target, forgets to tick.
	_, err := Run(context.Background(), Options{Workspace: w, Agent: &fakeAgent{files: map[string]string{"dist/out.js": "built\n"}}})
	if !errors.Is(err, ErrPhaseFailed) {
		t.Fatalf("first attempt: %v", err)
	}
	// The retry (a new run: a new worktree object, as a new process has)
	// only ticks.
	rep, err := Run(context.Background(), Options{Workspace: w, IDs: []string{"a"}, Agent: &fakeAgent{tick: true}})
	if !errors.Is(err, ErrPhaseFailed) || !strings.Contains(strings.Join(rep.Failed[0].Verification.Problems(), "\n"), "target file does not exist: dist/out.js") {
		t.Fatalf("retry = %v", err)
	}
}

// An agent that fails after writing files leaves nothing to the next
// phase of the same run: the worktree is made clean again before it.
func TestAFailedAgentLeavesNothingToTheNextPhase(t *testing.T) {
	w := newRepo(t, map[string]string{
		"a": "---\ntarget_files: [a.txt]\n---\n# A\n\n## Acceptance Criteria\n\n- [ ] done\n",
		"b": "---\ntarget_files: [b.txt]\n---\n# B\n\n## Acceptance Criteria\n\n- [ ] done\n",
	})
	repo, err := gitrepo.Open(w.Root)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := isolation.Open(repo, "phase")
	if err != nil {
		t.Fatal(err)
	}
	set, _ := w.Load()
	boom := &fakeAgent{files: map[string]string{"a.txt": "half\n", "stray.txt": "left behind\n"}, err: errors.New("boom"), errAfterWrite: true}
	r := newRun(Options{Workspace: w, Out: io.Discard, Now: time.Now}, repo, set, boom, nil, tree)
	if ph := r.runOne(context.Background(), set.Get("a"), tree, nil); ph.Err == nil {
		t.Fatal("a did not fail")
	}
	r.Agent = &fakeAgent{write: true, tick: true}
	r.set, _ = w.Load()
	if ph := r.runOne(context.Background(), r.set.Get("b"), tree, nil); ph.Err != nil {
		t.Fatalf("b, after a's agent failed in the same run: %v", ph.Err)
	}
}

// A run of named specs assesses only the specs they stand on: its
// dependencies are in its final report, an unrelated spec in a cycle or
// with an unknown dependency is not, and holds nothing up.
func TestANamedRunAssessesWhatItStandsOn(t *testing.T) {
	done := "---\nstatus: completed\n---\n# A\n\n## Acceptance Criteria\n\n- [x] done\n"
	w := newRepo(t, map[string]string{
		"a": done,
		"b": "---\ndepends_on: [a]\ntarget_files: [out.txt]\n---\n# B\n\n## Acceptance Criteria\n\n- [ ] done\n",
		"x": "---\ndepends_on: [y]\n---\n# X\n\n## Acceptance Criteria\n\n- [ ] x\n",
		"y": "---\ndepends_on: [x]\n---\n# Y\n\n## Acceptance Criteria\n\n- [ ] y\n",
		"z": "---\ndepends_on: [nowhere]\n---\n# Z\n\n## Acceptance Criteria\n\n- [ ] z\n",
	})
	rep, err := Run(context.Background(), Options{Workspace: w, IDs: []string{"b"}, Agent: &fakeAgent{files: map[string]string{"out.txt": "done\n"}, tick: true}, Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	var assessed []string
	for _, s := range rep.Final.Set.Order() {
		assessed = append(assessed, s.ID+":"+string(rep.Final.States[s.ID].Kind))
	}
	if got := strings.Join(assessed, " "); got != "a:completed b:completed" {
		t.Errorf("assessed %s, want a and b, completed", got)
	}
}
