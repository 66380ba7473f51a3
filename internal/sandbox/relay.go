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
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A network list (sandbox.network: [host:port, ...]) works as Claude Code's
// sandbox does, through chant rather than a proxy the agent must be told
// about: the cage has a network of its own with loopback only. Inside it,
// chant's relay (the cage's first command, chant itself re-executed)
// listens on a loopback address for each listed endpoint: a loopback one
// on its own address, a named host on an address of 127.0.1.0/24 that the
// cage's /etc/hosts gives that name. Each connection goes over a Unix
// socket to chant outside, which dials the endpoint it stands for, and
// only that: what crosses the socket is an index into the list.

// HelperCommand is the hidden chant command that starts a cage's command
// inside it: it applies Landlock, serves the relay of a network list, and
// runs the command (see HelperMain).
const HelperCommand = "__sandbox-helper"

func (c *Cage) socket() string { return filepath.Join(c.State, "relay.sock") }

// stateInside is where the cage sees State: at a short path, since a Unix
// socket's path is limited to 107 bytes and a worktree's may be longer.
const stateInside = "/run/chant"

// socketInside is the relay's socket as the cage sees it.
func (c *Cage) socketInside() string {
	if hasRun() {
		return stateInside + "/relay.sock"
	}
	return c.socket()
}

func hasRun() bool {
	fi, err := os.Stat("/run")
	return err == nil && fi.IsDir()
}

// listens are the addresses the relay inside listens on, one per endpoint.
func (c *Cage) listens() []string {
	names := map[string]int{}
	out := make([]string, len(c.Hosts))
	for i, h := range c.Hosts {
		ip := h.Host
		switch {
		case h.Host == "localhost":
			ip = "127.0.0.1"
		case net.ParseIP(h.Host) == nil:
			n, ok := names[h.Host]
			if !ok {
				n = len(names) + 1
				names[h.Host] = n
			}
			ip = fmt.Sprintf("127.0.1.%d", n)
		}
		out[i] = net.JoinHostPort(ip, strconv.Itoa(h.Port))
	}
	return out
}

// writeHosts writes the cage's /etc/hosts: localhost, and each listed
// host name on its relay's address.
func (c *Cage) writeHosts() (string, error) {
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n")
	done := map[string]bool{}
	for i, l := range c.listens() {
		h := c.Hosts[i].Host
		if net.ParseIP(h) != nil || h == "localhost" || done[h] {
			continue
		}
		done[h] = true
		ip, _, _ := net.SplitHostPort(l)
		fmt.Fprintf(&b, "%s\t%s\n", ip, h)
	}
	path := filepath.Join(c.State, "hosts")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return "", fmt.Errorf("sandbox: %w", err)
	}
	return path, nil
}

// Relay serves the cage's socket until stop is called: each connection
// names an endpoint of the list by its index, and is joined to a
// connection to it. Log, when set, hears of refused and failed ones.
func (c *Cage) Relay(log io.Writer) (stop func(), err error) {
	if c.Network != NetList {
		return func() {}, nil
	}
	path := c.socket()
	os.Remove(path)
	// Bound through the directory's descriptor: the path may be too long
	// for a socket's address.
	dir, err := os.Open(c.State)
	if err != nil {
		return nil, fmt.Errorf("sandbox: relay: %w", err)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: fmt.Sprintf("/proc/self/fd/%d/relay.sock", dir.Fd()), Net: "unix"})
	dir.Close()
	if err != nil {
		return nil, fmt.Errorf("sandbox: relay: %w", err)
	}
	l.SetUnlinkOnClose(false) // its name is the descriptor's, gone by then
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	track := func(cn net.Conn, add bool) bool {
		mu.Lock()
		defer mu.Unlock()
		if conns == nil {
			return false
		}
		if add {
			conns[cn] = true
		} else {
			delete(conns, cn)
		}
		return true
	}
	say := func(format string, a ...any) {
		if log != nil {
			mu.Lock()
			fmt.Fprintf(log, "sandbox: "+format+"\n", a...)
			mu.Unlock()
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			if !track(in, true) {
				in.Close()
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer track(in, false)
				defer in.Close()
				in.SetReadDeadline(time.Now().Add(10 * time.Second))
				line, err := readLine(in, 16)
				in.SetReadDeadline(time.Time{})
				i, perr := strconv.Atoi(line)
				if err != nil || perr != nil || i < 0 || i >= len(c.Hosts) {
					say("refused a connection that named no listed endpoint")
					return
				}
				out, err := net.DialTimeout("tcp", c.Hosts[i].String(), 30*time.Second)
				if err != nil {
					say("%s: %v", c.Hosts[i], err)
					return
				}
				if !track(out, true) {
					out.Close()
					return
				}
				defer track(out, false)
				defer out.Close()
				join(in, out)
			}()
		}
	}()
	return func() {
		l.Close()
		mu.Lock()
		for cn := range conns {
			cn.Close()
		}
		conns = nil
		mu.Unlock()
		wg.Wait()
		os.Remove(path)
	}, nil
}

// readLine reads one line of at most max bytes, a byte at a time: what
// follows it is the connection's, not to be buffered away.
func readLine(r io.Reader, max int) (string, error) {
	var b [1]byte
	var line []byte
	for len(line) <= max {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return "", err
		}
		if b[0] == '\n' {
			return string(line), nil
		}
		line = append(line, b[0])
	}
	return "", errors.New("line too long")
}

// join copies both ways until both directions end.
func join(a, b net.Conn) {
	done := make(chan struct{}, 2)
	half := func(dst, src net.Conn) {
		io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		} else {
			dst.Close()
		}
		done <- struct{}{}
	}
	go half(a, b)
	go half(b, a)
	<-done
	<-done
}

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
