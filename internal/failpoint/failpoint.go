// Package failpoint lets crash tests stop chant at a named point of a
// write: tests in the same process set Crash; a chant built with -tags
// failpoint kills itself with SIGKILL at the point CHANT_FAILPOINT names,
// or, for "stall:<point>", stops there for good (to test that a signal
// still ends it). Built normally, Hit costs a nil check.
package failpoint

import (
	"os"
	"syscall"
)

// Crash, when set, is called at every point (by in-process tests, which
// make it panic to leave the state a crash would).
var Crash func(name string)

// Hit marks a point where a crash test may stop chant.
func Hit(name string) {
	if Crash != nil {
		Crash(name)
	}
	if !enabled {
		return
	}
	switch os.Getenv("CHANT_FAILPOINT") {
	case name:
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	case "stall:" + name:
		select {}
	}
}
