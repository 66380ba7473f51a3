package runner

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/chant-run/chant/internal/fault"
	"github.com/chant-run/chant/spec"
)

// errFixtureMake classes a fixture.make command that failed or made no
// workspace: the config's to fix.
var errFixtureMake = fault.New(fault.Input, "fixture.make")

// fixtureWorkDir is the directory in .chant where fixtures are made.
const fixtureWorkDir = "work"

// FixtureDir is where w's fixture is made ("" when w names none).
func FixtureDir(w *spec.Workspace) string {
	if w.Config.Fixture.Name == "" {
		return ""
	}
	return filepath.Join(w.ChantDir, fixtureWorkDir, w.Config.Fixture.Name)
}

// FixtureTarget returns the workspace whose specs run and the directory of
// the git repository they run against. For a plain workspace both are w
// itself. For a workspace that names a fixture it is the fixture once made
// (exists reports whether it is); until then w, with the directory the
// fixture will have.
func FixtureTarget(w *spec.Workspace) (target *spec.Workspace, repoDir string, exists bool, err error) {
	dir := FixtureDir(w)
	if dir == "" {
		return w, w.Root, true, nil
	}
	if err := w.Config.FixtureError(); err != nil {
		return nil, dir, false, err
	}
	if _, err := os.Stat(filepath.Join(dir, ".chant", spec.ConfigFile)); err != nil {
		return w, dir, false, nil
	}
	t, err := spec.OpenWorkspace(dir)
	if err != nil {
		return nil, dir, true, err
	}
	return t, dir, true, nil
}

// MakeFixture returns the workspace to write to: w, or the fixture w names
// (see spec.Fixture), made now by its make command if it does not exist
// yet (created is then true). The command fills a new directory beside the
// fixture's, which is renamed into place once it holds a workspace: a
// command cut off leaves no fixture, and the next one starts over. What
// the command prints goes to out.
func MakeFixture(ctx context.Context, w *spec.Workspace, out io.Writer) (target *spec.Workspace, created bool, err error) {
	t, dir, exists, err := FixtureTarget(w)
	if err != nil || exists {
		return t, false, err
	}
	parent, name := filepath.Dir(dir), filepath.Base(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, false, err
	}
	// What earlier makes cut off left.
	stale, _ := filepath.Glob(filepath.Join(parent, "."+name+".making-*"))
	for _, p := range append(stale, dir) {
		if err := os.RemoveAll(p); err != nil {
			return nil, false, err
		}
	}
	tmp, err := os.MkdirTemp(parent, "."+name+".making-")
	if err != nil {
		return nil, false, err
	}
	defer os.RemoveAll(tmp) // gone once renamed
	command := w.Config.Fixture.Make
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Dir, cmd.Stdout, cmd.Stderr = w.Root, out, out
	cmd.Env = append(os.Environ(), spec.FixtureDirEnv+"="+tmp)
	// The command's own children (go run's program) end with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Run(); err != nil {
		return nil, false, fmt.Errorf("%s: %w %q: %w", w.Config.Path, errFixtureMake, command, err)
	}
	if _, err := spec.OpenWorkspace(tmp); err != nil {
		return nil, false, fmt.Errorf("%s: %w %q made no workspace in $%s: %w", w.Config.Path, errFixtureMake, command, spec.FixtureDirEnv, err)
	}
	if _, err := os.Stat(filepath.Join(tmp, ".git")); err != nil {
		return nil, false, fmt.Errorf("%s: %w %q made no git repository in $%s", w.Config.Path, errFixtureMake, command, spec.FixtureDirEnv)
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another command made it meanwhile: that one stands.
		if t, _, exists, terr := FixtureTarget(w); terr == nil && exists {
			return t, false, nil
		}
		return nil, false, err
	}
	if d, err := os.Open(parent); err == nil {
		d.Sync()
		d.Close()
	}
	t, err = spec.OpenWorkspace(dir)
	if err != nil {
		return nil, false, err
	}
	return t, true, nil
}
