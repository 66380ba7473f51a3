package sandbox

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// HelperCommand is the hidden chant command that starts a cage's command
// inside it when the cage has a network list: it serves the list's relay
// and runs the command (see HelperMain).
const HelperCommand = "__sandbox-helper"

// HelperMain is chant inside a cage: chant __sandbox-helper --socket S
// --listen I=ADDR... -- COMMAND...: it listens on each ADDR, forwards each
// connection to the socket naming its I, and runs COMMAND as its child,
// exiting with its status (the cage, and everything in it, then ends).
func HelperMain(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet(HelperCommand, flag.ContinueOnError)
	fs.SetOutput(stderr)
	sock := fs.String("socket", "", "the Unix socket chant relays through")
	var listens []string
	fs.Func("listen", "I=ADDR: listen on ADDR for endpoint I", func(s string) error {
		listens = append(listens, s)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return 2
	}
	argv := fs.Args()
	if len(argv) == 0 || len(listens) == 0 || *sock == "" {
		fmt.Fprintln(stderr, "usage: chant "+HelperCommand+" --socket S --listen I=ADDR... -- COMMAND...")
		return 2
	}
	for _, l := range listens {
		idx, addr, ok := strings.Cut(l, "=")
		if !ok {
			fmt.Fprintf(stderr, "chant: sandbox: --listen %q is not I=ADDR\n", l)
			return 2
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintf(stderr, "chant: sandbox: relay: %v\n", err)
			return 125
		}
		go serveListener(ln, *sock, idx)
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		fmt.Fprintf(stderr, "chant: sandbox: %v\n", err)
		return 127
	}
	cmd := exec.Command(path, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "chant: sandbox: %v\n", err)
		return 127
	}
	// Signals for the cage go to the command.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	go func() {
		for s := range sigs {
			cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return exit.ExitCode()
	}
	fmt.Fprintf(stderr, "chant: sandbox: %v\n", err)
	return 1
}

func serveListener(ln net.Listener, sock, idx string) {
	for {
		in, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer in.Close()
			var d net.Dialer
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			out, err := d.DialContext(ctx, "unix", sock)
			cancel()
			if err != nil {
				return
			}
			defer out.Close()
			if _, err := io.WriteString(out, idx+"\n"); err != nil {
				return
			}
			join(in, out)
		}()
	}
}
