package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chant-run/chant/internal/testgit"
	"github.com/chant-run/chant/runner/plan"
	"github.com/chant-run/chant/spec"
)

var phases = []string{"001-comprehension", "002-reproduction", "003-root-cause", "004-impact-map", "005-fork-fix", "006-upstream-pr"}

// TestBundledPipelineEndToEnd does what a new user does, with chant (this
// test binary) in a temporary copy of the bundled pipeline, and then checks the
// fixture repository's history with the git CLI.
func TestBundledPipelineEndToEnd(t *testing.T) {
	requireChant(t)
	t.Parallel() // minutes long (waits, kills, agent CLIs): beside the other long tests
	if testing.Short() {
		t.Skip("runs the whole pipeline")
	}
	ws := copyBundledPipeline(t)
	repo := filepath.Join(ws, ".chant", "work", "issue-42")

	// 1. run: 001-005 in order, stop at the 006 gate, exit 0.
	out, errOut, code := chant(t, "-C", ws, "run")
	if code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "Made the issue-42 fixture repository: "+repo) {
		t.Errorf("run does not print the fixture repository path:\n%s", out)
	}
	if !strings.Contains(errOut, "Making the issue-42 fixture repository: "+makerepo+"\n") {
		t.Errorf("run does not say it runs fixture.make:\n%s", errOut)
	}
	assertPhaseLines(t, out, phases[:5])
	if strings.Contains(out, "run   006") {
		t.Errorf("006 ran before it was approved:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	tail := strings.Join(lines[len(lines)-2:], "\n")
	if !strings.Contains(tail, "006-upstream-pr awaits approval") ||
		!strings.Contains(tail, "chant -C "+ws+" approve 006-upstream-pr --by \"<your name>\"") {
		t.Errorf("the last lines do not give the approval command:\n%s", tail)
	}

	// 2. status, text and JSON.
	out, _, code = chant(t, "-C", ws, "status")
	if code != 0 || !regexp.MustCompile(`006-upstream-pr\s+documentation\s+pending\s+.*awaits approval`).MatchString(out) {
		t.Errorf("status: exit %d\n%s", code, out)
	}
	st := readStatus(t, ws)
	if st.Repo != repo {
		t.Errorf("status --json repo = %q, want %q", st.Repo, repo)
	}
	for i, s := range st.Specs {
		if s.ID != phases[i] {
			t.Fatalf("status --json order: %d is %s, want %s", i, s.ID, phases[i])
		}
	}
	if a := st.Specs[5].Approval; !a.Required || a.Status != "pending" || st.Specs[5].Reason != "awaits approval" {
		t.Errorf("006 before approval: %+v, reason %q", a, st.Specs[5].Reason)
	}

	// The review of the gate: phase 5's diff and checks, its hash; an
	// approval naming another review is refused.
	out, _, code = chant(t, "-C", ws, "review", "006")
	for _, want := range []string{"Review of 006-upstream-pr: ", "=== 005-fork-fix: ", "diff --git a/storage/store.go b/storage/store.go",
		"go test -race -count=1 -skip TestIssue42 ./...", "  work     "} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("review: exit %d, no %q in:\n%s", code, want, out)
		}
	}
	hash := regexp.MustCompile(`Review hash: ([0-9a-f]{12}) `).FindStringSubmatch(out)
	if hash == nil {
		t.Fatalf("review gives no hash:\n%s", out)
	}
	_, errOut, code = chant(t, "-C", ws, "approve", "006", "--by", "Test Reviewer", "--review-hash", "0123456789ab")
	if code != 2 || !strings.Contains(errOut, "006-upstream-pr's review hash is now "+hash[1]+", not 0123456789ab") {
		t.Errorf("approve with a stale review hash: exit %d\n%s", code, errOut)
	}

	// 3. approve: errors first, then the real one.
	for _, bad := range [][]string{
		{"approve", "999", "--by", "x"},      // no such spec
		{"approve", "001", "--by", "x"},      // not a gate
		{"approve", "006", "--by", "a\nb"},   // a name of two lines
		{"approve", "0", "--by", "x"},        // ambiguous
		{"reject", "006", "--by", "x"},       // no reason
		{"approve", "006", "--by", "x", "y"}, // extra argument
	} {
		_, errOut, code := chant(t, append([]string{"-C", ws}, bad...)...)
		if code != 2 || !strings.HasPrefix(errOut, "chant: ") {
			t.Errorf("chant %v: exit %d, stderr %q; want exit 2 and a message", bad, code, errOut)
		}
	}
	out, errOut, code = chant(t, "-C", ws, "approve", "006", "--by", "Test Reviewer", "--review-hash", hash[1])
	if code != 0 || !strings.Contains(out, "Approved 006-upstream-pr by Test Reviewer") || !strings.Contains(out, "review hash "+hash[1]) {
		t.Fatalf("approve: exit %d\n%s%s", code, out, errOut)
	}

	// 4. run again: only 006; then nothing.
	out, errOut, code = chant(t, "-C", ws, "run")
	if code != 0 {
		t.Fatalf("second run: exit %d\n%s\n%s", code, out, errOut)
	}
	assertPhaseLines(t, out, phases[5:])
	out, _, code = chant(t, "-C", ws, "run")
	if code != 0 || !strings.Contains(out, "Nothing to run: all 6 specs are completed.") {
		t.Errorf("third run: exit %d\n%s", code, out)
	}

	// The record, checked with the git CLI.
	st = readStatus(t, ws)
	subjects := strings.Split(git(t, repo, "log", "--reverse", "--format=%s"), "\n")
	var work []string
	for _, s := range subjects {
		if strings.HasPrefix(s, "chant(") && !strings.HasSuffix(s, "): approve") {
			work = append(work, s)
		}
	}
	if len(work) != len(phases) {
		t.Fatalf("work commits: %q", work)
	}
	for i, s := range st.Specs {
		if want := "chant(" + s.ID + "): " + s.Title; work[i] != want {
			t.Errorf("work commit %d is %q, want %q", i, work[i], want)
		}
		if s.Status != "completed" || len(s.Commits) != 1 {
			t.Fatalf("%s: status %s, commits %v", s.ID, s.Status, s.Commits)
		}
		changed := git(t, repo, "show", "--name-only", "--format=", s.Commits[0])
		if subject := git(t, repo, "show", "-s", "--format=%s", s.Commits[0]); subject != work[i] {
			t.Errorf("%s records commit %s, which is %q", s.ID, s.Commits[0], subject)
		}
		for _, f := range s.TargetFiles {
			if !containsStr(strings.Split(changed, "\n"), f) {
				t.Errorf("%s: commit %s does not touch target %s (touches %q)", s.ID, s.Commits[0], f, changed)
			}
		}
	}
	if a := st.Specs[5].Approval; a.Status != "approved" || a.By != "Test Reviewer" || a.At == "" {
		t.Errorf("006 approval after approve: %+v", a)
	}
	git(t, repo, "fsck", "--strict")
	if s := git(t, repo, "status", "--porcelain"); s != "" {
		t.Errorf("the fixture repository has uncommitted changes:\n%s", s)
	}
	spec006, _ := os.ReadFile(filepath.Join(repo, ".chant", "specs", "006-upstream-pr.md"))
	if !regexp.MustCompile(`(?m)^\*\*Test Reviewer\*\* - \d{4}-\d\d-\d\d \d\d:\d\d - APPROVED$`).Match(spec006) {
		t.Errorf("006 has no approval discussion entry:\n%s", spec006)
	}

	// The fix passes its tests; the regression test fails at the 002 commit.
	goTest(t, repo, true, "./...")
	at002 := t.TempDir()
	git(t, repo, "worktree", "add", "--detach", at002, st.Specs[1].Commits[0])
	goTest(t, at002, false, "-run", "TestIssue42", "./storage")

	staleAfterResearchEdit(t, ws, repo)
}

// staleAfterResearchEdit: the root-cause research is edited once the
// pipeline completed. Phases 4-6 are built on it: they are stale, and the
// gate's approval is spent; run --stale runs 4 and 5 again and stops at
// the gate until it is approved again.
func staleAfterResearchEdit(t *testing.T, ws, repo string) {
	editRootCause(t, repo)
	out, _, code := chant(t, "-C", ws, "status")
	for _, want := range []string{
		`003-root-cause\s+research\s+completed`,
		// and, as 003's target, a dependency's output
		`004-impact-map\s+research\s+stale\s+.*stale: informed_by \.chant/research/issue-42-root-cause\.md changed in [0-9a-f]{7} \(and 1 more\); chant run --stale runs it again`,
		`005-fork-fix\s+code\s+stale\s+.*stale: informed_by \.chant/research/issue-42-root-cause\.md changed in [0-9a-f]{7}; through 004-impact-map`,
		`006-upstream-pr\s+documentation\s+stale\s+.*its approval was spent by its last run`,
		`6 specs: 3 completed, 3 stale`,
	} {
		if code != 0 || !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("status after the research changed: exit %d, no %s in:\n%s", code, want, out)
		}
	}
	out, errOut, code := chant(t, "-C", ws, "run", "--stale")
	if code != 0 || !regexp.MustCompile(`(?m)^ok +004-impact-map .*its output is what it was`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^ok +005-fork-fix `).MatchString(out) || strings.Contains(out, "run   006") ||
		!regexp.MustCompile(`(?m)^  006-upstream-pr: .*approve it again to run it again`).MatchString(out) {
		t.Fatalf("run --stale: exit %d\n%s\n%s", code, out, errOut)
	}
	if out, errOut, code = chant(t, "-C", ws, "approve", "006", "--by", "Test Reviewer"); code != 0 {
		t.Fatalf("approve the stale gate: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = chant(t, "-C", ws, "run", "--stale")
	if code != 0 || !regexp.MustCompile(`(?m)^ok +006-upstream-pr `).MatchString(out) {
		t.Fatalf("run --stale after the approval: exit %d\n%s\n%s", code, out, errOut)
	}
	if out, _, code = chant(t, "-C", ws, "drift"); code != 0 || !strings.HasPrefix(out, "Nothing is stale") {
		t.Errorf("drift after run --stale: exit %d\n%s", code, out)
	}
	if s := git(t, repo, "status", "--porcelain"); s != "" {
		t.Errorf("uncommitted changes after run --stale:\n%s", s)
	}
}

func assertPhaseLines(t *testing.T, out string, ids []string) {
	t.Helper()
	var got []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && (f[0] == "run" || f[0] == "ok") {
			got = append(got, f[0]+" "+f[1])
		}
	}
	var want []string
	for _, id := range ids {
		want = append(want, "run "+id, "ok "+id)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("phase lines:\n%s\nwant:\n%s\nfull output:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), out)
	}
	okLine := regexp.MustCompile(`(?m)^ok    \S+\s+.+  \(completed in [0-9.]+m?s, commit [0-9a-f]{7}\)$`)
	if n := len(okLine.FindAllString(out, -1)); n != len(ids) {
		t.Errorf("%d end lines give title, duration and commit, want %d:\n%s", n, len(ids), out)
	}
}

func readStatus(t *testing.T, ws string) plan.StatusJSON {
	t.Helper()
	out, errOut, code := chant(t, "-C", ws, "status", "--json")
	if code != 0 {
		t.Fatalf("status --json: exit %d: %s", code, errOut)
	}
	var st plan.StatusJSON
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json is not one JSON object: %v\n%s", err, out)
	}
	if len(st.Specs) != len(phases) {
		t.Fatalf("status --json lists %d specs", len(st.Specs))
	}
	return st
}

var git = testgit.Git

func goTest(t *testing.T, dir string, wantPass bool, args ...string) {
	t.Helper()
	cmd := exec.Command("go", append([]string{"test", "-count=1"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if (err == nil) != wantPass {
		t.Errorf("go test %v in %s: err %v, want pass=%v\n%s", args, dir, err, wantPass, out)
	}
	if !wantPass && !strings.Contains(string(out), "concurrent updates lost") {
		t.Errorf("go test %v failed, but not by losing updates:\n%s", args, out)
	}
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestBundledPipelineInParallel: the bundled pipeline run with --parallel
// 3 ends as a sequential run does: the same commits in the same order,
// the same files (the records' hashes and times aside), every spec
// completed.
func TestBundledPipelineInParallel(t *testing.T) {
	requireChant(t)
	t.Parallel() // minutes long (waits, kills, agent CLIs): beside the other long tests
	if testing.Short() {
		t.Skip("runs the whole pipeline twice")
	}
	sameResult(t, "--parallel 3", bundledResult(t), bundledResult(t, "--parallel", "3"))
}

// TestBundledPipelineOnTemporal: the issue-42 pipeline, its phases on two
// workers through the dev server, to the same result as locally.
func TestBundledPipelineOnTemporal(t *testing.T) {
	requireChant(t)
	t.Parallel() // minutes long (waits, kills, agent CLIs): beside the other long tests
	if testing.Short() {
		t.Skip("needs the Temporal dev server")
	}
	addr := temporalServer(t)
	queue := fmt.Sprintf("chant-bundled-%d", time.Now().UnixNano())
	w1, w2 := startWorker(t, addr, queue, "w1"), startWorker(t, addr, queue, "w2")
	remote := bundledResult(t, "--engine", "temporal", "--address", addr, "--task-queue", queue, "--parallel", "2")
	if !strings.Contains(w1.out.String()+w2.out.String(), "ok    001") {
		t.Errorf("no worker ran the pipeline's phases:\n%s\n%s", w1.out.String(), w2.out.String())
	}
	sameResult(t, "--engine temporal", bundledResult(t), remote)
}

// editRootCause commits an addendum to the root-cause research of the
// pipeline's repository.
func editRootCause(t *testing.T, repo string) {
	t.Helper()
	rc := filepath.Join(repo, ".chant", "research", "issue-42-root-cause.md")
	f, err := os.OpenFile(rc, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, "\nAddendum: Delete follows the same read-modify-write as Update.")
	f.Close()
	git(t, repo, "commit", "-qam", "root cause: an addendum")
}

// pipelineResult is what the bundled pipeline leaves: the fixture
// repository's history (subjects) and files, with hashes, times and
// durations masked.
type pipelineResult struct {
	subjects []string
	files    map[string]string
}

// bundledResult runs the bundled pipeline in a new workspace with args:
// run, approve the gate, run; then, its root-cause research edited, the
// stale phases again: run --stale, approve the gate again, run --stale.
func bundledResult(t *testing.T, args ...string) pipelineResult {
	t.Helper()
	ws := copyBundledPipeline(t)
	repo := filepath.Join(ws, ".chant", "work", "issue-42")
	run := func(steps ...[]string) {
		for _, step := range steps {
			if out, errOut, code := chant(t, append([]string{"-C", ws}, step...)...); code != 0 {
				t.Fatalf("%v: exit %d\n%s\n%s", step, code, out, errOut)
			}
		}
	}
	approve := []string{"approve", "006", "--by", "Reviewer"}
	run(append([]string{"run"}, args...), approve, append([]string{"run"}, args...))
	editRootCause(t, repo)
	run(append([]string{"run", "--stale"}, args...), approve, append([]string{"run", "--stale"}, args...))
	if out, _, _ := chant(t, "-C", ws, "drift"); !strings.HasPrefix(out, "Nothing is stale") {
		t.Errorf("stale after run --stale %v:\n%s", args, out)
	}
	log := testgit.Git(t, repo, "log", "--reverse", "--format=%s")
	varying := regexp.MustCompile(`"?\b[0-9a-f]{7,40}\b"?|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ|\d{4}-\d\d-\d\d \d\d:\d\d|\d+(\.\d+)?m?s\b`)
	files := map[string]string{}
	for _, f := range strings.Fields(testgit.Git(t, repo, "ls-files")) {
		data, err := os.ReadFile(filepath.Join(repo, f))
		if err != nil {
			t.Fatal(err)
		}
		files[f] = varying.ReplaceAllString(string(data), "X")
	}
	if out := testgit.Git(t, repo, "status", "--porcelain"); out != "" {
		t.Errorf("git status not clean after %v:\n%s", args, out)
	}
	return pipelineResult{strings.Split(strings.TrimSpace(varying.ReplaceAllString(log, "X")), "\n"), files} // a subject may name a commit
}

// sameResult fails the test unless got (a run with how) left what the
// sequential run left.
func sameResult(t *testing.T, how string, seq, got pipelineResult) {
	t.Helper()
	if strings.Join(got.subjects, "\n") != strings.Join(seq.subjects, "\n") {
		t.Errorf("histories differ (%s, then sequential):\n%s\n---\n%s", how, strings.Join(got.subjects, "\n"), strings.Join(seq.subjects, "\n"))
	}
	for f, want := range seq.files {
		if g, ok := got.files[f]; !ok || g != want {
			t.Errorf("%s differs from the sequential run's (%s):\n%s\n---\n%s", f, how, g, want)
		}
	}
	if len(got.files) != len(seq.files) {
		t.Errorf("%d files after the run with %s, %d after the sequential one", len(got.files), how, len(seq.files))
	}
}

// TestBundledFixtureMakeCommand runs the bundled config's fixture.make as
// chant does (in the workspace's root, with $CHANT_FIXTURE_DIR) and opens
// what it made: the other tests run the same code as this test binary's
// makerepo, without Go building it.
func TestBundledFixtureMakeCommand(t *testing.T) {
	root := projectRoot(t)
	w, err := spec.OpenWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "issue-42")
	cmd := exec.Command("sh", "-c", w.Config.Fixture.Make)
	cmd.Dir, cmd.Env = root, append(os.Environ(), spec.FixtureDirEnv+"="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", w.Config.Fixture.Make, err, out)
	}
	made, err := spec.OpenWorkspace(dir)
	if err != nil {
		t.Fatal(err)
	}
	if made.Config.Fixture.Name != "" || made.Config.Project.Name != "kvstore" {
		t.Errorf("the made workspace's config: %+v", made.Config)
	}
	log, err := exec.Command("git", "-C", dir, "log", "--format=%s").Output()
	if err != nil || string(log) != "chant: add the issue-42 pipeline\nInitial import of kvstore\n" {
		t.Errorf("git log: %q, %v", log, err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".chant", "recordings", "005-fork-fix", "files", "storage", "store.go")); err != nil {
		t.Error(err)
	}
}
