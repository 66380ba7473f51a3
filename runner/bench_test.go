package runner

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/isolation"
	"github.com/chant-run/chant/spec"
)

// BenchmarkPhase50kVsGit measures, side by side in one repository of
// 50,000 files, chant's own cost of a phase (the agent is an in-process one
// that writes its target and ticks its box, so it costs nothing) against
// the git CLI's `git add F && git commit` of a one-file change. Phases are
// timed after the first of their run, whose worktree check (or, the first
// time, checkout) is reported apart. Target: at most 1.5x git.
//
//	go test -run XXX -bench Phase50k -benchtime 3x ./runner
func BenchmarkPhase50kVsGit(b *testing.B) {
	const files, phases = 50000, 10
	root := bigRepo(b, files)
	w, err := spec.OpenWorkspace(root)
	if err != nil {
		b.Fatal(err)
	}
	repo, err := gitrepo.Open(root)
	if err != nil {
		b.Fatal(err)
	}
	// The first checkout of the phase worktree, reported apart.
	start := time.Now()
	tree, err := isolation.Open(repo, "phase")
	if err == nil {
		var head gitrepo.Head
		if head, err = repo.ReadHead(); err == nil {
			err = tree.Sync(head.Commit)
		}
	}
	if err != nil {
		b.Fatal(err)
	}
	checkout := time.Since(start)

	var chantTime, gitTime time.Duration
	var chantN, gitN int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ids := addSpecs(b, root, i, phases)
		b.StartTimer()
		rep, err := Run(context.Background(), Options{Workspace: w, Agent: &fakeAgent{files: nil, tick: true, write: true}})
		if err != nil {
			b.Fatal(err)
		}
		if len(rep.Ran) != len(ids) {
			b.Fatalf("ran %d phases, want %d", len(rep.Ran), len(ids))
		}
		for _, ph := range rep.Ran[1:] {
			chantTime += ph.Duration
			chantN++
		}
		for j := 0; j < phases; j++ {
			p := fmt.Sprintf("d%03d/edited.txt", j)
			if err := os.WriteFile(filepath.Join(root, p), []byte(fmt.Sprintf("%d %d\n", i, j)), 0o644); err != nil {
				b.Fatal(err)
			}
			t := time.Now()
			git(b, root, "sh", "-c", "git add "+p+" && git commit -q -m edit")
			gitTime += time.Since(t)
			gitN++
		}
	}
	b.StopTimer()
	perPhase := float64(chantTime.Microseconds()) / float64(chantN) / 1000
	perCommit := float64(gitTime.Microseconds()) / float64(gitN) / 1000
	b.ReportMetric(perPhase, "ms/phase")
	b.ReportMetric(perCommit, "ms/git-add+commit")
	b.ReportMetric(perPhase/perCommit, "x-git")
	b.ReportMetric(float64(checkout.Milliseconds()), "ms-first-checkout")
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" {
				var kb float64
				fmt.Sscan(f[1], &kb)
				b.ReportMetric(kb/1024, "MB-peak-RSS")
			}
		}
	}
}

// bigRepo makes a repository of n small files in directories of 100,
// with a chant workspace, committed with the git CLI and packed.
func bigRepo(b *testing.B, n int) string {
	b.Helper()
	root := b.TempDir()
	for i := 0; i < n; i++ {
		dir := filepath.Join(root, fmt.Sprintf("d%03d", i/100))
		if i%100 == 0 {
			os.MkdirAll(dir, 0o755)
		}
		content := fmt.Sprintf("file %d\n%s", i, strings.Repeat("some content of a source file\n", 10))
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%02d.txt", i%100)), []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(root, ".chant", "specs"), 0o755)
	os.WriteFile(filepath.Join(root, ".chant", "config.md"), []byte("---\nproject: {name: big}\n---\n"), 0o644)
	git(b, root, "git", "init", "-q", "-b", "main")
	// No automatic gc in the middle of the measurements, on either side.
	git(b, root, "git", "config", "gc.auto", "0")
	git(b, root, "git", "add", "-A")
	git(b, root, "git", "commit", "-qm", "init")
	git(b, root, "git", "gc", "-q")
	return root
}

// addSpecs commits n new specs, each in a chain after the previous, each
// writing a file of its own.
func addSpecs(b *testing.B, root string, round, n int) []string {
	var ids []string
	prev := ""
	for j := 0; j < n; j++ {
		id := fmt.Sprintf("r%03d-p%02d", round, j)
		dep := ""
		if prev != "" {
			dep = "depends_on: [" + prev + "]\n"
		}
		src := fmt.Sprintf("---\n%starget_files: [d%03d/out-%s.txt]\n---\n# Phase %s\n\n## Acceptance Criteria\n\n- [ ] written\n", dep, j*7, id, id)
		if err := os.WriteFile(filepath.Join(root, ".chant", "specs", id+".md"), []byte(src), 0o644); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
		prev = id
	}
	git(b, root, "git", "add", ".chant")
	git(b, root, "git", "commit", "-qm", "specs")
	return ids
}

func git(b *testing.B, dir string, args ...string) {
	b.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=B", "GIT_AUTHOR_EMAIL=b@x", "GIT_COMMITTER_NAME=B", "GIT_COMMITTER_EMAIL=b@x")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		b.Fatalf("%v: %v\n%s", args, err, out.String())
	}
}

// BenchmarkPhaseInBigWorkspace measures chant's own cost of a phase, with
// what a run does between phases, in a workspace of 10,000 specs (all
// completed but the 5 run, in a chain) against the same in a workspace of
// 5, side by side in one run; the agent is an in-process one that writes
// its target. Target: at most 2x.
//
//	go test -run XXX -bench PhaseInBigWorkspace -benchtime 3x ./runner
func BenchmarkPhaseInBigWorkspace(b *testing.B) {
	const phases = 5
	small := specRepo(b, 0)
	big := specRepo(b, 10000)
	perPhase := func(root string, round int) (time.Duration, int) {
		b.StopTimer()
		addSpecs(b, root, round, phases)
		w, err := spec.OpenWorkspace(root)
		if err != nil {
			b.Fatal(err)
		}
		starts := &phaseStarts{}
		b.StartTimer()
		rep, err := Run(context.Background(), Options{Workspace: w, Agent: &fakeAgent{tick: true, write: true}, Out: starts})
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if len(rep.Ran) != phases || len(starts.at) != phases {
			b.Fatalf("ran %d phases (%d started), want %d", len(rep.Ran), len(starts.at), phases)
		}
		// From the start of the second phase to the start of the last:
		// each phase with what the run does between phases (loading the
		// specs again, assessing them). The first phase syncs the
		// worktree once more.
		return starts.at[phases-1].Sub(starts.at[1]), phases - 2
	}
	// The git CLI's own commit of a changed spec file in each, for the
	// floor that a directory of 10,000 files sets (git rewrites its tree
	// and the index too).
	gitCommit := func(root string, i int) time.Duration {
		b.StopTimer()
		defer b.StartTimer()
		p := filepath.Join(".chant", "specs", fmt.Sprintf("r%03d-p00.md", i))
		f, err := os.OpenFile(filepath.Join(root, p), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			b.Fatal(err)
		}
		f.WriteString("\nedited\n")
		f.Close()
		t := time.Now()
		git(b, root, "sh", "-c", "git add "+p+" && git commit -q -m edit")
		return time.Since(t)
	}
	// The scan that verifying a phase needs at the least: git status's
	// stat of every tracked file (chant scans the phase's worktree so).
	gitStatus := func(root string) time.Duration {
		b.StopTimer()
		defer b.StartTimer()
		t := time.Now()
		git(b, root, "git", "status", "--porcelain", "-uno")
		return time.Since(t)
	}
	var smallTime, bigTime, smallGit, bigGit, bigStatus time.Duration
	var smallN, bigN int
	for i := 0; i < b.N; i++ {
		d, n := perPhase(small, i)
		smallTime, smallN = smallTime+d, smallN+n
		d, n = perPhase(big, i)
		bigTime, bigN = bigTime+d, bigN+n
		smallGit += gitCommit(small, i)
		bigGit += gitCommit(big, i)
		bigStatus += gitStatus(big)
	}
	s := float64(smallTime.Microseconds()) / float64(smallN) / 1000
	g := float64(bigTime.Microseconds()) / float64(bigN) / 1000
	b.ReportMetric(s, "ms/phase-5-specs")
	b.ReportMetric(g, "ms/phase-10k-specs")
	b.ReportMetric(g/s, "x-10k/5")
	b.ReportMetric(float64(bigGit)/float64(smallGit), "x-git-commit-10k/5")
	b.ReportMetric(float64(bigStatus.Microseconds())/float64(b.N)/1000, "ms-git-status-10k")
}

// phaseStarts records when each phase starts (its "run" line).
type phaseStarts struct{ at []time.Time }

func (p *phaseStarts) Write(b []byte) (int, error) {
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "run   ") {
			p.at = append(p.at, time.Now())
		}
	}
	return len(b), nil
}

// specRepo makes a repository with a chant workspace of n completed specs.
func specRepo(b *testing.B, n int) string {
	b.Helper()
	root := b.TempDir()
	dir := filepath.Join(root, ".chant", "specs")
	os.MkdirAll(dir, 0o755)
	for i := range n {
		src := fmt.Sprintf("---\ntype: code\nstatus: completed\ntarget_files: [done/%d.txt]\ncommits: [%07x]\ncompleted_at: 2026-01-01T00:00:00Z\n---\n# Done %d\n\nSome prose about what was done.\n\n## Acceptance Criteria\n\n- [x] it was done\n", i, i, i)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("done-%05d.md", i)), []byte(src), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for j := 0; j < 100; j++ {
		os.MkdirAll(filepath.Join(root, fmt.Sprintf("d%03d", j)), 0o755)
		os.WriteFile(filepath.Join(root, fmt.Sprintf("d%03d", j), "keep"), nil, 0o644)
	}
	os.WriteFile(filepath.Join(root, ".chant", "config.md"), []byte("---\nproject: {name: specs}\n---\n"), 0o644)
	git(b, root, "git", "init", "-q", "-b", "main")
	git(b, root, "git", "config", "gc.auto", "0")
	git(b, root, "git", "add", "-A")
	git(b, root, "git", "commit", "-qm", "init")
	return root
}

// BenchmarkParallel measures, side by side in one run:
//
//   - 8 independent specs whose agent sleeps 2 s, sequentially and with
//     Parallel 4: the wall time ratio (target: at most 0.35; the ideal
//     is 0.25);
//
//   - 100 independent specs whose agent does nothing (it writes its
//     target): chant's own cost per phase, with Parallel 8 and 1.
//
//     go test -run XXX -bench Parallel -benchtime 1x ./runner
func BenchmarkParallel(b *testing.B) {
	run := func(n int, pause time.Duration, parallel int) time.Duration {
		b.StopTimer()
		dir := specRepo(b, 0)
		for i := range n {
			src := fmt.Sprintf("---\ntarget_files: [d%03d/out-%d.txt]\n---\n# Spec %d\n\n## Acceptance Criteria\n\n- [ ] written\n", i%100, i, i)
			if err := os.WriteFile(filepath.Join(dir, ".chant", "specs", fmt.Sprintf("s%03d.md", i)), []byte(src), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		git(b, dir, "git", "add", ".chant")
		git(b, dir, "git", "commit", "-qm", "specs")
		w, err := spec.OpenWorkspace(dir)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		rep, err := Run(context.Background(), Options{Workspace: w, Agent: &sideBySideAgent{pause: pause}, Parallel: parallel})
		d := time.Since(start)
		if err != nil || len(rep.Ran) != n {
			b.Fatalf("ran %d of %d: %v", len(rep.Ran), n, err)
		}
		return d
	}
	var seq, par, one, eight time.Duration
	for i := 0; i < b.N; i++ {
		seq += run(8, 2*time.Second, 1)
		par += run(8, 2*time.Second, 4)
		one += run(100, 0, 1)
		eight += run(100, 0, 8)
	}
	b.ReportMetric(seq.Seconds()/float64(b.N), "s-8x2s-sequential")
	b.ReportMetric(par.Seconds()/float64(b.N), "s-8x2s-parallel-4")
	b.ReportMetric(float64(par)/float64(seq), "x-parallel-4/sequential")
	b.ReportMetric(float64(one.Milliseconds())/float64(b.N)/100, "ms/phase-100-sequential")
	b.ReportMetric(float64(eight.Milliseconds())/float64(b.N)/100, "ms/phase-100-parallel-8")
}
