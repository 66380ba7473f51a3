package phase

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/chant-run/chant/internal/agentstream"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/procs"
	"github.com/chant-run/chant/internal/safefs"
)

// A phase's progress is saved in the git directory (where no agent
// working in its worktree writes, and never in git status), so that a run
// killed at any instant is taken over by the next: the agent's processes
// killed, and the phase either run again or, if it had got past its
// verification, verified again and landed. Nothing in it is trusted to say
// the work is good: a resumed phase is always verified again.
const (
	stepRunning  = "running"  // the agent may be running
	stepVerified = "verified" // the work verified; not yet landed
)

type progress struct {
	Spec   string                 `json:"spec"`
	Step   string                 `json:"step"`
	Base   string                 `json:"base"`   // the commit the phase started from
	Branch plumbing.ReferenceName `json:"branch"` // "" when HEAD was detached
	PGID   int                    `json:"pgid,omitempty"`
	Marker string                 `json:"marker,omitempty"`
	Output string                 `json:"output,omitempty"`
	Model  string                 `json:"model,omitempty"`
	Author *gitrepo.Person        `json:"author,omitempty"`
	Usage  agentstream.Usage      `json:"usage,omitzero"`
	// Slot is the worktree the phase works in ("" for "phase", the only
	// one of a sequential run).
	Slot string `json:"slot,omitempty"`
	// Released: the phase gave its worktree back before landing (a
	// parallel run), so another phase may have used it since: the work
	// is no longer there to verify again, and an interrupted phase runs
	// again.
	Released bool `json:"released,omitempty"`
	// Key and Worker: a phase run by an engine's worker (see Engine).
	Key    string `json:"key,omitempty"`
	Worker string `json:"worker,omitempty"`
}

func (p *progress) head() gitrepo.Head {
	return gitrepo.Head{Branch: p.Branch, Commit: plumbing.NewHash(p.Base)}
}

func progressDir(stateDir string) string { return filepath.Join(stateDir, "progress") }

func saveProgress(stateDir string, p *progress) error {
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	dir := progressDir(stateDir)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	return safefs.Root{Dir: dir}.WriteFile(p.Spec+progressExt, data, safefs.Regular, true)
}

// loadProgress returns every saved progress.
func loadProgress(stateDir string) ([]*progress, error) {
	entries, err := os.ReadDir(progressDir(stateDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*progress
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasSuffix(name, progressExt) || strings.HasPrefix(name, ".") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(progressDir(stateDir), name))
		if err != nil {
			return nil, err
		}
		var p progress
		if json.Unmarshal(data, &p) != nil || p.Spec+progressExt != name {
			os.Remove(filepath.Join(progressDir(stateDir), name))
			continue
		}
		out = append(out, &p)
	}
	return out, nil
}

// Unfinished are the specs whose phases a run killed before they ended
// left records of (progress, or the spec as it was before): those Resume
// takes over, which a run of named specs loads too.
func Unfinished(stateDir string) []string {
	entries, _ := os.ReadDir(progressDir(stateDir))
	var ids []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		if id, ok := strings.CutSuffix(name, progressExt); ok {
			ids = append(ids, id)
		} else if id, ok := strings.CutSuffix(name, keptExt); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// keptPath is where a phase keeps its spec file as it was before the
// phase: a second name of the same file (a hard link), made before the
// file is replaced by its in_progress version, so that putting it back is
// a rename, which a full disk allows (see phase.putBack).
func keptPath(stateDir, id string) string {
	return filepath.Join(progressDir(stateDir), id+keptExt)
}

// A phase's progress record is <spec>.json, its kept spec <spec>.before.
const (
	progressExt = ".json"
	keptExt     = ".before"
)

func removeProgress(stateDir, id string) error {
	os.Remove(keptPath(stateDir, id))
	err := os.Remove(filepath.Join(progressDir(stateDir), id+progressExt))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// RunningOn names the worker that runs the spec's phase, for a phase run
// by an engine's worker ("" otherwise, or if not known yet).
func RunningOn(stateDir, id string) string {
	data, err := safefs.ReadRegular(filepath.Join(progressDir(stateDir), id+progressExt), 1<<20)
	if err != nil {
		return ""
	}
	var p progress
	if json.Unmarshal(data, &p) != nil {
		return ""
	}
	return p.Worker
}

// Running reports whether a run is in the middle of a spec's phase: its
// progress is saved and the process that holds the run lock is alive (a
// run that was killed leaves its progress for the next one), for chant
// log --follow. It only reads: taking the lock to test it would make a run
// starting at that moment fail.
func Running(stateDir, id string) bool {
	if _, err := os.Stat(filepath.Join(progressDir(stateDir), id+progressExt)); err != nil {
		return false
	}
	data, err := safefs.ReadRegular(filepath.Join(stateDir, "run.lock"), 1<<10)
	if err != nil {
		return false
	}
	var pid int
	if _, err := fmt.Sscanf(string(data), "pid %d", &pid); err != nil || pid <= 0 {
		return false
	}
	err = syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Abandon kills what the agents of interrupted phases left running and
// forgets the progress of spec id, which a person reset.
func Abandon(stateDir, id string) error {
	progs, err := loadProgress(stateDir)
	if err != nil {
		return err
	}
	for _, p := range progs {
		procs.KillAll(p.PGID, p.Marker)
		if p.Spec == id {
			if err := removeProgress(stateDir, p.Spec); err != nil {
				return err
			}
		}
	}
	return nil
}
