package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"github.com/chant-run/chant/spec"
)

// holdRun takes the workspace's run lock without waiting, so that one run
// (or reset) works on a workspace at a time, and writes who holds it into
// the lock file. When another process holds it, the error wraps
// ErrRunInProgress and names that process. The lock file is never deleted.
func holdRun(w *spec.Workspace, now time.Time) (release func(), err error) {
	path := filepath.Join(w.ChantDir, spec.RunLockFile)
	lock := flock.New(path)
	locked, err := lock.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !locked {
		holder := "another process"
		if data, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(data))) > 0 {
			holder = strings.TrimSpace(string(data))
		}
		return nil, fmt.Errorf("%w in %s (%s)", ErrRunInProgress, w.Root, holder)
	}
	record := fmt.Sprintf("pid %d since %s\n", os.Getpid(), now.UTC().Format(time.RFC3339))
	if err := os.WriteFile(path, []byte(record), 0o644); err != nil {
		lock.Unlock()
		return nil, err
	}
	return func() {
		os.Truncate(path, 0)
		lock.Unlock()
	}, nil
}
