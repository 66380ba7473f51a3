package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// row is one line of the table: what is measured against what, and the
// target its ratio must meet.
type row struct {
	name   string
	target float64 // the ratio's largest allowed value, min and median (0: none)
	byCPU  bool    // the ratio that counts is of CPU time (else of wall time)
	maxMB  float64 // the peak memory allowed, if any
	setup  func(b *bench) (pair, error)
}

// rows are the measures of issue 23's table, in its order.
var rows = []row{
	{name: "version", target: 2, setup: func(b *bench) (pair, error) {
		ws, err := b.workspace("small", 5, 0)
		return pair{b.chantStep("`chant --version`", ws, "--version"), gitStep("`git status`", ws, "status")}, err
	}},
	{name: "status", target: 2, setup: func(b *bench) (pair, error) {
		ws, err := b.workspace("small", 5, 0)
		return pair{b.chantStep("`chant status`, 5 specs", ws, "status"), gitStep("`git status`", ws, "status")}, err
	}},
	{name: "run-many-specs", target: 2, setup: func(b *bench) (pair, error) {
		small, err := b.workspace("small", 5, 0)
		if err != nil {
			return pair{}, err
		}
		many, err := b.workspace("many", sizes.many, 0)
		return pair{b.runStep(fmt.Sprintf("`chant run ID`, one phase, %d specs", sizes.many), many, false),
			b.runStep("the same, 5 specs", small, false)}, err
	}},
	{name: "run-many-files", target: 1.5, setup: func(b *bench) (pair, error) {
		ws, err := b.workspace("files", 5, sizes.files)
		if err != nil {
			return pair{}, err
		}
		f := filepath.Join(ws, "src", "d000", "f00000.txt")
		commit := step{name: "`git add F && git commit`", dir: ws,
			prep: func() error {
				if err := reset(ws); err != nil {
					return err
				}
				return os.WriteFile(f, []byte("changed\n"), 0o644)
			},
			cmds: [][]string{{"git", "add", f}, {"git", "commit", "-qm", "a change"}}}
		return pair{b.runStep(fmt.Sprintf("`chant run ID`, one phase, %d tracked files", sizes.files), ws, false), commit}, nil
	}},
	{name: "checkout-first", target: 1.5, setup: func(b *bench) (pair, error) {
		ws, err := b.workspace("files", 5, sizes.files)
		if err != nil {
			return pair{}, err
		}
		wt := filepath.Join(b.work, "git-worktree")
		add := step{name: "`git worktree add` of the same commit", dir: ws,
			prep: func() error {
				os.RemoveAll(wt)
				return exec.Command("git", "-C", ws, "worktree", "prune").Run()
			},
			cmds: [][]string{{"git", "worktree", "add", "-q", "--detach", wt, "HEAD"}}}
		return pair{b.runStep(fmt.Sprintf("the first phase in a fresh clone of %d files (its worktree's checkout)", sizes.files), ws, true), add}, nil
	}},
	{name: "status-first", target: 11, byCPU: true, maxMB: 300, setup: func(b *bench) (pair, error) {
		most, err := b.workspace("most", sizes.most, 0)
		if err != nil {
			return pair{}, err
		}
		many, err := b.workspace("many", sizes.many, 0)
		first := func(name, ws string) step {
			s := b.chantStep(name, ws, "status")
			s.prep = func() error { return os.RemoveAll(filepath.Join(ws, ".git", "chant", "cache")) }
			return s
		}
		return pair{first(fmt.Sprintf("the first `chant status`, %d specs", sizes.most), most), first(fmt.Sprintf("the same, %d specs", sizes.many), many)}, err
	}},
	{name: "status-stale", target: 1.2, setup: func(b *bench) (pair, error) {
		recorded, err := b.doneWorkspace("done", sizes.many, true)
		if err != nil {
			return pair{}, err
		}
		plain, err := b.doneWorkspace("done-plain", sizes.many, false)
		return pair{b.chantStep(fmt.Sprintf("`chant status`, %d completed specs, staleness computed", sizes.many), recorded, "status"),
			b.chantStep("the same specs without the records staleness needs", plain, "status")}, err
	}},
	demoRow,
}

// demoArgs are given to the demo: none (the whole pipeline) but in the
// test that every row runs, which needs only the row's machinery (the
// pipeline has end-to-end tests of its own).
var demoArgs []string

// demoRow is what a new user meets first: the README's first command in a
// fresh clone of this repository (its last commit), with Go's build cache
// as this machine has it (warm: the rounds before have filled it), against
// starting chant there with go run. It has no ratio to meet: the README
// states what it measures.
var demoRow = row{name: "demo", setup: func(b *bench) (pair, error) {
	fresh := func(name string, cmd ...string) step {
		dir := filepath.Join(b.work, "clone")
		return step{name: name, dir: dir, env: b.env(),
			prep: func() error {
				if err := os.RemoveAll(dir); err != nil {
					return err
				}
				out, err := exec.Command("git", "clone", "-q", b.root, dir).CombinedOutput()
				if err != nil {
					return fmt.Errorf("git clone: %v: %s", err, out)
				}
				return nil
			},
			cmds: [][]string{cmd}}
	}
	return pair{fresh("the bundled demo (`bash scripts/demo`) in a fresh clone, Go's build cache warm", append([]string{"bash", "scripts/demo"}, demoArgs...)...),
		fresh("`go run ./cmd/chant --version` in a fresh clone", "go", "run", "./cmd/chant", "--version")}, nil
}}

func rowNames() []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.name)
	}
	return out
}

// env is what chant runs with here: its phase worktrees in the work
// directory, a git identity.
func (b *bench) env() []string {
	return []string{"CHANT_WORKTREE_DIR=" + filepath.Join(b.work, "worktrees"),
		"GIT_AUTHOR_NAME=Bench", "GIT_AUTHOR_EMAIL=bench@example.com", "GIT_COMMITTER_NAME=Bench", "GIT_COMMITTER_EMAIL=bench@example.com"}
}

func (b *bench) chantStep(name, dir string, args ...string) step {
	return step{name: name, dir: dir, env: b.env(), cmds: [][]string{append([]string{b.chant}, args...)}}
}

func gitStep(name, dir string, args ...string) step {
	return step{name: name, dir: dir, cmds: [][]string{append([]string{"git"}, args...)}}
}

// runStep runs the phase of the workspace's first spec, from the workspace
// as generated; fresh: without the phase worktree chant keeps (the first
// phase after a clone).
func (b *bench) runStep(name, ws string, fresh bool) step {
	s := b.chantStep(name, ws, "run", "--quiet", specID(0))
	s.prep = func() error {
		if fresh {
			if err := os.RemoveAll(filepath.Join(b.work, "worktrees")); err != nil {
				return err
			}
		}
		return reset(ws)
	}
	return s
}

// reset puts a workspace back as generated.
func reset(ws string) error {
	out, err := exec.Command("git", "-C", ws, "reset", "-q", "--hard", "generated").CombinedOutput()
	if err != nil {
		return fmt.Errorf("git reset: %v: %s", err, out)
	}
	return nil
}

func specID(i int) string { return fmt.Sprintf("s%06d", i) }

// workspace makes (once) a repository with a chant workspace of n specs
// and files other tracked files, committed and tagged "generated". Its
// agent writes the spec's target and ticks its box; phases run in the
// sandbox where bubblewrap is installed, as by default.
func (b *bench) workspace(name string, n, files int) (string, error) {
	dir := filepath.Join(b.work, name)
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	sandbox := "on"
	if _, err := exec.LookPath("bwrap"); err != nil {
		sandbox = "off"
	}
	write := func(rel, content string) error {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, []byte(content), 0o644)
	}
	if err := write(".chant/config.md", "---\nproject: {name: bench}\ndefaults: {provider: command}\nagent:\n  command: sh agent.sh\nsandbox: "+sandbox+"\n---\n"); err != nil {
		return "", err
	}
	agent := "t=$(sed -n 's/^target_files: \\[\\(.*\\)\\]$/\\1/p' \"$CHANT_SPEC_FILE\")\nmkdir -p \"$(dirname \"$t\")\"\necho \"$CHANT_SPEC_ID\" > \"$t\"\nsed -i 's/- \\[ \\]/- [x]/' \"$CHANT_SPEC_FILE\"\n"
	if err := write("agent.sh", agent); err != nil {
		return "", err
	}
	for i := 0; i < n; i++ {
		id := specID(i)
		if err := write(".chant/specs/"+id+".md", fmt.Sprintf("---\ntarget_files: [out/%s.txt]\n---\n# Make out/%s.txt\n\nSome prose about the change, as specs have.\n\n## Acceptance Criteria\n\n- [ ] out/%s.txt names it\n", id, id, id)); err != nil {
			return "", err
		}
	}
	for i := 0; i < files; i++ {
		if err := write(fmt.Sprintf("src/d%03d/f%05d.txt", i%1000, i), fmt.Sprintf("file %d\n", i)); err != nil {
			return "", err
		}
	}
	for _, argv := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"-c", "user.name=Bench", "-c", "user.email=bench@example.com", "-c", "gc.auto=0", "commit", "-qm", "generated"}, {"tag", "generated"},
		// Packed now, as a repository of that size is, rather than by a
		// git gc --auto in the background while the rounds are timed.
		{"gc", "-q"}} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, argv...)...).CombinedOutput(); err != nil {
			return "", fmt.Errorf("git %s: %v: %s", strings.Join(argv, " "), err, out)
		}
	}
	return dir, nil
}
