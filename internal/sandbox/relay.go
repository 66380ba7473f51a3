package sandbox

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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
	r := &relay{hosts: c.Hosts, log: log, conns: map[net.Conn]bool{}}
	r.wg.Add(1)
	go r.serve(l)
	return func() {
		l.Close()
		r.mu.Lock()
		for cn := range r.conns {
			cn.Close()
		}
		r.conns = nil
		r.mu.Unlock()
		r.wg.Wait()
		os.Remove(path)
	}, nil
}

// relay is a cage's relay while it serves.
type relay struct {
	hosts []Endpoint
	log   io.Writer
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]bool // open, to close at stop; nil once stopped
}

// track adds (or removes) a connection to those to close at stop; false
// once stopped.
func (r *relay) track(cn net.Conn, add bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conns == nil {
		return false
	}
	if add {
		r.conns[cn] = true
	} else {
		delete(r.conns, cn)
	}
	return true
}

func (r *relay) say(format string, a ...any) {
	if r.log != nil {
		r.mu.Lock()
		fmt.Fprintf(r.log, "sandbox: "+format+"\n", a...)
		r.mu.Unlock()
	}
}

// serve accepts connections until l is closed.
func (r *relay) serve(l net.Listener) {
	defer r.wg.Done()
	for {
		in, err := l.Accept()
		if err != nil {
			return
		}
		if !r.track(in, true) {
			in.Close()
			return
		}
		r.wg.Add(1)
		go r.handle(in)
	}
}

// handle joins a connection to the endpoint it names.
func (r *relay) handle(in net.Conn) {
	defer r.wg.Done()
	defer r.track(in, false)
	defer in.Close()
	in.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := readLine(in, 16)
	in.SetReadDeadline(time.Time{})
	i, perr := strconv.Atoi(line)
	if err != nil || perr != nil || i < 0 || i >= len(r.hosts) {
		r.say("refused a connection that named no listed endpoint")
		return
	}
	out, err := net.DialTimeout("tcp", r.hosts[i].String(), 30*time.Second)
	if err != nil {
		r.say("%s: %v", r.hosts[i], err)
		return
	}
	if !r.track(out, true) {
		out.Close()
		return
	}
	defer r.track(out, false)
	defer out.Close()
	join(in, out)
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
