package agent

import (
	"fmt"
	"os"

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
