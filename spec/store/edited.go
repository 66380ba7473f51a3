package store

import (
	"errors"
	"fmt"
	"os"

	"github.com/chant-run/chant/internal/safefs"
	"github.com/chant-run/chant/spec"
)

// ErrChangedMeanwhile means a spec file changed while someone edited a
// copy of it.
var ErrChangedMeanwhile = errors.New("changed")

// SaveEdited writes the edited text of s (after), under the workspace's
// lock, if its file still holds what the editor was given (before).
func SaveEdited(w *spec.Workspace, s *spec.Spec, before, after []byte) error {
	unlock, err := w.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	cur, err := os.ReadFile(s.Path)
	if err != nil {
		return err
	}
	if string(cur) != string(before) {
		return fmt.Errorf("%s %w while you edited it", w.Rel(s.Path), ErrChangedMeanwhile)
	}
	return safefs.WriteFileAtomic(s.Path, after)
}
