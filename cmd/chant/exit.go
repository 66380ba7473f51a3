package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/chant-run/chant/internal/fault"
)

// Exit statuses: the one place they are decided.
const (
	exitOK       = 0 // success, including a run that stopped at a human gate
	exitFailed   = 1 // a phase failed or a check did not hold
	exitBadInput = 2 // bad usage or bad input
)

// usageError is a command-line mistake.
type usageError struct{ err error }

func (e *usageError) Error() string      { return e.err.Error() }
func (e *usageError) Unwrap() error      { return e.err }
func (e *usageError) Class() fault.Class { return fault.Input }

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
	if fault.Of(err) == fault.Input {
		return exitBadInput
	}
	return exitFailed
}
