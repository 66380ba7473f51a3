package main

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/chant-run/chant/gate"
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
