package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chant-run/chant/internal/testgit"
)

var (
	failpointOnce sync.Once
	failpointBin  string
	failpointErr  error
)

// failpointBinary builds chant with -tags failpoint: it kills itself with
// SIGKILL at the point CHANT_FAILPOINT names.
func failpointBinary(t *testing.T) string {
	t.Helper()
	requireChant(t)
	failpointOnce.Do(func() {
		failpointBin = filepath.Join(testDir, "chant-failpoint")
		out, err := exec.Command("go", "build", "-tags", "failpoint", "-o", failpointBin, ".").CombinedOutput()
		if err != nil {
			failpointErr = errors.New(string(out))
		}
	})
	if failpointErr != nil {
		t.Fatalf("building chant with failpoints: %v", failpointErr)
	}
	return failpointBin
}

// A decision killed half-way (kill -9 at each point of its commit) is
// either committed, and then the next chant command brings the working tree
// along, or absent, and then it can be made again.
func TestDecisionKilledHalfWayIsCommittedOrAbsent(t *testing.T) {
	requireChant(t)
	bin := failpointBinary(t)
	for _, tc := range []struct {
		point     string
		committed bool
	}{
		{"land-before-ref", false},
		{"land-after-ref", true},
		{"land-after-files", true},
	} {
		t.Run(tc.point, func(t *testing.T) {
			dir := testgit.Repo(t, map[string]string{
				".chant/config.md":  "---\nproject: {name: crash}\n---\n",
				".chant/specs/g.md": "---\napproval:\n  required: true\n  status: pending\n---\n# Gate\n",
			})
			head := testgit.Git(t, dir, "rev-parse", "HEAD")
			before, _ := os.ReadFile(filepath.Join(dir, ".chant", "specs", "g.md"))
			cmd := exec.Command(bin, "-C", dir, "approve", "g", "--by", "Reviewer")
			cmd.Env = append(os.Environ(), "CHANT_FAILPOINT="+tc.point)
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("approve was not killed at %s: %v", tc.point, err)
			}
			moved := testgit.Git(t, dir, "rev-parse", "HEAD") != head
			if moved != tc.committed {
				t.Fatalf("killed at %s: branch moved = %v", tc.point, moved)
			}
			_, errOut, code := chant(t, "-C", dir, "approve", "g", "--by", "Reviewer")
			after, _ := os.ReadFile(filepath.Join(dir, ".chant", "specs", "g.md"))
			if tc.committed {
				// Committed: the next command finishes it, and it stands.
				if code != 2 || !strings.Contains(errOut, "already decided") {
					t.Errorf("approving again: exit %d, %s", code, errOut)
				}
			} else {
				// Absent: nothing was written, and it can be made again.
				if code != 0 {
					t.Errorf("approving again: exit %d, %s", code, errOut)
				}
				if n := testgit.Git(t, dir, "rev-list", "--count", "HEAD"); n != "2" {
					t.Errorf("%s commits, want 2", n)
				}
			}
			if !strings.Contains(string(after), "status: approved") || string(after) == string(before) {
				t.Errorf("the spec after all:\n%s", after)
			}
			if got := testgit.Git(t, dir, "show", "HEAD:.chant/specs/g.md"); got != strings.TrimRight(string(after), "\n") {
				t.Errorf("working tree and HEAD disagree:\n%s\n---\n%s", after, got)
			}
			if st := testgit.Git(t, dir, "status", "--porcelain"); st != "" {
				t.Errorf("git status: %s", st)
			}
			testgit.Git(t, dir, "fsck", "--strict")
		})
	}
}

// A signal always ends a command, even one stuck where it cannot notice
// (here, stalled right after moving the branch): it exits a few seconds
// later, and the next run finishes what it left.
func TestSignalAlwaysEndsACommand(t *testing.T) {
	requireChant(t)
	bin := failpointBinary(t)
	dir := killPipeline(t)
	head := testgit.Git(t, dir, "rev-parse", "HEAD")
	cmd := exec.Command(bin, "-C", dir, "run")
	cmd.Env = append(os.Environ(), "CHANT_FAILPOINT=stall:land-after-ref")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for testgit.Git(t, dir, "rev-parse", "HEAD") == head {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the run never reached its first landing")
		}
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 128+int(syscall.SIGTERM) {
			t.Errorf("exit: %v", err)
		}
		t.Logf("ended %s after SIGTERM", time.Since(start).Round(time.Millisecond))
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("SIGTERM did not end the command")
	}
	if out, errOut, code := chant(t, "-C", dir, "run"); code != 0 || !strings.Contains(out, "Repaired: finished an interrupted commit") {
		t.Fatalf("the next run: exit %d\n%s%s", code, out, errOut)
	}
	if st := testgit.Git(t, dir, "status", "--porcelain"); st != "" {
		t.Errorf("git status: %s", st)
	}
	testgit.Git(t, dir, "fsck", "--strict")
}
