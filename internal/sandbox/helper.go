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
// inside it: it applies Landlock, serves the relay of a network list, and
// runs the command (see HelperMain).
const HelperCommand = "__sandbox-helper"

// HelperMain is chant inside a cage: chant __sandbox-helper [--landlock
// --writable DIR... --writable-file FILE...] [--socket S --listen
// I=ADDR ...] -- COMMAND...: it
// restricts itself with Landlock (writes only below the --writable
// paths), listens
// on each ADDR and forwards each connection to the socket naming its I,
// and runs COMMAND: in its place when there is nothing to relay, else as
// its child, exiting with its status (the cage, and everything in it,
// then ends).
func HelperMain(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet(HelperCommand, flag.ContinueOnError)
	fs.SetOutput(stderr)
	sock := fs.String("socket", "", "the Unix socket chant relays through")
	lock := fs.Bool("landlock", false, "restrict the command with Landlock")
	var listens, writable, writableFiles []string
	fs.Func("listen", "I=ADDR: listen on ADDR for endpoint I", func(s string) error {
		listens = append(listens, s)
		return nil
	})
	fs.Func("writable", "a directory the command may write below", func(s string) error {
		writable = append(writable, s)
		return nil
	})
	fs.Func("writable-file", "a file the command may write", func(s string) error {
		writableFiles = append(writableFiles, s)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return 2
	}
	argv := fs.Args()
	if len(argv) == 0 || len(listens) > 0 && *sock == "" {
		fmt.Fprintln(stderr, "usage: chant "+HelperCommand+" [--landlock --writable DIR... --writable-file FILE...] [--socket S --listen I=ADDR...] -- COMMAND...")
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
	if err := confineIf(*lock, writable, writableFiles); err != nil {
		fmt.Fprintf(stderr, "chant: sandbox: landlock: %v\n", err)
		return 125
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		fmt.Fprintf(stderr, "chant: sandbox: %v\n", err)
		return 127
	}
	if len(listens) == 0 {
		// Nothing to serve: the command takes this process's place.
		err := syscall.Exec(path, argv, os.Environ())
		fmt.Fprintf(stderr, "chant: sandbox: %s: %v\n", argv[0], err)
		return 126
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

func confineIf(on bool, dirs, files []string) error {
	if !on {
		return nil
	}
	return confine(dirs, files)
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
