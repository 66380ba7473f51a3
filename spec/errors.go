package spec

import (
	"errors"

	"github.com/chant-run/chant/internal/fault"
	"github.com/chant-run/chant/spec/doc"
)

var (
	// ErrNotFound means no spec matches an ID.
	ErrNotFound = fault.New(fault.Input, "no spec matches")
	// ErrAmbiguous means a partial ID matches more than one spec.
	ErrAmbiguous = fault.New(fault.Input, "ambiguous")
	// ErrNoWorkspace means no .chant directory was found.
	ErrNoWorkspace = fault.New(fault.Input, "not a chant workspace")
)

// Error is a problem at a place in a file (package doc's).
type Error = doc.Error

// Errors is a list of problems, each naming its file (package doc's).
type Errors = doc.Errors

// withPath sets the path on an *Error that has none.
func withPath(err error, path string) error {
	var e *Error
	if errors.As(err, &e) && e.Path == "" {
		e.Path = path
	}
	return err
}
