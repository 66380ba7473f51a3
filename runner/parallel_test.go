package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chant-run/chant/internal/agentstream"
	"github.com/chant-run/chant/internal/testgit"
	"github.com/chant-run/chant/runner/agent"
	"github.com/chant-run/chant/runner/plan"
	"github.com/chant-run/chant/spec"
)

// sideBySideAgent writes a spec's targets and ticks its boxes after a
// pause, recording when each spec's agent ran, so that tests can tell what
// ran at the same time. It is safe for phases side by side.
type sideBySideAgent struct {
	pause  time.Duration
	pauses map[string]time.Duration // per spec, instead of pause
	fail   map[string]bool          // these specs' agents fail
	also   func(job *agent.Job)     // something more an agent does
	usage  agentstream.Usage        // what each agent reports it used
	// meet: a spec's agent waits until one of these specs' agents has
	// started (for at most meetWait) before its pause, so that agents
	// the scheduler runs side by side are seen to, however long each
	// phase took to set up.
	meet    map[string][]string
	mu      sync.Mutex
	started map[string]chan struct{} // closed when the spec's agent starts
	spans   map[string][2]time.Time  // spec → when its agent ran
	now     int                      // agents running
	most    int                      // the most that ran at once
}

// meetWait bounds a wait of meet: a scheduler that never runs the specs
// side by side fails the test after it, rather than hanging it.
const meetWait = 30 * time.Second

// startedCh is the channel closed when id's agent starts. Called with a.mu.
func (a *sideBySideAgent) startedCh(id string) chan struct{} {
	if a.started == nil {
		a.started = map[string]chan struct{}{}
	}
	if a.started[id] == nil {
		a.started[id] = make(chan struct{})
	}
	return a.started[id]
}

func (a *sideBySideAgent) Run(ctx context.Context, job *agent.Job) (*agent.Result, error) {
	a.mu.Lock()
	a.now++
	a.most = max(a.most, a.now)
	start := time.Now()
	close(a.startedCh(job.Spec.ID))
	var others []chan struct{}
	for _, id := range a.meet[job.Spec.ID] {
		others = append(others, a.startedCh(id))
	}
	a.mu.Unlock()
	if len(others) > 0 {
		met := make(chan struct{})
		for _, ch := range others {
			go func() {
				select {
				case <-ch:
					select {
					case met <- struct{}{}:
					default:
					}
				case <-time.After(meetWait):
				}
			}()
		}
		select {
		case <-met:
		case <-time.After(meetWait):
		case <-ctx.Done():
		}
	}
	defer func() {
		a.mu.Lock()
		a.now--
		if a.spans == nil {
			a.spans = map[string][2]time.Time{}
		}
		a.spans[job.Spec.ID] = [2]time.Time{start, time.Now()}
		a.mu.Unlock()
	}()
	if a.fail[job.Spec.ID] {
		return nil, errors.New("the agent gave up") // at once
	}
	pause := a.pause
	if d, ok := a.pauses[job.Spec.ID]; ok {
		pause = d
	}
	select {
	case <-time.After(pause):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if a.also != nil {
		a.also(job)
	}
	for _, t := range job.Spec.TargetFiles {
		full := filepath.Join(job.Dir, filepath.FromSlash(t))
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte("done "+job.Spec.ID+"\n"), 0o644); err != nil {
			return nil, err
		}
	}
	return &agent.Result{Output: "did " + job.Spec.ID, Usage: a.usage}, tickAll(job.SpecFile)
}

// together reports whether two specs' agents ran at the same time.
func (a *sideBySideAgent) together(x, y string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	sx, sy := a.spans[x], a.spans[y]
	return sx[0].Before(sy[1]) && sy[0].Before(sx[1])
}

func parallelSpec(targets string, extra ...string) string {
	return fmt.Sprintf("---\ntarget_files: [%s]\n%s---\n# Make %s\n\n## Acceptance Criteria\n\n- [ ] made\n", targets, strings.Join(extra, ""), targets)
}

// subjects are the branch's commit subjects, oldest first.
func subjects(t *testing.T, w *spec.Workspace) []string {
	out := strings.Split(strings.TrimSpace(gitCmd(t, w.Root, "log", "--reverse", "--format=%s")), "\n")
	return out[1:] // without the initial commit
}

func statuses(t *testing.T, w *spec.Workspace) map[string]string {
	set, err := w.Load()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, s := range set.Specs {
		out[s.ID] = s.Status
	}
	return out
}

func TestParallelLandsAsSequentialDoes(t *testing.T) {
	specs := map[string]string{
		"a": parallelSpec("out/a.txt"),
		"b": parallelSpec("out/b.txt"),
		"c": parallelSpec("out/c.txt", "depends_on: [a]\n"),
		"d": parallelSpec("out/d.txt"),
		"e": parallelSpec("out/e.txt", "depends_on: [c, d]\n"),
		"f": parallelSpec("out/f.txt"),
	}
	now := func() time.Time { return time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC) }
	seq := newRepo(t, specs)
	if _, err := Run(context.Background(), Options{Workspace: seq, Agent: &sideBySideAgent{}, Now: now}); err != nil {
		t.Fatal(err)
	}
	par := newRepo(t, specs)
	agent := &sideBySideAgent{pause: 50 * time.Millisecond}
	rep, err := Run(context.Background(), Options{Workspace: par, Agent: agent, Now: now, Parallel: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Ran) != 6 {
		t.Fatalf("ran %d phases, want 6", len(rep.Ran))
	}
	if agent.most < 2 {
		t.Errorf("at most %d agent ran at once: nothing ran side by side", agent.most)
	}
	if got, want := subjects(t, par), subjects(t, seq); !slices.Equal(got, want) {
		t.Errorf("parallel history differs from sequential:\n%s\n---\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for id, st := range statuses(t, par) {
		if st != spec.StatusCompleted {
			t.Errorf("%s is %s", id, st)
		}
	}
	// Same content, file for file: the records are dated by Now, and
	// differ only by the hashes of the commits (the repositories' first
	// commits differ).
	hashes := regexp.MustCompile(`"?\b[0-9a-f]{7,40}\b"?`) // quoted when all digits
	for _, f := range strings.Fields(gitCmd(t, seq.Root, "ls-files")) {
		got, _ := os.ReadFile(filepath.Join(par.Root, f))
		want, _ := os.ReadFile(filepath.Join(seq.Root, f))
		if g, w := hashes.ReplaceAll(got, []byte("H")), hashes.ReplaceAll(want, []byte("H")); string(g) != string(w) {
			t.Errorf("%s differs from the sequential run's:\n%s\n---\n%s", f, g, w)
		}
	}
	if out := gitCmd(t, par.Root, "status", "--porcelain"); out != "" {
		t.Errorf("git status not clean:\n%s", out)
	}
	gitCmd(t, par.Root, "fsck", "--strict")
}

func TestParallelNeverRunsOverlappingTargets(t *testing.T) {
	// A pattern and a file it matches; the same file twice.
	w := newRepo(t, map[string]string{
		"a": parallelSpec("src/*.go"),
		"b": parallelSpec("src/x.go"),
		"c": parallelSpec("lib/y.go"),
		"d": parallelSpec("lib/y.go"),
		"e": parallelSpec("doc/readme.txt"),
	})
	srcs, libs := []string{"a", "b"}, []string{"c", "d"}
	agent := &sideBySideAgent{pause: 100 * time.Millisecond,
		meet: map[string][]string{"a": libs, "b": libs, "c": srcs, "d": srcs}}
	Run(context.Background(), Options{Workspace: w, Agent: agent, Parallel: 4})
	for _, pair := range [][2]string{{"a", "b"}, {"c", "d"}} {
		if agent.together(pair[0], pair[1]) {
			t.Errorf("%s and %s ran at the same time; their targets overlap", pair[0], pair[1])
		}
	}
	if !agent.together("a", "c") && !agent.together("a", "d") && !agent.together("b", "c") && !agent.together("b", "d") {
		t.Error("the specs of lib/ ran apart from those of src/: the scheduler did not fill the other slots")
	}
	if st := statuses(t, w); st["b"] != spec.StatusCompleted || st["c"] != spec.StatusCompleted || st["e"] != spec.StatusCompleted {
		t.Errorf("statuses: %v", st)
	}
}

func TestParallelFailureStopsOnlyItsBranch(t *testing.T) {
	w := newRepo(t, map[string]string{
		"a": parallelSpec("out/a.txt"),
		"b": parallelSpec("out/b.txt", "depends_on: [a]\n"),
		"c": parallelSpec("out/c.txt"),
		"d": parallelSpec("out/d.txt"),
	})
	agent := &sideBySideAgent{pause: 30 * time.Millisecond, fail: map[string]bool{"a": true}}
	rep, err := Run(context.Background(), Options{Workspace: w, Agent: agent, Parallel: 2})
	if !errors.Is(err, ErrPhaseFailed) {
		t.Fatalf("err = %v, want ErrPhaseFailed", err)
	}
	if len(rep.Failed) != 1 || rep.Failed[0].Spec.ID != "a" {
		t.Errorf("failed: %v", rep.Failed)
	}
	want := map[string]string{"a": spec.StatusFailed, "b": spec.StatusPending, "c": spec.StatusCompleted, "d": spec.StatusCompleted}
	if got := statuses(t, w); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	// --fail-fast: nothing starts after the failure.
	w = newRepo(t, map[string]string{
		"a": parallelSpec("out/a.txt"),
		"b": parallelSpec("out/b.txt"),
		"c": parallelSpec("out/c.txt"),
	})
	bBefore, _ := os.ReadFile(w.SpecPath("b"))
	headBefore := testgit.Git(t, w.Root, "rev-list", "--count", "HEAD")
	// b would run for a minute: it is stopped at once, not waited for.
	agent = &sideBySideAgent{pauses: map[string]time.Duration{"b": time.Minute}, fail: map[string]bool{"a": true}}
	var out bytes.Buffer
	start := time.Now()
	rep, err = Run(context.Background(), Options{Workspace: w, Agent: agent, Parallel: 1 + 1, FailFast: true, Out: &out})
	if took := time.Since(start); took > 30*time.Second {
		t.Fatalf("the run took %s: --fail-fast waited for b", took)
	}
	if !errors.Is(err, ErrPhaseFailed) || len(rep.Failed) != 1 || len(rep.Stopped) != 1 || rep.Stopped[0].Spec.ID != "b" {
		t.Fatalf("err %v, failed %v, stopped %v", err, rep.Failed, rep.Stopped)
	}
	want = map[string]string{"a": spec.StatusFailed, "b": spec.StatusPending, "c": spec.StatusPending}
	if got := statuses(t, w); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("with --fail-fast, statuses %v, want %v (b stopped, c never started)", got, want)
	}
	if after, _ := os.ReadFile(w.SpecPath("b")); string(after) != string(bBefore) {
		t.Errorf("b's spec file after it was stopped:\n%s\nwant it as before:\n%s", after, bBefore)
	}
	// One commit: a's failure; nothing of b's.
	if n := testgit.Git(t, w.Root, "rev-list", "--count", "HEAD"); n != fmt.Sprint(mustAtoi(t, headBefore)+1) {
		t.Errorf("%s commits after the run, want %s + 1", n, headBefore)
	}
	if !regexp.MustCompile(`(?m)^stop  b .*stopped: a failed \(--fail-fast\)`).MatchString(out.String()) {
		t.Errorf("output does not say b was stopped:\n%s", out.String())
	}
	// The next run runs b (and c); a runs again only when named.
	rep, err = Run(context.Background(), Options{Workspace: w, Agent: &sideBySideAgent{}, Parallel: 2})
	if err != nil || len(rep.Ran) != 2 {
		t.Fatalf("the next run: %v, ran %v", err, rep.Ran)
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestParallelGateStopsOnlyItsBranch(t *testing.T) {
	w := newRepo(t, map[string]string{
		"a":    parallelSpec("out/a.txt"),
		"gate": parallelSpec("out/gate.txt", "depends_on: [a]\napproval: {required: true, status: pending}\n"),
		"c":    parallelSpec("out/c.txt"),
		"d":    parallelSpec("out/d.txt", "depends_on: [c]\n"),
	})
	rep, err := Run(context.Background(), Options{Workspace: w, Agent: &sideBySideAgent{}, Parallel: 3})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": spec.StatusCompleted, "gate": spec.StatusPending, "c": spec.StatusCompleted, "d": spec.StatusCompleted}
	if got := statuses(t, w); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	if k := rep.Final.States["gate"].Kind; k != plan.KindAwaiting {
		t.Errorf("gate is %s, want awaiting approval", k)
	}
}

func TestParallelGitConfigChangeFailsEveryPhaseRunningThen(t *testing.T) {
	w := newRepo(t, map[string]string{
		"a": parallelSpec("out/a.txt"),
		"b": parallelSpec("out/b.txt"),
	})
	config := filepath.Join(w.Root, ".git", "config")
	before, _ := os.ReadFile(config)
	var once sync.Once
	// a changes it while b still runs: b's agent might as well have.
	agent := &sideBySideAgent{pauses: map[string]time.Duration{"a": 50 * time.Millisecond, "b": 400 * time.Millisecond}, also: func(job *agent.Job) {
		if job.Spec.ID == "a" {
			once.Do(func() {
				f, _ := os.OpenFile(config, os.O_APPEND|os.O_WRONLY, 0)
				f.WriteString("[core]\n\thooksPath = /tmp/evil\n")
				f.Close()
			})
		}
	}}
	_, err := Run(context.Background(), Options{Workspace: w, Agent: agent, Parallel: 2})
	if !errors.Is(err, ErrPhaseFailed) {
		t.Fatalf("err = %v, want ErrPhaseFailed", err)
	}
	if !agent.together("a", "b") {
		t.Skip("a and b did not run side by side on this machine")
	}
	// Either agent may have done it: neither passes.
	if st := statuses(t, w); st["a"] != spec.StatusFailed || st["b"] != spec.StatusFailed {
		t.Errorf("statuses %v: every phase running when git's configuration changed must fail", st)
	}
	if after, _ := os.ReadFile(config); string(after) != string(before) {
		t.Errorf("git's configuration not restored:\n%s", after)
	}
}

// A parallel run with a budget starts no phase once the costs its agents
// reported reach it; those that run finish and land.
func TestAParallelRunStopsStartingPhasesOnceItsBudgetIsSpent(t *testing.T) {
	specs := map[string]string{}
	for _, id := range []string{"a", "b", "c", "d", "e", "f"} {
		specs[id] = parallelSpec("out/" + id + ".txt")
	}
	w := newRepo(t, specs)
	ag := &sideBySideAgent{pause: 50 * time.Millisecond, usage: agentstream.Usage{CostUSD: 0.02, Priced: true}}
	rep, err := Run(context.Background(), Options{Workspace: w, Agent: ag, Parallel: 2, Budget: 0.03})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OverBudget || rep.Spent < 0.03 {
		t.Fatalf("over budget %v, spent %v: want the budget reached", rep.OverBudget, rep.Spent)
	}
	// Two at once: at most one more started after the first ended, before
	// the second did; none after the budget was reached.
	if n := len(rep.Ran); n < 2 || n > 3 {
		t.Errorf("%d phases ran, want 2 or 3", n)
	}
	completed := 0
	for _, st := range statuses(t, w) {
		if st == spec.StatusCompleted {
			completed++
		}
	}
	if completed != len(rep.Ran) {
		t.Errorf("%d completed, %d ran: every phase that ran lands", completed, len(rep.Ran))
	}
}
