package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/chant-run/chant/gate"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/sandbox"
	"github.com/chant-run/chant/runner"
	"github.com/chant-run/chant/runner/agent"
	"github.com/chant-run/chant/spec"
)

// Exit statuses: the one place they are decided.
const (
	exitOK       = 0 // success, including a run that stopped at a human gate
	exitFailed   = 1 // a phase failed or a check did not hold
	exitBadInput = 2 // bad usage or bad input
)

// usageError is a command-line mistake.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// reported marks an error whose explanation has already been printed.
type reported struct{ err error }

func (e *reported) Error() string { return e.err.Error() }
func (e *reported) Unwrap() error { return e.err }

// exitCode prints err (unless already reported) and maps it to a status.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var rep *reported
	if !errors.As(err, &rep) {
		fmt.Fprintf(stderr, "chant: %v\n", err)
	}
	var (
		usage   *usageError
		located *spec.Error
		list    spec.Errors
	)
	switch {
	case errors.Is(err, runner.ErrPhaseFailed), errors.Is(err, errProblems), errors.Is(err, errDrift):
		return exitFailed
	case errors.As(err, &usage), errors.As(err, &located), errors.As(err, &list),
		errors.Is(err, spec.ErrNoWorkspace), errors.Is(err, spec.ErrNotFound), errors.Is(err, spec.ErrAmbiguous),
		errors.Is(err, gate.ErrNotGate), errors.Is(err, gate.ErrNoName), errors.Is(err, gate.ErrNoReason),
		errors.Is(err, gate.ErrDecided), errors.Is(err, gate.ErrNotApprover), errors.Is(err, gate.ErrSelfApproval),
		errors.Is(err, gate.ErrFromAgent), errors.Is(err, gate.ErrExpired), errors.Is(err, runner.ErrRunInProgress), errors.Is(err, agent.ErrProvider),
		errors.Is(err, runner.ErrNotCompleted), errors.Is(err, agent.ErrPrompt), errors.Is(err, runner.ErrDirtyTargets),
		errors.Is(err, runner.ErrUnsafePath), errors.Is(err, runner.ErrNotApproved), errors.Is(err, agent.ErrAgentMissing),
		errors.Is(err, runner.ErrInvalid), errors.Is(err, gitrepo.ErrNotRepository), errors.Is(err, sandbox.ErrUnavailable):
		return exitBadInput
	}
	return exitFailed
}
