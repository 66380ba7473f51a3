package phase

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestRunningNeedsALiveRun(t *testing.T) {
	state := t.TempDir()
	lock := filepath.Join(state, "run.lock")
	if Running(state, "s") {
		t.Fatal("running without progress")
	}
	os.MkdirAll(progressDir(state), 0o755)
	os.WriteFile(filepath.Join(progressDir(state), "s.json"), []byte("{}"), 0o644)
	os.WriteFile(lock, []byte(fmt.Sprintf("pid %d since 2026-01-01T00:00:00Z\n", os.Getpid())), 0o644)
	if !Running(state, "s") {
		t.Error("not running with progress and a live holder")
	}
	// A run killed mid-phase: its progress stays, its process is gone.
	dead := exec.Command("true")
	dead.Run()
	os.WriteFile(lock, []byte(fmt.Sprintf("pid %d since 2026-01-01T00:00:00Z\n", dead.Process.Pid)), 0o644)
	if Running(state, "s") {
		t.Error("running after its process died")
	}
	// A run that ended cleared the lock file.
	os.WriteFile(lock, nil, 0o644)
	if Running(state, "s") {
		t.Error("running with the lock released")
	}
}
