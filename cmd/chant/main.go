// Command chant runs spec pipelines against a git repository: specs in
// .chant/specs/ run in dependency order, an agent does each one's work, and
// chant verifies it and records it as git commits. Human gates stop the run
// until someone approves them.
package main

import (
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one chant command line and returns its exit status.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	return exitCode(err, stderr)
}
