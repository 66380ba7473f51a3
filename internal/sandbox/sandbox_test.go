package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	// The test binary is also the relay inside a cage, as chant is.
	if len(os.Args) > 1 && os.Args[1] == HelperCommand {
		os.Exit(HelperMain(os.Args[2:], os.Stderr))
	}
	os.Exit(m.Run())
}

func requireSandbox(t *testing.T) {
	t.Helper()
	if err := Probe(); err != nil {
		if os.Getenv(RequireEnv) != "" {
			t.Fatalf("%s is set: %v", RequireEnv, err)
		}
		t.Skip(err)
	}
}

func TestParseEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"api.anthropic.com:443": "api.anthropic.com:443",
		"Example.COM:80":        "example.com:80",
		"127.0.0.1:8080":        "127.0.0.1:8080",
		"[::1]:9":               "[::1]:9",
		"localhost:1":           "localhost:1",
	} {
		e, err := ParseEndpoint(in)
		if err != nil || e.String() != want {
			t.Errorf("ParseEndpoint(%q) = %v, %v; want %s", in, e, err, want)
		}
	}
	for _, in := range []string{"", "host", "host:0", "host:65536", "host:x", ":80", "10.0.0.1:80", "8.8.8.8:53", "bad host:1", "-a.com:1", "a..b:1"} {
		if e, err := ParseEndpoint(in); err == nil {
			t.Errorf("ParseEndpoint(%q) = %v, want an error", in, e)
		}
	}
}

func TestExpandPath(t *testing.T) {
	env := map[string]string{"HOME": "/home/ada", "CACHE": "/var/cache/x"}
	getenv := func(k string) string { return env[k] }
	for in, want := range map[string]string{
		"~/.cache/go-build":               "/home/ada/.cache/go-build",
		"~":                               "/home/ada",
		"$CACHE/go":                       "/var/cache/x/go",
		"${CACHE}/go/":                    "/var/cache/x/go",
		"${GOCACHE:-~/.cache/go-build}":   "/home/ada/.cache/go-build",
		"${CACHE:-~/.cache/go-build}/sub": "/var/cache/x/sub",
		"/opt/../srv":                     "/srv",
	} {
		if got, err := ExpandPath(in, getenv); err != nil || got != want {
			t.Errorf("ExpandPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"relative/dir", "$NOPE/x", "~user/x", "${NOPE}"} {
		if got, err := ExpandPath(in, getenv); err == nil {
			t.Errorf("ExpandPath(%q) = %q, want an error", in, got)
		}
	}
}

// testCage is a cage over a worktree in a temporary directory, with a
// "user's repository" beside it and a writable cache inside that.
type testCage struct {
	*Cage
	root, repo, outside, cache string
}

func newTestCage(t *testing.T, p Policy) *testCage {
	t.Helper()
	// A long path: a Unix socket's address holds 107 bytes.
	root := filepath.Join(t.TempDir(), strings.Repeat("long-", 20))
	tc := &testCage{root: root, repo: filepath.Join(root, "ws", "repo"), outside: filepath.Join(root, "outside"), cache: filepath.Join(root, "ws", "cache")}
	for _, d := range []string{tc.repo + "/.git", tc.outside, tc.cache, filepath.Join(root, "trees", "wt")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	wt := filepath.Join(root, "trees", "wt")
	// A writable path that holds the repository: the repository stays
	// read-only all the same.
	p.Writable = append(p.Writable, filepath.Join(root, "ws"))
	tc.Cage = &Cage{Policy: p, Dir: wt, Tmp: wt + ".tmp", State: wt + ".sandbox",
		Protected: []string{tc.repo}, Visible: []string{root, exe}, Helper: []string{exe, HelperCommand}}
	return tc
}

// run runs a shell script in the cage, as chant does (Within), and
// returns its output.
func (tc *testCage) run(t *testing.T, script string) (string, error) {
	t.Helper()
	return tc.runAs(t, script, true)
}

// runAs is run, and without Landlock when landlock is false.
func (tc *testCage) runAs(t *testing.T, script string, landlock bool) (string, error) {
	t.Helper()
	if err := tc.Prepare(); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	stop, err := tc.Relay(&log)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	args, err := tc.Args("", []string{"sh", "-c", script})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "WT="+tc.Dir, "REPO="+tc.repo, "OUTSIDE="+tc.outside)
	var out []byte
	err = tc.within(cmd, func() error {
		out, err = cmd.CombinedOutput()
		return err
	}, landlock)
	return string(out) + log.String(), err
}

func TestCageWrites(t *testing.T) {
	requireSandbox(t)
	tc := newTestCage(t, Policy{})
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/4242")
	t.Setenv("SSH_AUTH_SOCK", "/tmp/ssh-XXXX/agent.42")
	t.Setenv("KEPT", "kept")
	if err := os.WriteFile(filepath.Join(os.TempDir(), "chant-sandbox-host-tmp"), []byte("host"), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(filepath.Join(os.TempDir(), "chant-sandbox-host-tmp"))
	out, err := tc.run(t, `
		echo work > "$WT/work.txt" && echo worktree: ok
		echo x > "$OUTSIDE/evil" 2>/dev/null || echo outside: refused
		echo x > "$REPO/Makefile" 2>/dev/null || echo repository: refused
		echo x > "$REPO/.git/config" 2>/dev/null || echo git: refused
		echo x > "$REPO/../cache/c" && echo cache: ok
		echo x >> "$HOME/.gitconfig" 2>/dev/null || echo home: refused
		echo t > /tmp/t && [ "$TMPDIR" = /tmp ] && echo tmp: ok
		[ -e /tmp/chant-sandbox-host-tmp ] || echo host tmp: hidden
		[ -z "$(ls -A /run)" ] && echo run: empty
		[ "$(cat /proc/1/comm)" = bwrap ] || [ "$(ls /proc | grep -c '^[0-9]')" -lt 10 ] && echo pids: own
		sh -c 'unshare -U true' 2>/dev/null || echo userns: refused
		grep -Eq '^CapEff:[[:space:]]+0+$' /proc/self/status && grep -Eq '^CapBnd:[[:space:]]+0+$' /proc/self/status && echo caps: none
		[ -z "$XDG_RUNTIME_DIR$SSH_AUTH_SOCK" ] && echo hidden vars: unset
		[ "$KEPT" = kept ] && echo other vars: kept
	`)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"worktree: ok", "outside: refused", "repository: refused", "git: refused", "cache: ok",
		"home: refused", "tmp: ok", "host tmp: hidden", "run: empty", "pids: own", "userns: refused", "caps: none", "hidden vars: unset", "other vars: kept"} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if data, _ := os.ReadFile(filepath.Join(tc.Dir, "work.txt")); string(data) != "work\n" {
		t.Errorf("the worktree's file holds %q", data)
	}
	for _, p := range []string{filepath.Join(tc.outside, "evil"), filepath.Join(tc.repo, "Makefile"), filepath.Join(tc.repo, ".git", "config")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s was written", p)
		}
	}
	if _, err := os.Stat(filepath.Join(tc.Tmp, "t")); err != nil {
		t.Errorf("the cage's /tmp is not its Tmp: %v", err)
	}
	// The next command's /tmp starts empty.
	out, err = tc.run(t, `ls -A /tmp | grep -qx t && echo left || echo empty`)
	if err != nil || !strings.Contains(out, "empty") {
		t.Errorf("the cage's /tmp was not emptied: %v %s", err, out)
	}
}

func TestCageKillsWhatOutlivesIt(t *testing.T) {
	requireSandbox(t)
	tc := newTestCage(t, Policy{})
	start := time.Now()
	out, err := tc.run(t, `
		setsid sh -c 'sleep 1; echo late > "$WT/late"' </dev/null >/dev/null 2>&1 &
		nohup sh -c 'trap "" HUP TERM; sleep 1; echo late > "$WT/late2"' </dev/null >/dev/null 2>&1 &
		echo started`)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Fatalf("the cage waited for its command's children (%s)", d)
	}
	time.Sleep(1500 * time.Millisecond)
	for _, f := range []string{"late", "late2"} {
		if _, err := os.Stat(filepath.Join(tc.Dir, f)); err == nil {
			t.Errorf("a process left by the command wrote %s after it exited", f)
		}
	}
}

// A cage is empty when its command's run returns: bubblewrap itself
// returns as its command exits, while the cage's first process and what
// the command left are still being killed, and a survivor that writes
// without pause went on writing into the worktree chant was reading. (The
// command returns once its survivor has written: on a loaded machine a
// fixed pause could end before the survivor's first write.)
func TestCageIsEmptyWhenItsCommandReturns(t *testing.T) {
	requireSandbox(t)
	tc := newTestCage(t, Policy{})
	log := filepath.Join(tc.Dir, "log")
	for round := 0; round < 20; round++ {
		os.Remove(log)
		out, err := tc.run(t, `
			(trap "" HUP TERM; i=0; while :; do i=$((i+1)); echo $i >> "$WT/log"; done) </dev/null >/dev/null 2>&1 &
			until [ -s "$WT/log" ]; do sleep 0.01; done`)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if grew := stillWritten(t, log); grew != "" {
			t.Fatalf("round %d: a process the command left wrote after the cage's run returned (%s)", round, grew)
		}
	}
}

// stillWritten says how file grew over 20 ms ("" if it did not): what a
// survivor writing without pause would do.
func stillWritten(t *testing.T, file string) string {
	t.Helper()
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	after, err := os.Stat(file)
	switch {
	case err != nil:
		return fmt.Sprintf("%d bytes, then %v", fi.Size(), err)
	case after.Size() != fi.Size():
		return fmt.Sprintf("%d bytes, then %d", fi.Size(), after.Size())
	}
	return ""
}

// listen serves one line on a host loopback port and returns the port.
func listen(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "hello from %d\n", l.Addr().(*net.TCPAddr).Port)
			c.Close()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// fetch is a shell script that prints what a TCP port says, with bash's
// /dev/tcp, or "refused".
func fetch(host string, port int) string {
	return fmt.Sprintf(`(exec 3<>/dev/tcp/%s/%d && head -n1 <&3) 2>/dev/null || echo "%s:%d refused"`+"\n", host, port, host, port)
}

func TestCageNetwork(t *testing.T) {
	requireSandbox(t)
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("needs bash for /dev/tcp")
	}
	listed, unlisted := listen(t), listen(t)
	run := func(p Policy, script string) string {
		tc := newTestCage(t, p)
		out, err := tc.run(t, "exec bash -c '"+strings.ReplaceAll(script, "'", `'\''`)+"'")
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return out
	}
	out := run(Policy{}, fetch("127.0.0.1", listed))
	if !strings.Contains(out, fmt.Sprintf("hello from %d", listed)) {
		t.Errorf("network allow: %s", out)
	}
	out = run(Policy{Network: NetDeny}, fetch("127.0.0.1", listed))
	if !strings.Contains(out, "refused") {
		t.Errorf("network deny reached the host: %s", out)
	}
	hosts := []Endpoint{{Host: "127.0.0.1", Port: listed}, {Host: "localhost", Port: unlisted}}
	out = run(Policy{Network: NetList, Hosts: hosts[:1]},
		fetch("127.0.0.1", listed)+fetch("127.0.0.1", unlisted)+fetch("localhost", unlisted))
	if !strings.Contains(out, fmt.Sprintf("hello from %d", listed)) {
		t.Errorf("a listed endpoint was not reached: %s", out)
	}
	if strings.Contains(out, fmt.Sprintf("hello from %d", unlisted)) || strings.Count(out, "refused") != 2 {
		t.Errorf("an unlisted endpoint was reached: %s", out)
	}
	// A host name: the cage's /etc/hosts gives it a loopback address of
	// its own, and chant dials the name outside.
	out = run(Policy{Network: NetList, Hosts: hosts[1:]}, "getent hosts localhost; "+fetch("localhost", unlisted)+fetch("127.0.0.1", listed))
	if !strings.Contains(out, fmt.Sprintf("hello from %d", unlisted)) || !strings.Contains(out, "refused") {
		t.Errorf("by name: %s", out)
	}
}

func TestRelayRefusesWhatIsNotListed(t *testing.T) {
	dir := t.TempDir()
	c := &Cage{Policy: Policy{Network: NetList, Hosts: []Endpoint{{Host: "127.0.0.1", Port: listen(t)}}}, State: dir}
	var log bytes.Buffer
	stop, err := c.Relay(&log)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	for _, ask := range []string{"1\n", "-1\n", "x\n", "127.0.0.1:22\n"} {
		conn, err := net.Dial("unix", c.socket())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(conn, ask)
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := io.ReadAll(conn)
		conn.Close()
		if len(got) > 0 || err != nil && !errors.Is(err, io.EOF) {
			t.Errorf("asked %q: got %q, %v", ask, got, err)
		}
	}
	conn, err := net.Dial("unix", c.socket())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "0\n")
	got, _ := io.ReadAll(conn)
	conn.Close()
	if !strings.HasPrefix(string(got), "hello from") {
		t.Errorf("the listed endpoint: %q", got)
	}
}

func TestUnavailableSaysHow(t *testing.T) {
	err := unavailable(&exec.Error{Name: "bwrap", Err: exec.ErrNotFound})
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "apt-get install bubblewrap") {
		t.Errorf("without bwrap: %v", err)
	}
}

// What the cage sends after naming the endpoint reaches it whole, both
// ways (the relay reads the name a byte at a time).
func TestRelayCarriesBothWays(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		io.Copy(c, c) // echo
		c.Close()
	}()
	state := filepath.Join(t.TempDir(), strings.Repeat("long-", 25))
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	c := &Cage{Policy: Policy{Network: NetList, Hosts: []Endpoint{{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port}}}, State: state}
	stop, err := c.Relay(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	dir, err := os.Open(state) // the path is too long to dial by
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	conn, err := net.Dial("unix", fmt.Sprintf("/proc/self/fd/%d/relay.sock", dir.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	payload := strings.Repeat("POST /v1/messages HTTP/1.1\r\n", 1000)
	go func() {
		io.WriteString(conn, "0\n"+payload)
		conn.(*net.UnixConn).CloseWrite()
	}()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(conn)
	if err != nil || string(got) != payload {
		t.Errorf("echoed %d bytes (%v), sent %d; starts %.40q", len(got), err, len(payload), got)
	}
}

// Landlock, the layer the namespaces leave open with network: allow: an
// abstract Unix socket of the host, which a cage sharing the host's
// network reaches, is out of reach, and bubblewrap, started in the
// domain, still builds the cage.
func TestCageLandlock(t *testing.T) {
	requireSandbox(t)
	if ok, why := landlockState(); !ok {
		t.Skip(why)
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("needs python3 to connect to an abstract Unix socket")
	}
	name := hostAbstractSocket(t)
	script := fmt.Sprintf(`
		echo work > "$WT/work.txt" && echo worktree: ok
		echo x > "$OUTSIDE/evil" 2>/dev/null || echo outside: refused
		%s -c 'import socket; s = socket.socket(socket.AF_UNIX); s.connect("\0%s"); print("abstract:", s.recv(64).decode().strip())' 2>/dev/null || echo abstract: refused
	`, py, name)
	for _, lock := range []bool{false, true} {
		tc := newTestCage(t, Policy{})
		out, err := tc.runAs(t, script, lock)
		if err != nil {
			t.Fatalf("landlock %v: %v\n%s", lock, err, out)
		}
		for _, want := range []string{"worktree: ok", "outside: refused"} {
			if !strings.Contains(out, want+"\n") {
				t.Errorf("landlock %v: no %q in:\n%s", lock, want, out)
			}
		}
		abstract := map[bool]string{false: "abstract: host socket", true: "abstract: refused"}[lock]
		if !strings.Contains(out, abstract+"\n") {
			t.Errorf("landlock %v: no %q in:\n%s", lock, abstract, out)
		}
	}
}

// Within leaves chant itself out of the domain: the thread that started
// the cage ends with it, and the rest of the process still reaches the
// host's abstract sockets.
func TestWithinLeavesChantOut(t *testing.T) {
	if ok, why := landlockState(); !ok {
		t.Skip(why)
	}
	name := "@" + hostAbstractSocket(t)
	var inside error
	err := (&Cage{}).Within(exec.Command("true"), func() error {
		c, err := net.Dial("unix", name)
		if err == nil {
			c.Close()
		}
		inside = err
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if inside == nil {
		t.Error("the restricted thread reached the host's abstract socket")
	}
	for i := 0; i < 20; i++ { // on whatever threads the runtime picks
		c, err := net.Dial("unix", name)
		if err != nil {
			t.Fatalf("after Within, chant cannot reach the socket: %v", err)
		}
		c.Close()
	}
}

// Probe keeps its answer that a cage can be made, keyed by what decides
// it; a stale key is probed again, and bubblewrap refusing a cage drops
// it.
func TestProbeKeptAndRefused(t *testing.T) {
	requireSandbox(t)
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	forgetProbe()
	if err := Probe(); err != nil {
		t.Fatal(err)
	}
	kept, err := os.ReadFile(probeFile())
	if err != nil || string(kept) != probeKey() || !strings.Contains(string(kept), "boot ") {
		t.Fatalf("kept %q (%v), want the key %q", kept, err, probeKey())
	}
	if err := os.WriteFile(probeFile(), []byte("bwrap elsewhere\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	forgetProbeState()
	if err := Probe(); err != nil {
		t.Fatal(err)
	}
	if kept, _ := os.ReadFile(probeFile()); string(kept) != probeKey() {
		t.Fatalf("a stale answer was not probed again: %q", kept)
	}

	// The command's own failure is its own.
	out, err := exec.Command("sh", "-c", "echo 'bwrap: a command may say this'; exit 3").CombinedOutput()
	if Refused(string(out), err) != nil {
		t.Error("a command's status 3 taken for bubblewrap's refusal")
	}
	out, err = exec.Command("sh", "-c", "echo tests failed; exit 1").CombinedOutput()
	if Refused(string(out), err) != nil {
		t.Error("a command's failure taken for bubblewrap's refusal")
	}
	bwrap, _ := bwrapPath()
	out, err = exec.Command(bwrap, "--ro-bind", "/nonexistent-chant-test", "/x", "true").CombinedOutput()
	refused := Refused(string(out), err)
	if !errors.Is(refused, ErrUnavailable) || !strings.Contains(refused.Error(), "nonexistent-chant-test") {
		t.Fatalf("bubblewrap's refusal (%q, %v) gave %v", out, err, refused)
	}
	if _, err := os.Stat(probeFile()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the kept answer outlived a refusal: %v", err)
	}
}

// hostAbstractSocket listens on an abstract Unix socket of the host, which
// answers "host socket", until the test ends; it returns its name (without
// the leading @).
func hostAbstractSocket(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("chant-sandbox-test-%d", time.Now().UnixNano())
	l, err := net.Listen("unix", "@"+name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, "host socket\n")
			c.Close()
		}
	}()
	return name
}

// A cage's processes cannot give a file a second name, in the worktree or
// from elsewhere (which the mounts refuse anyway), however they ask: ln,
// and python's os.link when it is there. Anything else still works.
func TestCageRefusesHardLinks(t *testing.T) {
	requireSandbox(t)
	if !linksState() {
		t.Skip("no seccomp filter for hard links here")
	}
	tc := newTestCage(t, Policy{})
	script := `
		mkdir -p "$WT/a" "$WT/b" && echo one > "$WT/a/f" && echo write: ok
		ln "$WT/a/f" "$WT/b/l" 2>/dev/null && echo link: made || echo link: refused
		ln "$WT/a/f" "$WT/a/g" 2>/dev/null && echo same dir: made || echo same dir: refused
		ln -s ../a/f "$WT/b/s" && echo symlink: ok
		mv "$WT/a/f" "$WT/b/moved" && echo rename: ok
	`
	if py, err := exec.LookPath("python3"); err == nil {
		script += py + ` -c 'import os; os.link(os.environ["WT"] + "/b/moved", os.environ["WT"] + "/a/py")' 2>/dev/null && echo python: made || echo python: refused` + "\n"
	}
	out, err := tc.run(t, script)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := []string{"write: ok", "link: refused", "same dir: refused", "symlink: ok", "rename: ok"}
	if strings.Contains(script, "python") {
		want = append(want, "python: refused")
	}
	for _, w := range want {
		if !strings.Contains(out, w+"\n") {
			t.Errorf("no %q in:\n%s", w, out)
		}
	}
	if !(&Cage{}).BlocksLinks() || (*Cage)(nil).BlocksLinks() {
		t.Error("BlocksLinks: a cage here blocks links, no cage does not")
	}
	// chant itself still links.
	if err := os.Link(filepath.Join(tc.Dir, "b", "moved"), filepath.Join(tc.Dir, "b", "mine")); err != nil {
		t.Errorf("chant could not link after a cage: %v", err)
	}
}
