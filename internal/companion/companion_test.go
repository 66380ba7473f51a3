package companion

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chant-run/chant/internal/fault"
)

// A companion is found on PATH when it is not beside chant; one found
// nowhere is the user's to install, and the error says how.
func TestPath(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "chant-companion-test")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	if got, err := Path("chant-companion-test", "the test"); err != nil || got != prog {
		t.Errorf("Path on PATH = %q, %v; want %q", got, err, prog)
	}
	_, err := Path("chant-companion-none", "the test")
	if err == nil || fault.Of(err) != fault.Input || !strings.Contains(err.Error(), "the test needs chant-companion-none") ||
		!strings.Contains(err.Error(), "go install github.com/chant-run/chant/cmd/chant-companion-none@latest") {
		t.Errorf("Path of none: %v", err)
	}
	// Not executable: not a program.
	if err := os.Chmod(prog, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := Path("chant-companion-test", "the test"); err == nil {
		t.Errorf("Path found %q, which cannot run", got)
	}
}
