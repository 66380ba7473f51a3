package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/chant-run/chant/internal/fault"
	"github.com/chant-run/chant/runner/phase"
)

// Exit statuses: the one place they are decided.
const (
	exitOK       = 0 // success, including a run that stopped at a human gate
	exitFailed   = 1 // a phase failed or a check did not hold
	exitBadInput = 2 // bad usage or bad input
)

// usage is err as a command-line mistake: exit 2.
func usage(err error) error { return fault.Classify(fault.Input, err) }

// reported marks an error whose explanation has already been printed.
type reported struct{ err error }

func (e *reported) Error() string { return e.err.Error() }
func (e *reported) Unwrap() error { return e.err }

// interrupted is the cause a signal cancels a command with. To a run it is
// phase.ErrStopped: its phases stop and their specs are put back, not
// failed. The command exits 128 and the signal's number, as a shell's
// command killed by it would.
type interrupted struct{ sig os.Signal }

func (e *interrupted) Error() string {
	if e.sig == os.Interrupt {
		return "interrupted (Ctrl-C)"
	}
	return "stopped by " + e.sig.String()
}

func (e *interrupted) Unwrap() error { return phase.ErrStopped }

func (e *interrupted) code() int {
	if s, ok := e.sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 130
}

// stoppedBy is a command's own end (err, nil when it came to an end all
// the same) after a signal interrupted it.
type stoppedBy struct {
	err error
	by  *interrupted
}

func (e *stoppedBy) Error() string {
	if e.err == nil {
		return e.by.Error()
	}
	return e.err.Error()
}

func (e *stoppedBy) Unwrap() []error { return []error{e.err, e.by} }

// exitCode prints err (unless already reported) and maps it to a status.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var rep *reported
	if !errors.As(err, &rep) {
		fmt.Fprintf(stderr, "chant: %v\n", err)
	}
	var intr *interrupted
	if errors.As(err, &intr) {
		return intr.code()
	}
	if fault.Of(err) == fault.Input {
		return exitBadInput
	}
	return exitFailed
}
