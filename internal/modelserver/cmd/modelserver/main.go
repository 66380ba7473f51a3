// Command modelserver serves a model script (see package modelserver) on
// 127.0.0.1 until interrupted, to run a real agent CLI against it by hand:
//
//	go run ./internal/modelserver/cmd/modelserver script.txt
//
// It prints the environment to point the CLIs at it, and at the end the
// requests it answered.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/chant-run/chant/internal/modelserver"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: modelserver SCRIPT")
		os.Exit(2)
	}
	s, err := modelserver.Start(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "modelserver:", err)
		os.Exit(1)
	}
	for _, kv := range s.Env() {
		fmt.Printf("export %s\n", kv)
	}
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt, syscall.SIGTERM)
	<-c
	s.Close()
	for _, r := range s.Requests() {
		fmt.Fprintf(os.Stderr, "%s %s turn %d\n", r.API, r.Path, r.Turn)
	}
}
