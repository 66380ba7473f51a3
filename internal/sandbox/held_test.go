package sandbox

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chant-run/chant/internal/procs"
)

// newHeldCage is a test cage whose commands share a held cage, ended with
// the test.
func newHeldCage(t *testing.T) *testCage {
	t.Helper()
	requireSandbox(t)
	tc := newTestCage(t, Policy{})
	tc.hold = &holdSlot{}
	if !tc.holdable() {
		t.Skip("no held cage here (its seccomp filter or /run is missing)")
	}
	t.Cleanup(tc.closeWait)
	return tc
}

// held runs a shell script as chant runs a phase's command (Run), with
// the test's environment and extra, and returns its output.
func (tc *testCage) held(t *testing.T, ctx context.Context, script string, extra ...string) (string, error) {
	t.Helper()
	env := append(os.Environ(), append([]string{"WT=" + tc.Dir}, extra...)...)
	cmd := procs.Command(ctx, tc.Dir, env, procs.NewMarker(), "sh", "-c", script)
	var out bytes.Buffer
	err := tc.Run(ctx, cmd, RunOptions{Out: &out, Log: &out})
	return out.String(), err
}

// keeperPid is the host's number of the held cage's keeper, 0 for none.
func (tc *testCage) keeperPid() int {
	tc.hold.mu.Lock()
	defer tc.hold.mu.Unlock()
	if tc.hold.h == nil {
		return 0
	}
	return tc.hold.h.cmd.Process.Pid
}

func TestHeldCageRunsCommandsInOne(t *testing.T) {
	tc := newHeldCage(t)
	ctx := context.Background()
	if out, err := tc.held(t, ctx, `echo one > "$WT/one"; echo said one`); err != nil || out != "said one\n" {
		t.Fatalf("%v %q", err, out)
	}
	first := tc.keeperPid()
	if first == 0 {
		t.Fatal("no held cage after a command")
	}
	out, err := tc.held(t, ctx, `cat "$WT/one"; exit 3`)
	if code, ok := ExitCode(err); !ok || code != 3 || out != "one\n" {
		t.Fatalf("the second command: %v %q", err, out)
	}
	if tc.keeperPid() != first {
		t.Fatal("the second command got a cage of its own")
	}
}

// Nothing of one command is left when the next starts: not a process
// that left its session, nor one that ignores every signal it can.
func TestHeldCageEndsWhatACommandLeft(t *testing.T) {
	tc := newHeldCage(t)
	ctx := context.Background()
	log := filepath.Join(tc.Dir, "log")
	out, err := tc.held(t, ctx, `
		setsid sh -c 'trap "" HUP TERM INT; while :; do echo x >> "$WT/log"; done' </dev/null >/dev/null 2>&1 &
		until [ -s "$WT/log" ]; do sleep 0.01; done`)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if grew := stillWritten(t, log); grew != "" {
		t.Fatalf("a process the command left wrote after its run returned (%s)", grew)
	}
	// The next command's cage holds its own processes, the keeper and
	// bubblewrap's reaper, nothing else.
	out, err = tc.held(t, ctx, `for p in /proc/[0-9]*; do echo "${p#/proc/}"; done`)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if n := len(strings.Fields(out)); n != 3 {
		t.Errorf("the next command's cage holds %d processes:\n%s", n, out)
	}
}

// The commands share their output FIFO and script file (makeHeldFiles):
// what one command's processes open of them is gone when the next runs,
// and the cage cannot change them.
func TestHeldCageCommandFilesAreEachCommands(t *testing.T) {
	tc := newHeldCage(t)
	ctx := context.Background()
	fifo, script := stateInside+"/"+heldOut, stateInside+"/"+heldScript
	out, err := tc.held(t, ctx, `
		setsid sh -c 'exec 7>`+fifo+`; while :; do echo INJECTED >&7; sleep 0.01; done' </dev/null >/dev/null 2>&1 &
		until [ -n "$(ls /proc/*/fd/7 2>/dev/null)" ]; do sleep 0.01; done
		echo > `+script+` 2>/dev/null && echo wrote the script
		rm -f `+fifo+` 2>/dev/null; [ -p `+fifo+` ] || echo removed the output
		echo first`)
	// Until the keeper ends it, what the survivor writes is the first
	// command's output.
	if err != nil || !strings.Contains(out, "first\n") || strings.Contains(out, "wrote") || strings.Contains(out, "removed") {
		t.Fatalf("the first command: %v %q", err, out)
	}
	for i := 0; i < 3; i++ {
		out, err := tc.held(t, ctx, `sleep 0.05; echo next`)
		if err != nil || out != "next\n" {
			t.Fatalf("command %d after the first: %v %q", i+2, err, out)
		}
	}
}

// A command cannot reach the keeper: not its memory, descriptors or
// environment, nor its limits.
func TestHeldCageKeeperOutOfReach(t *testing.T) {
	tc := newHeldCage(t)
	ctx := context.Background()
	out, err := tc.held(t, ctx, `
		head -c1 /proc/2/mem >/dev/null 2>&1 && echo READ-MEM
		cat /proc/2/environ >/dev/null 2>&1 && echo READ-ENV
		readlink /proc/2/fd/0 >/dev/null 2>&1 && echo READ-FD
		echo x 2>/dev/null > /proc/2/fd/1 && echo WROTE-FD
		prlimit --pid 2 --nofile=5:5 2>/dev/null && echo LIMITED
		echo done`)
	if err != nil || out != "done\n" {
		t.Fatalf("%v: %q", err, out)
	}
	out, err = tc.held(t, ctx, `ulimit -n`)
	if err != nil || strings.TrimSpace(out) == "5" {
		t.Fatalf("the next command runs with the limits a command set: %v %q", err, out)
	}
}

// A command that kills the keeper ends its own cage: it fails, and the
// next command gets a cage of its own.
func TestHeldCageKeeperKilled(t *testing.T) {
	tc := newHeldCage(t)
	ctx := context.Background()
	if _, err := tc.held(t, ctx, `true`); err != nil {
		t.Fatal(err)
	}
	first := tc.keeperPid()
	out, err := tc.held(t, ctx, `kill -9 2; sleep 5; echo survived`)
	if err == nil || strings.Contains(out, "survived") {
		t.Fatalf("a command that killed the keeper went on: %v %q", err, out)
	}
	out, err = tc.held(t, ctx, `echo next`)
	if err != nil || out != "next\n" {
		t.Fatalf("%v %q", err, out)
	}
	if tc.keeperPid() == first {
		t.Fatal("the next command ran in the ended cage")
	}
}

// What a command leaves in /tmp is gone for the next; what it leaves in
// /dev/shm spends the cage; /dev and /run are read-only.
func TestHeldCageLeavesNothingBehind(t *testing.T) {
	tc := newHeldCage(t)
	ctx := context.Background()
	out, err := tc.held(t, ctx, `
		echo x > /tmp/left && mkdir /tmp/dir && echo y > /tmp/dir/f
		touch /dev/planted 2>/dev/null && echo DEV-WRITABLE
		touch /run/planted 2>/dev/null && echo RUN-WRITABLE
		echo done`)
	if err != nil || out != "done\n" {
		t.Fatalf("%v %q", err, out)
	}
	first := tc.keeperPid()
	out, err = tc.held(t, ctx, `ls -A /tmp; echo z > /dev/shm/left; echo done`)
	if err != nil || strings.Contains(out, "left") || strings.Contains(out, "dir") {
		t.Fatalf("the next command found what the last left in /tmp: %v %q", err, out)
	}
	if tc.keeperPid() != 0 {
		t.Fatal("a cage with something left in /dev/shm was kept")
	}
	out, err = tc.held(t, ctx, `ls -A /dev/shm; echo done`)
	if err != nil || out != "done\n" || tc.keeperPid() == first {
		t.Fatalf("%v %q", err, out)
	}
}

// Each command has its own environment, directory and input.
func TestHeldCageEnvironment(t *testing.T) {
	tc := newHeldCage(t)
	ctx := context.Background()
	if _, err := tc.held(t, ctx, `true`, "ONLY_FIRST=1", "ODD=it's a \"value\"\nwith a line"); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(tc.Dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "WT="+tc.Dir, "ODD=$(touch /tmp/x) 'q'")
	cmd := procs.Command(ctx, sub, env, "m", "sh", "-c", `echo "${ONLY_FIRST-unset} [$ODD] $PWD $(pwd)"; cat`)
	cmd.Stdin = strings.NewReader("from stdin\n")
	var out bytes.Buffer
	if err := tc.Run(ctx, cmd, RunOptions{Out: &out}); err != nil {
		t.Fatalf("%v %q", err, out.String())
	}
	want := "unset [$(touch /tmp/x) 'q'] " + sub + " " + sub + "\nfrom stdin\n"
	if out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
}

// A command whose context ends is killed with its cage; the next gets one
// of its own.
func TestHeldCageContextEnds(t *testing.T) {
	tc := newHeldCage(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := tc.held(t, ctx, `sleep 30`); err == nil {
		t.Fatal("a command killed at its context's end succeeded")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("the command ran on for %s", d)
	}
	out, err := tc.held(t, context.Background(), `echo next`)
	if err != nil || out != "next\n" {
		t.Fatalf("%v %q", err, out)
	}
}

// A command that moves the directory its worktree is mounted in (inside
// /tmp) and makes another in its place does not have the next command
// run in what it made.
func TestHeldCageMovedMount(t *testing.T) {
	tc := newHeldCage(t)
	if !strings.HasPrefix(tc.Dir, "/tmp/") {
		t.Skip("the worktree is not in /tmp")
	}
	ctx := context.Background()
	top := "/tmp/" + strings.SplitN(strings.TrimPrefix(tc.Dir, "/tmp/"), "/", 2)[0]
	out, err := tc.held(t, ctx, `mv "`+top+`" /tmp/moved && mkdir -p "$WT" && echo fake > "$WT/planted" && echo moved`)
	if err != nil || out != "moved\n" {
		t.Fatalf("%v %q", err, out)
	}
	out, err = tc.held(t, ctx, `ls -A "$WT"`)
	if err != nil || strings.Contains(out, "planted") {
		t.Fatalf("the next command ran in what the last made: %v %q", err, out)
	}
}

// A cage warmed ahead is the one the first command runs in, with the
// command's own environment.
func TestHeldCageWarmed(t *testing.T) {
	tc := newHeldCage(t)
	tc.Warm()
	tc.hold.settled()
	warmed := tc.keeperPid()
	if warmed == 0 {
		t.Fatal("Warm made no cage")
	}
	out, err := tc.held(t, context.Background(), `echo "$WT $ONLY_HERE"`, "ONLY_HERE=yes")
	if err != nil || out != tc.Dir+" yes\n" {
		t.Fatalf("%v %q", err, out)
	}
	if tc.keeperPid() != warmed {
		t.Fatal("the first command did not run in the warmed cage")
	}
}
