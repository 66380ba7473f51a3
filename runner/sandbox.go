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
// sandbox, with the writable paths of the agent's CLI. nil means sandbox:
// off. When the config asks for a sandbox and the kernel or the machine
// cannot give one, the error (sandbox.ErrUnavailable) says why and how to
// get one: no phase runs unconfined unless the config says so.
func SandboxPolicy(w *spec.Workspace, agent Agent) (*sandbox.Policy, error) {
	cfg := w.Config.Sandbox
	if cfg.Off {
		return nil, nil
	}
	p, err := cfg.Policy(os.Getenv)
	if err != nil {
		return nil, &spec.Error{Path: w.Config.Path, Line: w.Config.KeyLine("sandbox"), Msg: err.Error()}
	}
	if c, ok := agent.(*Command); ok {
		p.Writable = append(append([]string{}, c.Writable...), p.Writable...)
		p.Files = append(p.Files, c.WritableFiles...)
	}
	if err := sandbox.Probe(); err != nil {
		return nil, fmt.Errorf("%w; or set sandbox: off in %s to run agents with your permissions", err, w.Config.Path)
	}
	return &p, nil
}

// newCage is the cage of the processes of a phase working in tree of
// repo, or nil without a sandbox.
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
		c.Helper = []string{exe, sandbox.RelayCommand}
	}
	return c
}

// caged returns the command line that runs argv in cage, started in dir,
// and a function to call when it has ended; with no cage, argv as is.
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

// sandboxLine says how a phase's processes ran, for its record and log.
func sandboxLine(policy *sandbox.Policy) string {
	if policy == nil {
		return "Sandbox: off (sandbox: off in the config): the agent, setup and checks ran with your permissions."
	}
	return "Sandbox: " + policy.Describe() + "."
}
