package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chant-run/chant/internal/clihelp"
	"github.com/chant-run/chant/internal/textsafe"
	"github.com/chant-run/chant/internal/version"
	"github.com/chant-run/chant/runner"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/store"
)

// globals are the options every command shares.
type globals struct {
	dir    string // -C
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// rawStdout and rawStderr are unfiltered, for chant log --raw and the
	// user's editor.
	rawStdout, rawStderr io.Writer
}

// commands are chant's commands by name, each made only when needed.
var commands = map[string]func(*globals) *cobra.Command{
	"init": newInitCmd, "add": newAddCmd, "doctor": newDoctorCmd, "log": newLogCmd, "diff": newDiffCmd,
	"review": newReviewCmd, "mcp": newMCPCmd, "run": newRunCmd, "status": newStatusCmd, "show": newShowCmd,
	"approve": newApproveCmd, "reject": newRejectCmd, "accept": newAcceptCmd, "drift": newDriftCmd,
	"lint": newLintCmd, "dag": newDagCmd, "reset": newResetCmd, "cancel": newCancelCmd, "archive": newArchiveCmd,
	"edit": newEditCmd, "worktrees": newWorktreesCmd, "verify": newVerifyCmd, "worker": newWorkerCmd,
}

// newRootCmd is chant's command line with every command.
func newRootCmd(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	return newRootCmdFor(nil, stdin, stdout, stderr)
}

// newRootCmdFor is chant's command line for args: with the command they
// name alone, if they name one (see clihelp.AddNamed). Whatever a command
// prints may hold an agent's text, a file name, a spec's title: its
// output is filtered so that no control sequence but chant's own
// (textsafe.Own) reaches the terminal.
func newRootCmdFor(args []string, stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdin: stdin, stdout: textsafe.NewWriter(stdout), stderr: textsafe.NewWriter(stderr), rawStdout: stdout, rawStderr: stderr}
	stdout, stderr = g.stdout, g.stderr
	root := clihelp.ReadOnly(&cobra.Command{
		Use:           "chant",
		Short:         "Run spec pipelines against a git repository",
		SilenceUsage:  true,
		SilenceErrors: true,
	}) // --version, help
	// Without Args, cobra reports an unknown command as a plain error; with
	// them it is a usage error like any other.
	root.Args = func(c *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usage(fmt.Errorf("unknown command %q%s (see 'chant --help')", args[0], chantsName(args[0])))
		}
		return nil
	}
	root.RunE = func(c *cobra.Command, args []string) error { return c.Help() }
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVarP(&g.dir, "dir", "C", "", "run as if chant was started in `DIR`")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		hint := ""
		if flag, ok := strings.CutPrefix(err.Error(), "unknown flag: "); ok {
			hint = chantsName(flag)
		}
		return usage(fmt.Errorf("%w%s (see '%s --help')", err, hint, c.CommandPath()))
	})
	// The version is read from the build only when asked for.
	root.Version = "chant"
	cobra.AddTemplateFunc("chantVersion", version.Chant)
	root.SetVersionTemplate("chant {{chantVersion}}\n")
	if clihelp.AddNamed(root, args, g, commands) {
		clihelp.StrictCompletion(root, usage)
	}
	return root
}

// rustNames are the command and flag names of Chant (the Rust tool whose
// format chant reads) that chant spells otherwise.
var rustNames = map[string]string{"work": "run", "list": "status", "--needs-approval": "--gate"}

// chantsName is ": chant's is X" for a name of Chant's that chant spells X,
// else "".
func chantsName(name string) string {
	if ours, ok := rustNames[name]; ok {
		return fmt.Sprintf(": chant's is %q", ours)
	}
	return ""
}

// workspace finds the workspace from -C or the current directory.
func (g *globals) workspace() (*spec.Workspace, error) {
	dir := g.dir
	if dir == "" {
		dir = "."
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, usage(fmt.Errorf("-C %s: not a directory", dir))
	}
	w, err := spec.FindWorkspace(dir)
	if errors.Is(err, spec.ErrNoWorkspace) {
		return nil, fmt.Errorf("%w; set chant up here with: chant init", err)
	}
	return w, err
}

// where is a path as the user, where they stand, would type it: relative to
// the current directory when that is shorter.
func (g *globals) where(abs string) string {
	if cwd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(cwd, abs); err == nil && len(rel) < len(abs) {
			return rel
		}
	}
	return abs
}

// target is the workspace whose specs run: the workspace itself, or the
// fixture it names once made (see runner.FixtureTarget).
func (g *globals) target() (*spec.Workspace, error) {
	w, err := g.workspace()
	if err != nil {
		return nil, err
	}
	t, _, _, err := runner.FixtureTarget(w)
	return t, err
}

// listed finds the spec a read-only command is about (a partial ID
// works): the workspace to read (target's), its specs as listed, the spec.
func (g *globals) listed(id string) (*spec.Workspace, *spec.Set, *spec.Spec, error) {
	w, err := g.target()
	if err != nil {
		return nil, nil, nil, err
	}
	set, err := store.List(w)
	if err != nil {
		return nil, nil, nil, err
	}
	s, err := set.Resolve(id)
	return w, set, s, err
}

// prepare returns the workspace to write to: w, or the fixture it names,
// made now if it does not exist yet (and said so: its make command may take
// a while, and what it prints follows).
func (g *globals) prepare(ctx context.Context, w *spec.Workspace) (*spec.Workspace, error) {
	if _, _, exists, err := runner.FixtureTarget(w); err == nil && !exists {
		fmt.Fprintf(g.stderr, "Making the %s fixture repository: %s\n", w.Config.Fixture.Name, w.Config.Fixture.Make)
	}
	target, created, err := runner.MakeFixture(ctx, w, g.stderr)
	if err != nil {
		return nil, err
	}
	if created {
		fmt.Fprintf(g.stdout, "Made the %s fixture repository: %s\n", w.Config.Fixture.Name, target.Root)
	}
	return target, nil
}

// invocation is how the user can run chant again: "chant", or "go run
// ./cmd/chant" when this binary was built by go run; with -C if given.
func (g *globals) invocation() string {
	cmd := "chant"
	if exe, err := os.Executable(); err == nil && strings.Contains(filepath.ToSlash(exe), "/go-build") {
		cmd = "go run ./cmd/chant"
	}
	if g.dir != "" {
		cmd += " -C " + textsafe.ShellQuote(g.dir)
	}
	return cmd
}

// exactArgs is cobra.ExactArgs with a usage error.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return usage(fmt.Errorf("%s: expected %s (see 'chant %s --help')", c.Name(), what, c.Name()))
		}
		return nil
	}
}
