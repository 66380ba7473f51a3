// Command chant-temporal is the program chant runs for what needs a
// Temporal cluster (chant run --engine temporal, chant worker, doctor's
// look at the task queue, a gate decision told to the pipeline's
// workflow), so that chant itself links no Temporal code. It converses
// with chant (internal/temporalhelper) and is not for people to run.
package main

import (
	"os"

	"github.com/chant-run/chant/internal/temporalengine"
)

func main() {
	os.Exit(temporalengine.HelperMain(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
