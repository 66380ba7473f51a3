package sandbox

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/chant-run/chant/internal/procs"
	"github.com/chant-run/chant/internal/textsafe"
)

// A held cage: the commands of one phase (isolation.setup, the agent, each
// check) run one after another in one cage rather than each in a cage of
// its own, since a start of bubblewrap is most of what the sandbox costs a
// phase. What a cage of its own gave each command, the held cage gives
// too:
//
//   - Nothing of one command runs when the next starts. The cage's keeper
//     (its second process; bubblewrap's reaper is the first) runs each
//     command, and once it has exited kills every other process in the
//     namespace with kill(-1), which the kernel applies to all of them at
//     once (no fork escapes it), then waits until none is left, before it
//     answers chant.
//   - The keeper is out of the commands' reach. It runs a copy of the
//     shell that the cage may execute but not read, so the kernel makes it
//     undumpable: no ptrace of it, nor its /proc/<pid>/mem or fd. The
//     seccomp filter refuses setting its limits (links_linux.go). A
//     command that kills the keeper or stops it ends or stalls its own
//     cage, never another's: the next command gets a cage of its own.
//   - /tmp is emptied by chant between commands (but for the mount points
//     bubblewrap made there, checked to be the same); /dev and /run are
//     read-only in every cage; anything a command leaves in /dev/shm or
//     /dev/mqueue spends the cage, and the next command gets a new one.
//     What is not cleared: System V IPC objects (data, which a command
//     reads only if its code looks for them, as it could a file the
//     agent wrote in the worktree or a writable cache); reading
//     /proc/sysvipc costs the shell a read a byte.
//   - Each command's environment, directory and input are its own (a
//     script chant writes into State, which the cage reads), and so is
//     its output: a FIFO in State that chant opens for the command, which
//     nothing of the command before it holds open any more (see
//     makeHeldFiles).
//
// A cage is held only where all of that holds (holdable).

const (
	// keeperFD is the descriptor of the shell the keeper runs, copied into
	// the cage: the second of the keeper's ExtraFiles.
	keeperFD = infoFD + 1
	// keeperPath is where the cage has it: execute-only, in the read-only
	// /run.
	keeperPath = "/run/chant-keeper"
)

// keeperScript is the keeper, run by the shell at keeperPath with State as
// the cage sees it for $1. It says "ready", then, for each line "run"
// chant writes, runs the command's script (heldScript in State) in a
// subshell, ends whatever is left, and answers the exit status, with
// " spent" when the cage holds what a command left behind and ends.
const keeperScript = `IFS='
'
exec 3>&- 4>&-
echo ready
while read -r n; do
	case $n in run) ;; *) exit 2 ;; esac
	( . "$1/` + heldScript + `" )
	s=$?
	kill -KILL -1 2>/dev/null
	while kill -0 -1 2>/dev/null; do :; done
	left=
	for f in /dev/shm/* /dev/shm/.[!.]* /dev/shm/..?* /dev/mqueue/* /dev/mqueue/.[!.]* /dev/mqueue/..?*; do
		if [ -e "$f" ] || [ -h "$f" ]; then left=1; fi
	done
	if [ -n "$left" ]; then
		echo "$s spent"
		exit 0
	fi
	echo "$s"
done
`

// holdSlot is a cage's held cage, if it has one now.
type holdSlot struct {
	mu      sync.Mutex
	h       *held
	warming chan struct{} // closed once Warm's start has ended
}

// held is a running held cage.
type held struct {
	view     []string
	dir, tmp fileStamp            // what its worktree and /tmp were bound from
	mounts   map[string]fileStamp // what it mounts in its /tmp, by path in Tmp
	env      map[string]string    // its keeper's environment, as the cage set it
	cmd      *exec.Cmd            // bubblewrap
	ctl      *os.File             // the keeper's input
	replies  chan string          // the keeper's lines; closed at its end
	stderr   *cappedText          // what bubblewrap and the keeper said
	done     chan struct{}        // closed when bubblewrap has ended, with
	endErr   error                // its error
	first    *firstProcess
	closed   bool
}

// ExitError is how a command in a held cage ended: its exit status, or
// 128 and the number of the signal that ended it, as a shell says.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return "exit status " + strconv.Itoa(e.Code) }

// ExitCode returns the exit status of a command that ran and ended (in a
// cage or not), and false for any other error.
func ExitCode(err error) (int, bool) {
	var exit *exec.ExitError
	var held *ExitError
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode(), true
	case errors.As(err, &held):
		return held.Code, true
	}
	return 0, false
}

// errNotHeld means a command cannot run in a held cage: it gets one of its
// own.
var errNotHeld = errors.New("sandbox: not for a held cage")

// holdable reports whether this cage's commands can share one cage: the
// seccomp filter that keeps them off the keeper, a /run to put the keeper
// in, and no network list (whose relay is each cage's first command).
func (c *Cage) holdable() bool {
	return c.hold != nil && c.Network != NetList && linksState() && hasRun()
}

// RunOptions says where a command's output goes and whom to tell it
// started.
type RunOptions struct {
	Marker  string    // its marker (procs), for a command that is not caged
	Out     io.Writer // its output and errors
	Log     io.Writer // what the relay of a network list says
	Started func(pgid int)
}

// Run runs cmd, made by procs.Command (its arguments the command itself),
// in the cage and waits for it and for everything it started to end, as
// procs.Run does; ctx is cmd's, and its end kills the command. With no
// cage, cmd runs as it is.
func (c *Cage) Run(ctx context.Context, cmd *exec.Cmd, o RunOptions) error {
	if c == nil {
		return procs.Run(cmd, o.Marker, o.Out, o.Started)
	}
	if c.holdable() {
		if err := c.runHeld(ctx, cmd, o); !errors.Is(err, errNotHeld) {
			return err
		}
		// One cage at a time: the next held command starts another.
		c.Close()
	}
	argv, release, err := c.Command(cmd.Dir, cmd.Args, o.Log)
	if err != nil {
		return err
	}
	defer release()
	cmd.Path, cmd.Args, cmd.Err = argv[0], argv, nil
	return c.Within(cmd, func() error { return procs.Run(cmd, "", o.Out, o.Started) })
}

// Close ends the cage's held cage, if it has one (a nil cage has none),
// without waiting for its end: what is left in it is its keeper and
// bubblewrap's reaper, idle, whose end is the namespaces' teardown.
func (c *Cage) Close() {
	if h := c.release(); h != nil {
		go h.close()
	}
}

// closeWait is Close, and waits until the held cage has ended.
func (c *Cage) closeWait() {
	if h := c.release(); h != nil {
		h.close()
	}
}

// Warm starts the cage's held cage in the background, so that its first
// command finds it made; that command starts one itself if this one could
// not be.
func (c *Cage) Warm() {
	if c == nil || !c.holdable() {
		return
	}
	s := c.hold
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h != nil || s.warming != nil {
		return
	}
	done := make(chan struct{})
	s.warming = done
	// The environment chant's commands start from (procs.Command).
	env := procs.Command(context.Background(), c.Dir, nil, "", "true").Env
	go func() {
		var h *held
		if view, err := c.view(true); err == nil && c.Prepare() == nil {
			h, _ = c.startHeld(view, env, cagedEnv(env))
		}
		s.mu.Lock()
		s.h, s.warming = h, nil
		s.mu.Unlock()
		close(done)
	}()
}

// settled waits until no Warm is under way.
func (s *holdSlot) settled() {
	s.mu.Lock()
	w := s.warming
	s.mu.Unlock()
	if w != nil {
		<-w
	}
}

// release takes the held cage from its slot.
func (c *Cage) release() *held {
	if c == nil || c.hold == nil {
		return nil
	}
	c.hold.settled()
	c.hold.mu.Lock()
	defer c.hold.mu.Unlock()
	h := c.hold.h
	c.hold.h = nil
	return h
}

func (c *Cage) runHeld(ctx context.Context, cmd *exec.Cmd, o RunOptions) error {
	if len(cmd.Args) == 0 || strings.Contains(cmd.Args[0], "/") {
		// A program named by its path needs its directory seen: a view
		// of its own (Command).
		return errNotHeld
	}
	s := c.hold
	s.settled()
	s.mu.Lock()
	defer s.mu.Unlock()
	view, err := c.view(true)
	if err != nil {
		return err
	}
	env := cagedEnv(cmd.Env)
	if h := s.h; h != nil && (!slices.Equal(h.view, view) || !sameFile(h.dir, c.Dir) || !sameFile(h.tmp, c.Tmp) || !h.emptyTmp(c.Tmp)) {
		// The cage's mounts are no longer what this command's would be.
		h.close()
		s.h = nil
	}
	if s.h == nil {
		if err := c.Prepare(); err != nil {
			return err
		}
		h, err := c.startHeld(view, cmd.Env, env)
		if err != nil {
			return err
		}
		s.h = h
	}
	h := s.h
	in := "/dev/null"
	if cmd.Stdin != nil {
		in = stateInside + "/" + heldIn
	}
	script, ok := commandScript(h.env, env, cmd.Dir, cmd.Args, in, stateInside+"/"+heldOut)
	if !ok {
		h.close()
		s.h = nil
		return errNotHeld
	}
	err = h.run(ctx, c.State, script, cmd.Stdin, o)
	if h.closed {
		s.h = nil
	}
	return err
}

// A held cage's command files, in State, made anew by each held cage
// before it starts and rewritten in place for each command (making a file
// costs a few hundred microseconds on some file systems; rewriting one,
// tens): the command's script, its output (a FIFO) and its input. Reusing
// them is safe: the cage sees State read-only, and when the keeper
// answers, nothing that could have opened them is left.
const (
	heldScript = "cmd"
	heldOut    = "out"
	heldIn     = "in"
)

// makeHeldFiles makes the command files of a held cage about to start in
// state: new files, so that whatever another cage held open of the last
// ones is not them.
func makeHeldFiles(state string) error {
	for _, name := range []string{heldScript, heldOut, heldIn} {
		if err := os.Remove(filepath.Join(state, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if err := mkfifo(filepath.Join(state, heldOut)); err != nil {
		return err
	}
	for _, name := range []string{heldScript, heldIn} {
		if err := os.WriteFile(filepath.Join(state, name), nil, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// startHeld starts a held cage whose keeper has environment env (caged:
// as the cage sets it).
func (c *Cage) startHeld(view, env []string, caged map[string]string) (*held, error) {
	dir, err := stampOf(c.Dir)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	tmp, err := stampOf(c.Tmp)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	shPath, err := exec.LookPath("sh")
	if err != nil {
		return nil, fmt.Errorf("sandbox: the keeper's shell: %w", err)
	}
	sh, err := os.Open(shPath)
	if err != nil {
		return nil, fmt.Errorf("sandbox: the keeper's shell: %w", err)
	}
	defer sh.Close()
	if err := makeHeldFiles(c.State); err != nil {
		return nil, fmt.Errorf("sandbox: the cage's command files: %w", err)
	}
	args := append(slices.Clone(view), "--chdir", c.Dir, "--", keeperPath, "-c", keeperScript, "chant-keeper", stateInside)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env, cmd.Dir = env, c.Dir
	// Its own process group, whose kill ends the cage; and it dies with
	// the thread that started it (see Within).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	ctlR, ctlW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	repR, repW, err := os.Pipe()
	if err != nil {
		ctlR.Close()
		ctlW.Close()
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	// The cage's ends, ours closed once it has them (or has failed).
	defer ctlR.Close()
	defer repW.Close()
	h := &held{view: view, dir: dir, tmp: tmp, env: caged, cmd: cmd, ctl: ctlW, replies: make(chan string),
		stderr: &cappedText{max: 4 << 10}, done: make(chan struct{})}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = ctlR, repW, h.stderr
	if h.first, err = watchFirst(cmd); err != nil {
		ctlW.Close()
		repR.Close()
		return nil, err
	}
	cmd.ExtraFiles = append(cmd.ExtraFiles, sh)
	err = h.start()
	ctlR.Close()
	repW.Close()
	if err != nil {
		ctlW.Close()
		repR.Close()
		h.first.wait()
		return nil, fmt.Errorf("sandbox: start the cage: %w", err)
	}
	go h.read(repR)
	if line, ok := <-h.replies; !ok || line != "ready" {
		h.close()
		if refused := Refused(h.stderr.String(), h.endErr); refused != nil {
			return nil, refused
		}
		return nil, fmt.Errorf("sandbox: the cage did not start (%v): %s", h.endErr, oneLine(h.stderr.String()))
	}
	// bubblewrap has made its mount points in Tmp.
	h.mounts = map[string]fileStamp{}
	for _, rel := range tmpMounts(view) {
		fi, err := stampOf(filepath.Join(c.Tmp, rel))
		if err != nil {
			h.close()
			return nil, fmt.Errorf("sandbox: the cage's mount point %s: %w", rel, err)
		}
		h.mounts[rel] = fi
	}
	return h, nil
}

// tmpMounts are the paths a cage with this view mounts on in Tmp,
// relative to it: those inside its /tmp but for those inside another of
// them (their mount points are in what is mounted there).
func tmpMounts(view []string) []string {
	var all []string
	for i := 0; i+2 < len(view); i++ {
		switch view[i] {
		case "--bind", "--ro-bind", "--ro-bind-try":
			if rel, ok := strings.CutPrefix(view[i+2], "/tmp/"); ok {
				all = append(all, rel)
			}
			i += 2
		}
	}
	var out []string
	for _, p := range all {
		if !slices.ContainsFunc(all, func(q string) bool { return strings.HasPrefix(p, q+"/") }) {
			out = append(out, p)
		}
	}
	return out
}

// emptyTmp empties the cage's /tmp for its next command, but for its
// mount points (bubblewrap made them in Tmp: removed, the paths mounted
// there would be gone from the cage), and reports whether they are still
// the ones bubblewrap made. A command may have moved a directory that
// holds one and made another in its place, whose contents would then
// stand for the mounted path.
func (h *held) emptyTmp(tmp string) bool {
	keep := make([]string, 0, len(h.mounts))
	for rel := range h.mounts {
		keep = append(keep, rel)
	}
	if emptyBut(tmp, keep) != nil {
		return false
	}
	for rel, fi := range h.mounts {
		if !sameFile(fi, filepath.Join(tmp, rel)) {
			return false
		}
	}
	return true
}

// emptyBut removes what dir holds but the paths keep (relative to dir)
// and the directories that lead to them.
func emptyBut(dir string, keep []string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		kept, inside := false, []string(nil)
		for _, k := range keep {
			if k == name {
				kept = true
			} else if rest, ok := strings.CutPrefix(k, name+"/"); ok {
				inside = append(inside, rest)
			}
		}
		switch {
		case kept:
		case len(inside) > 0 && e.IsDir():
			err = emptyBut(filepath.Join(dir, name), inside)
		default:
			err = os.RemoveAll(filepath.Join(dir, name))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// start starts bubblewrap on a cage thread (onCageThread), which waits
// for its end and then closes done.
func (h *held) start() error {
	started := make(chan error, 1)
	go func() {
		ran := false
		err := onCageThread(true, func() error {
			ran = true
			err := h.cmd.Start()
			started <- err
			if err != nil {
				return err
			}
			return h.cmd.Wait()
		})
		if !ran {
			started <- err
		}
		h.endErr = err
		close(h.done)
	}()
	return <-started
}

// read passes on the keeper's lines until its end.
func (h *held) read(r *os.File) {
	defer r.Close()
	defer close(h.replies)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		h.replies <- sc.Text()
	}
}

// run runs one command, its script and input written to the cage's
// command files in state, and waits for the keeper's answer.
func (h *held) run(ctx context.Context, state, script string, stdin io.Reader, o RunOptions) error {
	if stdin != nil {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return fmt.Errorf("sandbox: the command's input: %w", err)
		}
		in := filepath.Join(state, heldIn)
		if err := os.WriteFile(in, b, 0o600); err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
		// Not left for the next command to read.
		defer os.Truncate(in, 0)
	}
	if err := os.WriteFile(filepath.Join(state, heldScript), []byte(script), 0o600); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	out, keep, err := openFIFO(filepath.Join(state, heldOut))
	if err != nil {
		return fmt.Errorf("sandbox: the command's output: %w", err)
	}
	copied := make(chan struct{})
	go func() {
		io.Copy(o.Out, out)
		close(copied)
	}()
	var line string
	ok := false
	if _, err := fmt.Fprintln(h.ctl, "run"); err == nil {
		if o.Started != nil {
			o.Started(h.cmd.Process.Pid)
		}
		select {
		case line, ok = <-h.replies:
		case <-ctx.Done():
			h.kill()
			for range h.replies {
			}
		}
	}
	// Every writer in the cage has ended: the output ends with chant's.
	keep.Close()
	select {
	case <-copied:
	case <-time.After(2 * time.Second):
		out.Close()
		<-copied
	}
	out.Close()
	if !ok {
		h.close()
		if ctx.Err() != nil {
			return fmt.Errorf("sandbox: the command was killed: %w", ctx.Err())
		}
		return fmt.Errorf("sandbox: the cage ended before its command did (its keeper was killed)%s", lastWordsOf(h.stderr.String()))
	}
	status, spent := strings.CutSuffix(line, " spent")
	if spent {
		h.close()
	}
	code, err := strconv.Atoi(status)
	switch {
	case err != nil:
		h.close()
		return fmt.Errorf("sandbox: the cage's keeper said %q", line)
	case code != 0:
		return &ExitError{Code: code}
	}
	return nil
}

// kill ends the cage at once.
func (h *held) kill() {
	syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL)
}

// close ends the cage (its keeper's input closed, or, if it does not end
// within a second, killed) and waits until nothing is left in it.
func (h *held) close() {
	if h.closed {
		return
	}
	h.closed = true
	h.ctl.Close()
	select {
	case <-h.done:
	case <-time.After(time.Second):
		h.kill()
		<-h.done
	}
	h.first.wait()
	for range h.replies {
	}
}

// cagedEnv is env as the cage sets it for its command (see view).
func cagedEnv(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	m["TMPDIR"] = "/tmp"
	for _, v := range hiddenVars() {
		delete(m, v)
	}
	return m
}

// shellName reports whether s is a name the shell's export and unset
// take.
func shellName(s string) bool {
	for i, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

// commandScript is the script that makes a command's environment env out
// of the keeper's, starts it in dir, reading in and writing out, and runs
// argv; false if env differs in a variable the shell cannot name. PWD,
// OLDPWD and IFS, which the shell itself sets, are set always.
func commandScript(keeper, env map[string]string, dir string, argv []string, in, out string) (string, bool) {
	var b strings.Builder
	fmt.Fprintf(&b, "exec <%s >%s 2>&1\ncd %s || exit 1\n", textsafe.ShellQuote(in), textsafe.ShellQuote(out), textsafe.ShellQuote(dir))
	names := make([]string, 0, len(keeper)+len(env))
	for k := range keeper {
		names = append(names, k)
	}
	for k := range env {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range slices.Compact(names) {
		v, in := env[k]
		was, had := keeper[k]
		if in == had && v == was && k != "PWD" && k != "OLDPWD" && k != "IFS" {
			continue
		}
		if !shellName(k) {
			return "", false
		}
		if in {
			fmt.Fprintf(&b, "export %s=%s\n", k, textsafe.ShellQuote(v))
		} else {
			fmt.Fprintf(&b, "unset -v %s\n", k)
		}
	}
	b.WriteString("exec")
	for _, a := range argv {
		b.WriteString(" " + textsafe.ShellQuote(a))
	}
	b.WriteString("\n")
	return b.String(), true
}

// openFIFO opens the FIFO at path to read, and to write (keep): the reads
// end once keep and every other writer are closed.
func openFIFO(path string) (out, keep *os.File, err error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	out = os.NewFile(uintptr(fd), path)
	keep, err = os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		out.Close()
		return nil, nil, err
	}
	return out, keep, nil
}

// emptyDir removes what dir holds, and keeps dir (a held cage has it
// mounted).
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// sameFile reports whether path is still the file fi was of: the same
// inode, born at the same time where the file system says (an inode's
// number is soon used again).
func sameFile(fi fileStamp, path string) bool {
	now, err := stampOf(path)
	return err == nil && now == fi
}

// cappedText keeps the first max bytes written to it, for reading while
// it is written.
type cappedText struct {
	mu  sync.Mutex
	b   strings.Builder
	max int
}

func (c *cappedText) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.max - c.b.Len(); room > 0 {
		c.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (c *cappedText) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b.String()
}

// lastWordsOf is ": " and the last line of what bubblewrap or the keeper
// said, or "".
func lastWordsOf(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if s == "" {
		return ""
	}
	return ": " + oneLine(s)
}
