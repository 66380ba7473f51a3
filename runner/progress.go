package runner

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"

	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/spec"
)

// A phase's steps after its agent, saved so that a run killed at any
// instant resumes from the exact step.
const (
	stepVerified  = "verified"  // the work verified; not yet committed
	stepCommitted = "committed" // the work committed; the spec not yet recorded
)

// progress is what a phase needs to finish without its agent.
type progress struct {
	Step         string          `json:"step"`
	Base         string          `json:"base"` // HEAD before the agent
	Output       string          `json:"output"`
	Model        string          `json:"model,omitempty"`
	Author       *gitrepo.Person `json:"author,omitempty"`
	Summary      string          `json:"summary"`
	Verification string          `json:"verification_status"`
	Changed      []string        `json:"changed"`
	Commits      []string        `json:"commits,omitempty"`
}

func progressPath(w *spec.Workspace, id string) string {
	return filepath.Join(w.ChantDir, spec.LogsDir, id+".progress.json")
}

func saveProgress(w *spec.Workspace, id string, p *progress) error {
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(progressPath(w, id)), 0o755); err != nil {
		return err
	}
	return spec.WriteFileAtomic(progressPath(w, id), data)
}

// loadProgress returns the saved progress of a phase, or nil.
func loadProgress(w *spec.Workspace, id string) (*progress, error) {
	data, err := os.ReadFile(progressPath(w, id))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var p progress
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, nil // a torn write cannot happen (atomic), but never trust it
	}
	return &p, nil
}

func removeProgress(w *spec.Workspace, id string) error {
	err := os.Remove(progressPath(w, id))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
