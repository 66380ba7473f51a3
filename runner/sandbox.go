package runner

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/isolation"
	"github.com/chant-run/chant/internal/sandbox"
	"github.com/chant-run/chant/spec"
)

// SandboxPolicy is the sandbox a workspace's phases run in: the config's
// sandbox, with the paths where the agent's CLI keeps its state (its
// preset's). nil means sandbox: off. When the config asks for a sandbox
// and the kernel or the machine cannot give one, the error
// (sandbox.ErrUnavailable) says why and how to get one: no phase runs
// unconfined unless the config says so.
func SandboxPolicy(w *spec.Workspace) (*sandbox.Policy, error) {
	p, err := sandboxConfig(w)
	if err != nil || p == nil {
		return nil, err
	}
	if err := sandbox.Probe(); err != nil {
		return nil, fmt.Errorf("%w; or set sandbox: off in %s to run agents with your permissions", err, w.Config.Path)
	}
	return p, nil
}

// sandboxConfig is SandboxPolicy without asking the kernel.
func sandboxConfig(w *spec.Workspace) (*sandbox.Policy, error) {
	cfg := w.Config.Sandbox
	if cfg.Off {
		return nil, nil
	}
	p, err := cfg.Policy(os.Getenv)
	if err != nil {
		return nil, &spec.Error{Path: w.Config.Path, Line: w.Config.KeyLine("sandbox"), Msg: err.Error()}
	}
	if preset, ok := PresetNamed(w.Config.Defaults.Provider); ok {
		dirs, files, err := preset.State(os.Getenv)
		if err != nil {
			return nil, err
		}
		p.Writable = append(dirs, p.Writable...)
		p.Files = append(files, p.Files...)
	}
	return &p, nil
}

// DescribeSandbox says what a workspace's phases run in, for doctor:
// bubblewrap and what the config allows, or why there is none. ok is
// false when the config asks for a sandbox that cannot be had.
func DescribeSandbox(w *spec.Workspace) (text string, ok bool) {
	p, err := SandboxPolicy(w)
	switch {
	case err != nil:
		return err.Error(), false
	case p == nil:
		return SandboxOff(w), true
	}
	return sandbox.Version() + ": " + p.Describe() + "; " + sandbox.Landlock(), true
}

// SandboxOff says that the workspace's phases run with the user's
// permissions, or "" when they run in a sandbox.
func SandboxOff(w *spec.Workspace) string {
	if !w.Config.Sandbox.Off {
		return ""
	}
	return fmt.Sprintf("off (sandbox: off in %s): agents, setup and checks run with your permissions", w.Config.Path)
}

// newCage is the cage of the processes of a phase working in tree of
// repo, or nil without a sandbox. Its helper is this program itself: a
// program that runs phases is chant, or hands sandbox.HelperCommand to
// sandbox.HelperMain first thing, as chant's tests do.
func newCage(policy *sandbox.Policy, repo *gitrepo.Repo, tree *isolation.Tree) *sandbox.Cage {
	if policy == nil {
		return nil
	}
	c := &sandbox.Cage{
		Policy: *policy,
		Dir:    tree.Dir,
		Tmp:    tree.Dir + ".tmp",
		State:  tree.Dir + ".sandbox",
		// The user's checkout and its git directory, read-only even
		// inside a writable path; the worktree borrows their objects.
		Protected: []string{repo.Root, repo.CommonDir},
	}
	c.Visible = append(c.Visible, c.Protected...)
	for _, k := range []string{"HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "GOPATH", "GOMODCACHE", "GOCACHE", "GOROOT"} {
		if v := os.Getenv(k); filepath.IsAbs(v) {
			c.Visible = append(c.Visible, filepath.Clean(v))
		}
	}
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if filepath.IsAbs(d) {
			c.Visible = append(c.Visible, filepath.Clean(d))
		}
	}
	if exe, err := os.Executable(); err == nil {
		c.Visible = append(c.Visible, exe)
		c.Helper = []string{exe, sandbox.HelperCommand}
	}
	return c
}

// caged returns the command line that runs argv in cage, started in dir,
// and a function to call when it has ended; with no cage, argv as is. Run
// it with cage.Within.
func caged(cage *sandbox.Cage, dir string, argv []string, log io.Writer) ([]string, func(), error) {
	if cage == nil {
		return argv, func() {}, nil
	}
	if err := cage.Prepare(); err != nil {
		return nil, nil, err
	}
	if strings.Contains(argv[0], "/") {
		// A program named by its path (PATH's directories are visible).
		c := *cage
		c.Visible = append(slices.Clone(cage.Visible), filepath.Dir(argv[0]))
		cage = &c
	}
	stop, err := cage.Relay(log)
	if err != nil {
		return nil, nil, err
	}
	args, err := cage.Args(dir, argv)
	if err != nil {
		stop()
		return nil, nil, err
	}
	return args, stop, nil
}

// survivorMark is the marker to find what a command of a phase left
// running by (procs.KillAll): none in a cage, whose PID namespace the
// kernel empties as the command ends, so that a scan of /proc would find
// nothing there, at a millisecond each.
func survivorMark(cage *sandbox.Cage, marker string) string {
	if cage != nil {
		return ""
	}
	return marker
}

// sandboxLine says how a phase's processes ran, for its record and log.
func sandboxLine(policy *sandbox.Policy) string {
	if policy == nil {
		return "Sandbox: off (sandbox: off in the config): the agent, setup and checks ran with your permissions."
	}
	return "Sandbox: " + policy.Describe() + "."
}

// recordSandbox adds to a phase's record that it ran without a sandbox.
func recordSandbox(policy *sandbox.Policy, text string) string {
	if policy != nil {
		return text
	}
	return text + "\n\n" + sandboxLine(nil)
}
