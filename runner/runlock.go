package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/chant-run/chant/spec"
)

// holdRun takes the workspace's run lock without waiting, so that one run
// (or reset) works on a workspace at a time, and writes who holds it into
// the lock file. When another process holds it, the error wraps
// ErrRunInProgress and names that process. The lock file lives in the git
// directory and is never deleted.
func holdRun(w *spec.Workspace, now time.Time) (release func(), err error) {
	lock, err := spec.OpenLock(w.StateDir(), "run.lock")
	if err != nil {
		return nil, err
	}
	path := lock.Path()
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
	if err := writeNoFollow(path, []byte(record)); err != nil {
		lock.Unlock()
		return nil, err
	}
	return func() {
		writeNoFollow(path, nil)
		lock.Unlock()
	}, nil
}

func writeNoFollow(path string, data []byte) error {
	f, err := os.OpenFile(filepath.Clean(path), os.O_WRONLY|os.O_TRUNC|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
