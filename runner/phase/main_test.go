package phase

import (
	"os"
	"testing"

	"github.com/chant-run/chant/internal/isolation"
	"github.com/chant-run/chant/internal/sandbox"
)

func TestMain(m *testing.M) {
	// The test binary is the sandbox's helper too, as chant is.
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
