package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/chant-run/chant/gate"
	"github.com/chant-run/chant/internal/clihelp"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/sandbox"
	"github.com/chant-run/chant/runner"
	"github.com/chant-run/chant/runner/agent"
	"github.com/chant-run/chant/runner/phase"
	"github.com/chant-run/chant/spec"
)

// Errors say their class where they arise; exitCode maps classes.
func TestExitCodes(t *testing.T) {
	located := &spec.Error{Path: "a.md", Line: 3, Msg: "bad"}
	for _, c := range []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{errors.New("disk on fire"), exitFailed},
		{located, exitBadInput},
		{fmt.Errorf("spec a: %w", spec.Errors{located}), exitBadInput},
		{usage(errors.New("no such flag")), exitBadInput},
		{fmt.Errorf("x: %w", gate.ErrDecided), exitBadInput},
		{fmt.Errorf("%w: bwrap not found", sandbox.ErrUnavailable), exitBadInput},
		{gitrepo.ErrNotRepository, exitBadInput},
		{fmt.Errorf("%w %q", agent.ErrPrompt, "x"), exitBadInput},
		{&phase.DirtyTargetsError{Spec: "a", Paths: []string{"f"}}, exitBadInput},
		{fmt.Errorf("%w: a", runner.ErrPhaseFailed), exitFailed},
		// A failure wins over the bad input it carries.
		{fmt.Errorf("%w: a: %w", runner.ErrPhaseFailed, located), exitFailed},
		{fmt.Errorf("%w: 2 errors", errProblems), exitFailed},
	} {
		if got := exitCode(c.err, io.Discard); got != c.want {
			t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

// Only the commands that read leave signals to end them at once; every
// other command, and anything chant cannot tell, gets chant's handling
// (a run puts its specs back).
func TestReadOnlyCommandsLeaveSignalsAlone(t *testing.T) {
	root := newRootCmd(strings.NewReader(""), io.Discard, io.Discard)
	for args, want := range map[string]bool{
		"--version": true, "": true, "status": true, "-C . status --json": true, "--dir=. drift": true,
		"show 001": true, "dag --format dot": true, "lint": true, "diff 001": true,
		"run": false, "run 001": false, "-C . run": false, "approve 001 --by me": false, "add x": false, "init": false,
		"log 001 --follow": false, "review 001": false, "edit 001": false, "verify 001": false, "worker": false,
		"worktrees --prune": false, "reset 001": false, "doctor --agent": false, "mcp": false,
	} {
		if got := clihelp.ReadsOnly(root, strings.Fields(args)); got != want {
			t.Errorf("chant %s: read-only %v, want %v", args, got, want)
		}
	}
	var readers []string
	for _, c := range root.Commands() {
		if clihelp.ReadsOnly(root, []string{c.Name()}) {
			readers = append(readers, c.Name())
		}
	}
	if want := "dag diff drift lint show status"; strings.Join(readers, " ") != want {
		t.Errorf("read-only commands %v, want %s", readers, want)
	}
}
