// Package fault classifies errors where they arise: an error says whether
// the user's input was wrong or something failed, so that the command line
// maps classes to exit statuses in one place and lists no errors.
package fault

// Class is what kind of trouble an error is.
type Class int

const (
	// Unclassified errors are failures.
	Unclassified Class = iota
	// Input: the user's input or usage is wrong (a bad spec, an unknown
	// ID, a refused decision); fixing it is theirs.
	Input
	// Failed: the work did not succeed (a phase failed, lint found
	// problems); it wins over Input anywhere in the same chain.
	Failed
)

// Classed is an error that knows its class.
type Classed interface {
	error
	Class() Class
}

// New is a sentinel error of class c, for errors.Is and wrapping.
func New(c Class, msg string) error { return &sentinel{msg: msg, class: c} }

type sentinel struct {
	msg   string
	class Class
}

func (e *sentinel) Error() string { return e.msg }
func (e *sentinel) Class() Class  { return e.class }

// Of is the class of err: Failed if any error in its chain is Failed, else
// Input if any is Input, else Unclassified.
func Of(err error) Class {
	found := Unclassified
	var walk func(error)
	walk = func(e error) {
		if e == nil || found == Failed {
			return
		}
		if c, ok := e.(Classed); ok && c.Class() > found {
			found = c.Class()
		}
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		}
	}
	walk(err)
	return found
}

// Classify is err of class c: for an error made where its class is known
// (a usage mistake) that carries no sentinel of its own.
func Classify(c Class, err error) error { return &classified{err: err, class: c} }

type classified struct {
	err   error
	class Class
}

func (e *classified) Error() string { return e.err.Error() }
func (e *classified) Unwrap() error { return e.err }
func (e *classified) Class() Class  { return e.class }
