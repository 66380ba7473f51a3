// Package sandbox runs a phase's processes (its agent, isolation.setup and
// checks) in a cage the kernel enforces, with bubblewrap (bwrap), what
// Claude Code's and Codex's own sandboxes use on Linux:
//
//   - user, PID, IPC and UTS namespaces: the cage's first process is PID 1
//     of its own; when the command it started exits, it exits and the
//     kernel kills everything left in the namespace, whatever a process
//     did with its environment, session or process group (the commands of
//     one phase share a held cage, whose keeper does the same between
//     them: held.go);
//   - a mount namespace in which the whole file system is read-only but
//     the phase worktree, a private /tmp and the declared writable paths;
//     the user's repository is read-only even inside a writable path;
//     /run is empty (no sockets of the user's session, no docker.sock) and
//     /dev holds only the usual devices, read-only but for its shared
//     memory;
//   - a new session (no controlling terminal to inject keystrokes into),
//     no capabilities, no further user namespaces;
//   - optionally a network namespace of its own: loopback only (deny), or
//     loopback where each listed host:port is relayed out by chant (see
//     relay.go), and nothing else.
//   - Landlock scopes, from the thread that starts bubblewrap (see Within):
//     no abstract Unix socket or signal reaching out of the cage;
//   - a seccomp filter, from the same thread: no hard links (links.go).
//
// Reads are not confined: the agent sees what the user can read.
package sandbox

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/chant-run/chant/internal/fault"
	"github.com/chant-run/chant/internal/safefs"
)

// ErrUnavailable means no sandbox can be made here: bwrap is missing, or
// the kernel refuses the namespaces it needs.
var ErrUnavailable = fault.New(fault.Input, "no sandbox")

// Network says what the cage may reach over the network.
type Network int

const (
	// NetAllow leaves the network as it is.
	NetAllow Network = iota
	// NetDeny gives the cage a network of its own: loopback only.
	NetDeny
	// NetList gives it loopback only, where each listed endpoint is
	// relayed to the real one; nothing else is reachable.
	NetList
)

func (n Network) String() string {
	switch n {
	case NetDeny:
		return "deny"
	case NetList:
		return "list"
	}
	return "allow"
}

// Endpoint is a host and port the cage may reach.
type Endpoint struct {
	Host string
	Port int
}

func (e Endpoint) String() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// ParseEndpoint reads host:port. The host is a name or a loopback address:
// a name is resolved outside the cage, an address elsewhere could only be
// reached by routing, which the cage has none of.
func ParseEndpoint(s string) (Endpoint, error) {
	host, port, err := net.SplitHostPort(strings.TrimSpace(s))
	if err != nil {
		return Endpoint{}, fmt.Errorf("%q is not host:port", s)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return Endpoint{}, fmt.Errorf("%q: port %q is not a number from 1 to 65535", s, port)
	}
	if host == "" {
		return Endpoint{}, fmt.Errorf("%q has no host", s)
	}
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			return Endpoint{}, fmt.Errorf("%q: an address outside this machine; list the host by name", s)
		}
	} else if !validHostname(host) {
		return Endpoint{}, fmt.Errorf("%q: %q is not a host name", s, host)
	}
	return Endpoint{Host: strings.ToLower(host), Port: p}, nil
}

func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

// ExpandPath makes a declared path absolute: $VAR, ${VAR} and
// ${VAR:-default} are the environment's, then a leading ~/ is the home
// directory. It must then be absolute.
func ExpandPath(p string, getenv func(string) string) (string, error) {
	orig := p
	missing := ""
	p = os.Expand(p, func(name string) string {
		name, def, hasDef := strings.Cut(name, ":-")
		v := getenv(name)
		if v == "" && hasDef {
			return def
		}
		if v == "" && missing == "" {
			missing = name
		}
		return v
	})
	if missing != "" {
		return "", fmt.Errorf("%q: $%s is not set", orig, missing)
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		home := getenv("HOME")
		if home == "" {
			return "", fmt.Errorf("%q: HOME is not set", orig)
		}
		p = home + p[1:]
	}
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("%q is not an absolute path (nor ~/...)", orig)
	}
	return filepath.Clean(p), nil
}

// RequireEnv, set, makes a missing sandbox fail the tests that need one
// rather than skip them: .ci/run sets it, having installed bubblewrap.
const RequireEnv = "CHANT_REQUIRE_SANDBOX"

// Policy is what the config allows a phase's processes beyond their
// worktree and private /tmp.
type Policy struct {
	// Writable are absolute paths the processes may write: the agent
	// CLI's own state (its preset's), sandbox.writable (build caches).
	// A missing one is made as a directory.
	Writable []string
	// Files are writable files a CLI keeps its state in (Claude Code's
	// ~/.claude.json): a missing one is made with its initial content.
	Files   []File
	Network Network
	Hosts   []Endpoint // for NetList
}

// File is a writable file and what a missing one starts as.
type File struct {
	Path    string
	Initial []byte
}

// Cage is the view of the processes of one phase.
type Cage struct {
	Policy
	// Dir is the phase worktree: writable, and where commands start.
	Dir string
	// Tmp is a directory of chant's mounted on /tmp (and TMPDIR), emptied
	// before each command.
	Tmp string
	// State is a directory of chant's for the cage's own files (the
	// relay's socket, the hosts file); the cage reads it.
	State string
	// Protected are paths that stay read-only even inside a writable
	// path: the user's repository and its git directory.
	Protected []string
	// Visible are paths the commands need to read that lie in a
	// directory the cage hides (/tmp, /run): the repository, programs.
	Visible []string
	// Helper is the command line that runs chant's helper inside the cage
	// (chant's own executable and its hidden command): the relay of a
	// NetList.
	Helper []string

	// hold is where its commands share one cage (held.go); nil: each
	// command gets a cage of its own.
	hold *holdSlot
}

// hidden are the directories whose contents the cage replaces: /tmp by
// its own, /run by an empty one.
var hidden = []string{"/tmp", "/run"}

// Bwrap is the path of bubblewrap, found once.
var bwrapPath = sync.OnceValues(func() (string, error) { return exec.LookPath("bwrap") })

// bwrapSetuid reports whether bubblewrap is found and setuid: what the
// thread that starts it may then not take (no_new_privs, which Landlock
// and a seccomp filter need, would take its privileges away); ok is false
// when bubblewrap is not found.
func bwrapSetuid() (setuid, ok bool) {
	bwrap, err := bwrapPath()
	if err != nil {
		return false, false
	}
	fi, err := os.Stat(bwrap)
	if err != nil {
		return false, false
	}
	return fi.Mode()&os.ModeSetuid != 0, true
}

// Prepare empties the cage's /tmp and makes the directories it needs and
// the writable paths that are missing.
func (c *Cage) Prepare() error {
	for _, d := range []string{c.Tmp, c.State} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
	}
	// Emptied, not made anew: a held cage has it mounted.
	if err := emptyDir(c.Tmp); err != nil {
		return fmt.Errorf("sandbox: empty its /tmp: %w", err)
	}
	for _, w := range c.Writable {
		if _, err := os.Lstat(w); errors.Is(err, os.ErrNotExist) {
			if err := os.MkdirAll(w, 0o700); err != nil {
				return fmt.Errorf("sandbox: make the writable directory %s: %w", w, err)
			}
		}
	}
	for _, f := range c.Files {
		if _, err := os.Lstat(f.Path); errors.Is(err, os.ErrNotExist) {
			if err := os.MkdirAll(filepath.Dir(f.Path), 0o700); err != nil {
				return fmt.Errorf("sandbox: %w", err)
			}
			fh, err := os.OpenFile(f.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err == nil {
				_, err = fh.Write(f.Initial)
				if cerr := fh.Close(); err == nil {
					err = cerr
				}
			}
			if err != nil && !errors.Is(err, os.ErrExist) {
				return fmt.Errorf("sandbox: make the writable file %s: %w", f.Path, err)
			}
		}
	}
	return nil
}

// Args is the bubblewrap command line that runs argv in the cage, in
// workdir (Dir or a directory in it), after Prepare. With NetList, the
// relay's socket must be served (Relay).
func (c *Cage) Args(workdir string, argv []string) ([]string, error) {
	a, err := c.view(false)
	if err != nil {
		return nil, err
	}
	if workdir == "" {
		workdir = c.Dir
	}
	a = append(a, "--chdir", workdir, "--")
	if c.Network == NetList {
		if len(c.Helper) == 0 {
			return nil, errors.New("sandbox: a network list needs chant's helper, and none was given")
		}
		a = append(a, c.Helper...)
		a = append(a, "--socket", c.socketInside())
		for i, l := range c.listens() {
			a = append(a, "--listen", fmt.Sprintf("%d=%s", i, l))
		}
		a = append(a, "--")
	}
	return append(a, argv...), nil
}

// view is bubblewrap and its options that make the cage (its namespaces,
// mounts and environment), all but where its command starts: commands
// whose views are equal can share a cage. A held cage's view has its
// keeper's program (see held.go) and State in /run besides.
func (c *Cage) view(hold bool) ([]string, error) {
	bwrap, err := bwrapPath()
	if err != nil {
		return nil, unavailable(err)
	}
	a := []string{bwrap,
		// Where the cage's first process is reported, to wait for it.
		"--info-fd", strconv.Itoa(infoFD),
		"--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
		"--disable-userns", "--die-with-parent", "--new-session",
		// Run by root, bubblewrap leaves the cage every capability within
		// its user namespace; run by anyone else, none. None either way.
		"--cap-drop", "ALL",
		"--ro-bind", "/", "/",
		// /dev read-only but for its own shared memory and message
		// queues: nothing a command leaves there is taken for a device
		// by the next (/dev/fd, /dev/stdin are symbolic links), and what
		// it leaves in those two a held cage can see (held.go).
		"--dev", "/dev", "--tmpfs", "/dev/shm", "--mqueue", "/dev/mqueue", "--remount-ro", "/dev",
		"--proc", "/proc",
	}
	if c.Network != NetAllow {
		a = append(a, "--unshare-net")
	}
	if hasRun() {
		// An empty /run, read-only.
		a = append(a, "--tmpfs", "/run")
		// Name resolution where resolv.conf leads into /run.
		a = append(a, "--ro-bind-try", "/run/systemd/resolve", "/run/systemd/resolve")
	}
	if c.Network == NetList {
		hosts, err := c.writeHosts()
		if err != nil {
			return nil, err
		}
		a = append(a, "--ro-bind", hosts, "/etc/hosts")
	}
	// State, which the cage reads: at a short path in /run, before /run is
	// made read-only; where there is no /run, at its own, after the rest.
	var stateBind []string
	if c.Network == NetList || hold {
		stateBind = []string{"--ro-bind", c.State, c.State}
	}
	if hasRun() {
		if stateBind != nil {
			a = append(a, "--ro-bind", c.State, stateInside)
			stateBind = nil
		}
		if hold {
			a = append(a, "--perms", "0111", "--file", strconv.Itoa(keeperFD), keeperPath)
		}
		a = append(a, "--remount-ro", "/run")
	}
	a = append(a, "--bind", c.Tmp, "/tmp")
	a = append(a, c.binds()...)
	a = append(a, stateBind...)
	a = append(a, "--setenv", "TMPDIR", "/tmp")
	// Variables that point into what the cage hides (the session's
	// runtime directory, its bus, an ssh agent's socket in /tmp): unset,
	// so that programs fall back to what they would do without them.
	for _, v := range hiddenVars() {
		a = append(a, "--unsetenv", v)
	}
	return a, nil
}

// hiddenVars are the variables of chant's environment that point into
// what the cage hides, which the cage unsets.
func hiddenVars() []string {
	var out []string
	for _, v := range []string{"XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS", "SSH_AUTH_SOCK"} {
		if val := os.Getenv(v); val != "" && hidesVar(val) {
			out = append(out, v)
		}
	}
	return out
}

// binds are the bubblewrap arguments that mount the cage's paths: what it
// must see under a hidden directory (read-only), the writable paths, the
// protected ones (read-only again inside those), the worktree; each path
// once, shallower ones first.
func (c *Cage) binds() []string {
	var a []string
	seen := map[string]bool{}
	bind := func(flag string, paths ...string) {
		for _, p := range paths {
			if p == "" || seen[flag+p] {
				continue
			}
			seen[flag+p] = true
			a = append(a, flag, p, p)
		}
	}
	var visible []string
	for _, p := range c.Visible {
		if underHidden(p) && !slices.Contains(c.Protected, p) { // those are bound below
			if _, err := os.Stat(p); err == nil { // bwrap fails on one it cannot reach
				visible = append(visible, p)
			}
		}
	}
	bind("--ro-bind-try", shallowFirst(visible)...)
	writable := append([]string{}, c.Writable...)
	for _, f := range c.Files {
		writable = append(writable, f.Path)
	}
	bind("--bind", shallowFirst(writable)...)
	bind("--ro-bind", shallowFirst(c.Protected)...)
	bind("--bind", c.Dir)
	return a
}

// Within runs start, which starts cmd (one of the cage's commands, made
// from Args) and waits for it to end, on an OS thread of its own
// restricted with Landlock (see restrictThread), so that the command and
// everything it starts are in the domain, and chant is not. start must
// not return before the command has ended: bubblewrap's --die-with-parent,
// and the command's Pdeathsig, follow the thread that started it, which
// ends with start.
//
// Within returns once the cage is empty. bubblewrap returns as the
// command exits, while the cage's first process and whatever the command
// left are still being killed: a survivor would go on writing into a
// worktree chant is already reading. So Within learns the first process
// from bubblewrap (--info-fd) and waits for its end, which the kernel
// lets come only after every other process in the namespace has ended.
// On a nil cage, start runs as is.
func (c *Cage) Within(cmd *exec.Cmd, start func() error) error {
	return c.within(cmd, start, true)
}

// within is Within, without Landlock when landlock is false (for tests).
func (c *Cage) within(cmd *exec.Cmd, start func() error, landlock bool) error {
	if c == nil {
		return start()
	}
	if len(cmd.ExtraFiles) != 0 {
		return errors.New("sandbox: a caged command's descriptors beyond stdio are the cage's")
	}
	first, err := watchFirst(cmd)
	if err != nil {
		return err
	}
	err = onCageThread(landlock, start)
	if werr := first.wait(); err == nil {
		err = werr
	}
	return err
}

// onCageThread runs fn on an OS thread of its own that ends with it,
// restricted as a cage's processes are (hard links refused, and Landlock
// when landlock is true): fn starts a cage's bubblewrap, and must not
// return before it has ended.
func onCageThread(landlock bool, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		// Never unlocked: the thread carries the domain and ends with
		// this goroutine.
		runtime.LockOSThread()
		if linksState() {
			if err := installLinkFilter(); err != nil {
				done <- fmt.Errorf("sandbox: refuse hard links: %w", err)
				return
			}
		}
		if landlock {
			if err := restrictThread(); err != nil {
				done <- fmt.Errorf("sandbox: landlock: %w", err)
				return
			}
		}
		done <- fn()
	}()
	return <-done
}

// Landlock says whether the cages here get Landlock, for doctor.
func Landlock() string {
	_, s := landlockState()
	return s
}

// underHidden reports whether p lies inside a directory the cage
// replaces (never the directory itself: that stays replaced).
func underHidden(p string) bool {
	for _, h := range hidden {
		if strings.HasPrefix(p, h+"/") {
			return true
		}
	}
	return false
}

// hidesVar reports whether a variable's value (a path, or a D-Bus
// address such as unix:path=/run/user/1000/bus) names something in a
// directory the cage hides.
func hidesVar(val string) bool {
	val = strings.TrimPrefix(val, "unix:path=")
	if i := strings.IndexByte(val, ','); i >= 0 {
		val = val[:i]
	}
	return val == "/run" || underHidden(val)
}

// shallowFirst orders paths so that a path is mounted before the paths
// inside it.
func shallowFirst(paths []string) []string {
	out := append([]string(nil), paths...)
	sort.SliceStable(out, func(i, j int) bool {
		return strings.Count(out[i], "/") < strings.Count(out[j], "/")
	})
	return out
}

var probe struct {
	sync.Mutex
	done bool
	err  error
}

// Probe makes one cage, with a network of its own, around true: an error
// (ErrUnavailable) says why no sandbox can be had here. The answer is kept
// for the process and, when the cage was made, in the user's cache for as
// long as what decides it stays the same (probeKey): a start of bubblewrap
// is a noticeable part of a short phase. A kept answer that has gone stale
// costs no confinement: the phase's own bubblewrap then refuses, and
// Refused says so.
func Probe() error {
	probe.Lock()
	defer probe.Unlock()
	if !probe.done {
		probe.err = probeKept()
		probe.done = true
	}
	return probe.err
}

func probeKept() error {
	key, file := probeKey(), probeFile()
	if key != "" && file != "" {
		if kept, err := os.ReadFile(file); err == nil && string(kept) == key {
			return nil
		}
	}
	err := doProbe()
	if err == nil && key != "" && file != "" {
		// Only an answer that the cage can be made is kept; failing to
		// keep it costs the next run a probe.
		if os.MkdirAll(filepath.Dir(file), 0o700) == nil {
			safefs.Root{Dir: filepath.Dir(file)}.WriteFile(filepath.Base(file), []byte(key), safefs.Regular, false)
		}
	}
	return err
}

// probeFile is where Probe keeps its answer, "" if nowhere.
func probeFile() string {
	cache, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(cache, "chant", "sandbox-probe")
}

// probeKey is what decides whether bubblewrap can make a cage here: the
// program, the kernel and this boot of it, the user, and the settings
// that allow or refuse user namespaces; "" when it cannot be told.
func probeKey() string {
	bwrap, err := bwrapPath()
	if err != nil {
		return ""
	}
	fi, err := os.Stat(bwrap)
	if err != nil {
		return ""
	}
	var uts unix.Utsname
	if unix.Uname(&uts) != nil {
		return ""
	}
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "bwrap %s %d %d %o\nkernel %s\nboot %s\nuid %d\n", bwrap, fi.Size(), fi.ModTime().UnixNano(), fi.Mode(),
		unix.ByteSliceToString(uts.Release[:]), strings.TrimSpace(string(boot)), os.Getuid())
	for _, knob := range []string{"user/max_user_namespaces", "kernel/unprivileged_userns_clone", "kernel/apparmor_restrict_unprivileged_userns"} {
		v, err := os.ReadFile("/proc/sys/" + knob)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return ""
		}
		fmt.Fprintf(&b, "%s %s\n", knob, strings.TrimSpace(string(v)))
	}
	return b.String()
}

// forgetProbe drops the kept answer, after bubblewrap refused a cage.
func forgetProbe() {
	if file := probeFile(); file != "" {
		os.Remove(file)
	}
	forgetProbeState()
}

// forgetProbeState drops the answer kept for the process.
func forgetProbeState() {
	probe.Lock()
	probe.done = false
	probe.Unlock()
}

// Refused returns, when a caged command's end (its output and the error
// of its wait) was bubblewrap refusing to make the cage rather than the
// command's own, why (ErrUnavailable); else nil. The kept answer of Probe
// is then dropped. A command that prints what bubblewrap would can only
// fail its own phase this way.
func Refused(output string, err error) error {
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		return nil
	}
	first, _, _ := strings.Cut(output, "\n")
	if !strings.HasPrefix(first, "bwrap: ") {
		return nil
	}
	forgetProbe()
	return fmt.Errorf("%w: bubblewrap could not make the cage (%s)", ErrUnavailable, oneLine(first))
}

func doProbe() error {
	if runtime.GOOS != "linux" {
		return fmt.Errorf("%w: chant's sandbox needs Linux (namespaces and bubblewrap); this is %s", ErrUnavailable, runtime.GOOS)
	}
	bwrap, err := bwrapPath()
	if err != nil {
		return unavailable(err)
	}
	truePath, err := exec.LookPath("true")
	if err != nil {
		truePath = "/bin/true"
	}
	out, err := exec.Command(bwrap, "--unshare-user", "--unshare-pid", "--unshare-net", "--disable-userns", "--die-with-parent",
		"--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", truePath).CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("%w: the kernel refused the namespaces the sandbox needs (%s); user namespaces may be disabled "+
			"(sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone, kernel.apparmor_restrict_unprivileged_userns)", ErrUnavailable, oneLine(msg))
	}
	return nil
}

func unavailable(err error) error {
	if errors.Is(err, exec.ErrNotFound) {
		return fmt.Errorf("%w: bwrap not found: install bubblewrap (apt-get install bubblewrap, dnf install bubblewrap, pacman -S bubblewrap)", ErrUnavailable)
	}
	return fmt.Errorf("%w: bwrap: %v", ErrUnavailable, err)
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// Version is bubblewrap's path and version, for doctor.
func Version() string {
	bwrap, err := bwrapPath()
	if err != nil {
		return "bwrap not found"
	}
	out, err := exec.Command(bwrap, "--version").Output()
	if v := strings.TrimSpace(string(out)); err == nil && v != "" {
		return bwrap + " (" + v + ")"
	}
	return bwrap
}

// Describe says what the cage allows, for doctor.
func (p Policy) Describe() string {
	net := p.Network.String()
	if p.Network == NetList {
		hosts := make([]string, len(p.Hosts))
		for i, h := range p.Hosts {
			hosts[i] = h.String()
		}
		net = "only " + strings.Join(hosts, ", ")
	}
	var paths []string
	paths = append(paths, p.Writable...)
	for _, f := range p.Files {
		paths = append(paths, f.Path)
	}
	w := "none"
	if len(paths) > 0 {
		w = strings.Join(paths, ", ")
	}
	return fmt.Sprintf("network %s; writable besides the worktree and a private /tmp: %s", net, w)
}
