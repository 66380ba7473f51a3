// Command chant runs spec pipelines against a git repository: specs in
// .chant/specs/ run in dependency order, an agent does each one's work, and
// chant verifies it and records it as git commits. Human gates stop the run
// until someone approves them.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/chant-run/chant/internal/clihelp"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/heapgoal"
	"github.com/chant-run/chant/internal/sandbox"
	"github.com/chant-run/chant/internal/stopsignal"
	"github.com/chant-run/chant/internal/temporalhelper"
	"github.com/chant-run/chant/internal/textsafe"
)

func main() {
	os.Exit(processMain())
}

// processMain is chant as a process of its own, the program's or the
// test binary's run as chant by the end-to-end tests.
func processMain() int {
	if len(os.Args) > 1 && os.Args[1] == sandbox.HelperCommand {
		// chant inside a phase's cage, relaying its network list: no
		// command of chant's runs there.
		return sandbox.HelperMain(os.Args[2:], os.Stderr)
	}
	heapgoal.Start()
	gitrepo.Network = temporalhelper.Network{}
	return run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}

// run executes one chant command line and returns its exit status.
// Ctrl-C, SIGTERM and SIGHUP cancel the command's context with an
// interrupted cause: a run stops its phases and puts their specs back,
// and the command exits 128 and the signal's number; at a second signal,
// or stopsignal.Grace later, at once (chant's writes are atomic). A
// read-only command (clihelp.ReadOnly) leaves signals as they are.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	root := newRootCmdFor(args, stdin, stdout, stderr)
	root.SetArgs(args)
	if !clihelp.ReadsOnly(root, args) {
		defer stopsignal.Handle(stopsignal.Grace, func(sig os.Signal) { cancel(&interrupted{sig}) }, func(sig os.Signal) {
			intr := &interrupted{sig}
			fmt.Fprintf(stderr, "chant: %v, at once\n", intr)
			os.Exit(intr.code())
		})()
	}
	err := root.ExecuteContext(ctx)
	var intr *interrupted
	if errors.As(context.Cause(ctx), &intr) && !errors.As(err, &intr) {
		err = &stoppedBy{err, intr}
	}
	return exitCode(err, textsafe.NewWriter(stderr))
}
