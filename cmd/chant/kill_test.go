package main

import (
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chant-run/chant/internal/testgit"
)

// killPipeline is a small replayed pipeline, a → b → c → d, each phase
// writing one file and checking it.
func killPipeline(t *testing.T) string {
	return killPipelineOf(t, map[string]string{"b": "a", "c": "b", "d": "c"})
}

// killPipelineOf is the pipeline of specs a, b, c, d with these
// dependencies (spec → the one it depends on).
func killPipelineOf(t *testing.T, deps map[string]string) string {
	files := map[string]string{
		".chant/config.md": "---\nproject: {name: kill}\ndefaults: {provider: replay}\n---\n",
		"README":           "kill test\n",
	}
	for _, id := range []string{"a", "b", "c", "d"} {
		dep := ""
		if d := deps[id]; d != "" {
			dep = "depends_on: [" + d + "]\n"
		}
		files[".chant/specs/"+id+".md"] = fmt.Sprintf("---\n%starget_files: [out/%s.txt]\nchecks:\n- grep -q %s-done out/%s.txt\n---\n# Phase %s\n\n## Acceptance Criteria\n\n- [ ] %s written\n", dep, id, id, id, id, id)
		files[".chant/recordings/"+id+"/transcript.md"] = "Wrote out/" + id + ".txt.\n"
		files[".chant/recordings/"+id+"/recording.yaml"] = "checked: [" + id + " written]\n"
		files[".chant/recordings/"+id+"/files/out/"+id+".txt"] = id + "-done\n"
	}
	return testgit.Repo(t, files)
}

// TestKilledRunsEndLikeUninterruptedOnes kills `chant run` with SIGKILL at
// random moments, again and again, then lets it finish, and checks that
// the end state is the state of a run never interrupted.
func TestKilledRunsEndLikeUninterruptedOnes(t *testing.T) {
	requireChant(t)
	// Minutes long (waits, kills, agent CLIs): beside the other long tests.
	t.Parallel()
	killRuns(t, killPipeline, 20, 15, false) // about 20 s
}

// TestKilledParallelRunsEndLikeUninterruptedOnes does the same with
// --parallel 3 on a pipeline where a, b and c are independent and d
// depends on a: every spec ends completed once (one work commit, its
// target written once). The order of the commits may differ: a phase
// that had verified when its run was killed lands first when the next
// run starts.
func TestKilledParallelRunsEndLikeUninterruptedOnes(t *testing.T) {
	requireChant(t)
	t.Parallel() // minutes long (waits, kills, agent CLIs): beside the other long tests
	killRuns(t, func(t *testing.T) string { return killPipelineOf(t, map[string]string{"d": "a"}) }, 10, 10, true, "--parallel", "3")
}

// killRuns kills runs of fresh pipelines at random moments, trials times
// killsPerTrial, then lets each finish, and compares the end state with
// an uninterrupted run's (the order of commits too, unless anyOrder).
func killRuns(t *testing.T, pipeline func(*testing.T) string, trials, killsPerTrial int, anyOrder bool, args ...string) {
	requireChant(t)
	if testing.Short() {
		t.Skip("kills many runs")
	}
	run := append([]string{"run"}, args...)
	ref := pipeline(t)
	start := time.Now()
	if out, errOut, code := chant(t, append([]string{"-C", ref}, run...)...); code != 0 {
		t.Fatalf("uninterrupted run: exit %d\n%s\n%s", code, out, errOut)
	}
	full := time.Since(start)
	want := endState(t, ref, anyOrder)

	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	kills := 0
	for trial := 1; trial <= trials; trial++ {
		dir := pipeline(t)
		for attempt := 0; attempt < killsPerTrial; attempt++ {
			cmd := exec.Command(chantBin, append([]string{"-C", dir}, run...)...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Duration(rng.Int63n(int64(full))))
			if cmd.Process.Signal(syscall.SIGKILL) == nil {
				kills++
			}
			cmd.Wait()
		}
		out, errOut, code := chant(t, append([]string{"-C", dir}, run...)...)
		if code != 0 {
			t.Fatalf("trial %d: the run after the kills failed (exit %d):\n%s\n%s", trial, code, out, errOut)
		}
		if got := endState(t, dir, anyOrder); got != want {
			t.Fatalf("trial %d: end state differs from an uninterrupted run:\n--- got\n%s\n--- want\n%s", trial, got, want)
		}
	}
	t.Logf("%d trials, %d runs killed at random, each ending as an uninterrupted run (uninterrupted: %s)", trials, kills, full.Round(time.Millisecond))
}

// endState describes a finished pipeline without what legitimately differs
// between two runs (hashes, times): the commit subjects in order, the work
// files, and each spec's status, commit count and Agent Output count.
func endState(t *testing.T, dir string, anyOrder bool) string {
	t.Helper()
	testgit.Git(t, dir, "fsck", "--strict")
	var b strings.Builder
	log := strings.Split(testgit.Git(t, dir, "log", "--reverse", "--format=%s"), "\n")
	if anyOrder {
		sort.Strings(log)
	}
	fmt.Fprintf(&b, "log:\n%s\n", strings.Join(log, "\n"))
	fmt.Fprintf(&b, "status: %q\n", testgit.Git(t, dir, "status", "--porcelain"))
	fmt.Fprintf(&b, "tree:\n%s\n", testgit.Git(t, dir, "ls-tree", "-r", "HEAD", "--", "out", "README"))
	commits := regexp.MustCompile(`(?m)^commits:\n((?:- .*\n)+)`)
	for _, id := range []string{"a", "b", "c", "d"} {
		data, err := os.ReadFile(filepath.Join(dir, ".chant", "specs", id+".md"))
		if err != nil {
			t.Fatal(err)
		}
		s := string(data)
		status := regexp.MustCompile(`(?m)^status: (.*)$`).FindStringSubmatch(s)
		n := 0
		if m := commits.FindStringSubmatch(s); m != nil {
			n = strings.Count(m[1], "\n")
		}
		fmt.Fprintf(&b, "%s: status %v, %d commits, %d Agent Output, %d ticked\n", id, status[1:], n,
			strings.Count(s, "## Agent Output"), strings.Count(s, "- [x]"))
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".git", "chant", "progress", "*.json")); len(left) > 0 {
		fmt.Fprintf(&b, "progress files left: %v\n", left)
	}
	return b.String()
}

// TestKilledParallelRunsLeaveNoAgentRunning kills parallel runs whose
// agents are processes that leave a child running, at random moments:
// each run ends as an uninterrupted one, and no process an agent of a
// killed run started is still running at the end. It tests the layer
// under the sandbox (sandbox: off), which must find them by itself; in
// the sandbox the kernel ends them with chant (cage_02).
func TestKilledParallelRunsLeaveNoAgentRunning(t *testing.T) {
	requireChant(t)
	marks := t.TempDir()
	t.Setenv("MARKS", marks)
	pipeline := func(t *testing.T) string {
		files := map[string]string{
			".chant/config.md": "---\nproject: {name: kill}\ndefaults: {provider: command}\nagent:\n  command: sh agent.sh\nsandbox: off\n---\n",
			"README":           "kill test\n",
			"agent.sh": `mkdir -p out
echo $$ >> "$MARKS/pids"
sleep 300 &
echo $! >> "$MARKS/pids"
sleep 0.2
echo "$CHANT_SPEC_ID-done" > "out/$CHANT_SPEC_ID.txt"
sed -i 's/- \[ \]/- [x]/' "$CHANT_SPEC_FILE"
echo "Wrote out/$CHANT_SPEC_ID.txt."
`,
		}
		for _, id := range []string{"a", "b", "c", "d"} {
			dep := ""
			if id == "d" {
				dep = "depends_on: [a]\n"
			}
			files[".chant/specs/"+id+".md"] = fmt.Sprintf("---\n%starget_files: [out/%s.txt]\nchecks:\n- grep -q %s-done out/%s.txt\n---\n# Phase %s\n\n## Acceptance Criteria\n\n- [ ] %s written\n", dep, id, id, id, id, id)
		}
		return testgit.Repo(t, files)
	}
	killRuns(t, pipeline, 5, 6, true, "--parallel", "3")
	data, err := os.ReadFile(filepath.Join(marks, "pids"))
	if err != nil {
		t.Fatal(err)
	}
	pids := strings.Fields(string(data))
	var alive []string
	for _, pid := range pids {
		status, err := os.ReadFile("/proc/" + pid + "/status")
		if err == nil && !regexp.MustCompile(`(?m)^State:\s+Z`).Match(status) {
			alive = append(alive, pid)
		}
	}
	if len(alive) > 0 {
		t.Fatalf("%d of the %d processes agents started are still running: %v", len(alive), len(pids), alive)
	}
	t.Logf("%d agent processes, none left running", len(pids))
}
