package agent

import (
	"cmp"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/chant-run/chant/spec"
)

// Doctor says, a row at a time, which agent phases run and whether its
// program is there; ask, it asks the agent a question, waiting no longer
// than askTimeout (nor a phase's timeout).
func Doctor(ctx context.Context, w *spec.Workspace, row func(k, v string), ask bool, askTimeout time.Duration) (ok bool) {
	ok = true
	cfg, provider := w.Config, w.Config.Defaults.Provider
	switch p, preset := PresetNamed(provider); {
	case provider == "" || provider == "replay":
		row("Agent", "replay (recorded work; "+recordingsWhere(w)+")")
	case preset:
		row("Agent", fmt.Sprintf("%s (defaults.provider: %s)", p.Title, p.Name))
		row("Command", (&Command{Argv: p.Argv(cfg.Agent.Model)}).Line())
		if path, err := p.Find(); err != nil {
			row("Program", err.Error())
			ok = false
		} else {
			row("Program", path+", "+ProgramVersion(ctx, path))
		}
	default:
		row("Agent", fmt.Sprintf("defaults.provider: %s", provider))
		row("Command", cfg.Agent.Command)
		if f := strings.Fields(cfg.Agent.Command); len(f) > 0 {
			if path, err := exec.LookPath(f[0]); err == nil {
				row("Program", path)
			} else {
				row("Program", f[0]+" not found")
				ok = false
			}
		}
	}
	row("Model", cmp.Or(ModelName(w), "the agent's default"))
	if ask {
		timeout := askTimeout
		if t, err := Timeout(w.Config); err == nil {
			timeout = min(timeout, t) // no longer than a phase's agent may take
		}
		said, err := Ask(ctx, w, timeout)
		if ok = ok && err == nil; err != nil {
			said = err.Error()
		}
		row("Asked", said)
	}
	return ok
}

func recordingsWhere(w *spec.Workspace) string {
	return "recordings in " + w.Rel(RecordingsDir(w))
}
