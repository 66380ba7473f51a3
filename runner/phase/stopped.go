package phase

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/safefs"
	"github.com/chant-run/chant/internal/sandbox"
	"github.com/chant-run/chant/internal/textsafe"
	"github.com/chant-run/chant/spec"
)

// A stopped phase puts its spec back as it was before the run (the working
// tree as clean as before), to run with the next. That it was stopped, and
// why, is kept beside chant's other state, for as long as the spec file is
// as the phase left it: status says "interrupted" until then, and the next
// run runs it as any ready spec.

func stoppedPath(stateDir, id string) string { return filepath.Join(stateDir, "stopped", id) }

// saveStopped keeps why the phase of a spec was stopped, against the spec
// file's content as put back. Failing to keep it costs only the word.
func saveStopped(stateDir, id string, specFile []byte, cause error) {
	why := stoppedWhy(cause)
	if r := []rune(why); len(r) > 200 {
		why = string(r[:200]) + "…"
	}
	dir := filepath.Dir(stoppedPath(stateDir, id))
	if os.MkdirAll(dir, 0o777) == nil {
		safefs.Root{Dir: dir}.WriteFile(id, []byte(gitrepo.BlobHash(specFile).String()+"\n"+why+"\n"), safefs.Regular, false)
	}
}

// stoppedWhy says in a few words why a phase was stopped: "interrupted
// (Ctrl-C)", "interrupted: the Temporal server at ADDR did not answer for
// 2m".
func stoppedWhy(cause error) string {
	var edited *editedError
	switch {
	case errors.As(cause, &edited):
		return "interrupted: its spec was edited while it ran"
	case errors.Is(cause, ErrEngineUnreachable):
		why := strings.TrimPrefix(cause.Error(), ErrEngineUnreachable.Error()+": ")
		why, _, _ = strings.Cut(why, " (")
		return "interrupted: " + textsafe.Line(why)
	case errors.Is(cause, sandbox.ErrUnavailable):
		return "interrupted: no sandbox could be made"
	}
	msg := textsafe.Line(cause.Error())
	if rest, ok := strings.CutPrefix(msg, ErrStopped.Error()+": "); ok {
		return "interrupted: " + rest // "x failed (--fail-fast)"
	}
	why, _, _ := strings.Cut(msg, ": ") // a signal's: "interrupted (Ctrl-C)"
	return why
}

// Stopped reads which phases were stopped (one listing of chant's state,
// whatever the number of specs) and returns what says why the last phase
// of a spec was stopped, while its spec file is as that phase put it
// back; "" if it was not, or the file changed since.
func Stopped(stateDir string) func(*spec.Spec) string {
	entries, err := os.ReadDir(filepath.Dir(stoppedPath(stateDir, "x")))
	if err != nil || len(entries) == 0 {
		return func(*spec.Spec) string { return "" }
	}
	marked := map[string]bool{}
	for _, e := range entries {
		marked[e.Name()] = true
	}
	return func(s *spec.Spec) string {
		if !marked[s.ID] {
			return ""
		}
		data, err := safefs.ReadRegular(stoppedPath(stateDir, s.ID), 4096)
		if err != nil {
			return ""
		}
		hash, why, ok := strings.Cut(strings.TrimSuffix(string(data), "\n"), "\n")
		if !ok || hash != gitrepo.BlobHash(s.Bytes()).String() {
			return ""
		}
		return why
	}
}

// dropStopped forgets that a spec's phase was stopped: it runs again.
func dropStopped(stateDir, id string) { os.Remove(stoppedPath(stateDir, id)) }
