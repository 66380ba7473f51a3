// Package phasetest sets up the tests of packages whose tests run phases.
package phasetest

import (
	"os"
	"testing"

	"github.com/chant-run/chant/internal/isolation"
	"github.com/chant-run/chant/internal/sandbox"
)

// Main runs the tests of a package whose tests run phases, and exits: the
// test binary is the sandbox's helper too (as chant is), and phase
// worktrees go to a temporary directory, never the user's cache.
func Main(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == sandbox.HelperCommand {
		os.Exit(sandbox.HelperMain(os.Args[2:], os.Stderr))
	}
	dir, err := os.MkdirTemp("", "chant-worktrees-")
	if err != nil {
		panic(err)
	}
	os.Setenv(isolation.DirEnv, dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
