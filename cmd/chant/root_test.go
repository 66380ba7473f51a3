package main

import (
	"io"
	"strings"
	"testing"
)

// Each command is listed under the name it has, and a command line that
// names one makes that one alone; any other makes them all.
func TestCommandsAreMadeByName(t *testing.T) {
	for name, mk := range commands {
		if got := mk(&globals{}).Name(); got != name {
			t.Errorf("commands lists %q for the command named %q", name, got)
		}
	}
	for args, want := range map[string]string{
		"status": "status", "-C dir status --json": "status", "--dir dir run x": "run", "-Cdir lint": "lint",
		"--dir=dir show x": "show", "": "", "--version": "", "help status": "", "completion bash": "",
		"__complete run ''": "", "work": "", "-C status": "",
	} {
		root := newRootCmdFor(strings.Fields(args), strings.NewReader(""), io.Discard, io.Discard)
		var got []string
		for _, c := range root.Commands() {
			got = append(got, c.Name())
		}
		if want == "" && len(got) < len(commands) || want != "" && strings.Join(got, " ") != want {
			t.Errorf("chant %s: made %v, want %q (\"\": all)", args, got, want)
		}
	}
}
