package doc

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/chant-run/chant/internal/fault"
)

// Error is a problem at a place in a file. Line and Col are 1-based; zero
// means unknown.
type Error struct {
	Path string
	Line int
	Col  int
	Msg  string
}

// Class: a problem in a file is the user's input.
func (e *Error) Class() fault.Class { return fault.Input }

func (e *Error) Error() string {
	path := DisplayPath(e.Path)
	switch {
	case e.Path == "":
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	case e.Line == 0:
		return fmt.Sprintf("%s: %s", path, e.Msg)
	case e.Col == 0:
		return fmt.Sprintf("%s:%d: %s", path, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", path, e.Line, e.Col, e.Msg)
}

// DisplayPath is a path as messages show it: quoted when it holds control
// characters, so that a file name with a newline cannot forge a line of
// output.
func DisplayPath(p string) string {
	if strings.IndexFunc(p, unicode.IsControl) >= 0 {
		return strconv.Quote(p)
	}
	return p
}

// Errors is a list of problems, each naming its file.
type Errors []error

func (es Errors) Error() string {
	s := ""
	for i, e := range es {
		if i > 0 {
			s += "\n"
		}
		s += e.Error()
	}
	return s
}

func (es Errors) Unwrap() []error { return es }

// Class: problems in files are the user's input.
func (es Errors) Class() fault.Class { return fault.Input }
