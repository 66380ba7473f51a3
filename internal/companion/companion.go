// Package companion finds chant's companion programs: chant-temporal (what
// talks to a Temporal cluster) and chant-mcp (the MCP server). They are
// programs of their own, as git's remote helpers are, so that chant links
// none of their libraries, whose initialisation every command would pay
// for at its start.
package companion

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/chant-run/chant/internal/fault"
)

// The companion programs.
const (
	Temporal = "chant-temporal"
	MCP      = "chant-mcp"
)

// Path is the companion program name, for what needs it (in an error's
// words): beside chant's own executable (as go install puts them), else
// on PATH.
func Path(name, need string) (string, error) {
	beside := ""
	if exe, err := os.Executable(); err == nil {
		beside = filepath.Join(filepath.Dir(exe), name)
		if fi, err := os.Stat(beside); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return beside, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	where := "on PATH"
	if beside != "" {
		where = fmt.Sprintf("at %s or on PATH", beside)
	}
	return "", fault.Classify(fault.Input, fmt.Errorf("%s needs %s, a program that comes with chant, and there is none %s: "+
		"go install github.com/chant-run/chant/cmd/%s@latest (from a clone: go install ./cmd/...)", need, name, where, name))
}
