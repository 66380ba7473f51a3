package procs

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(stat)
	return !strings.Contains(s[strings.LastIndexByte(s, ')'):], ") Z")
}

// leaveTwo runs a command (marked) that leaves two processes behind: one
// in its process group, the other in a new session. It returns the
// command and their PIDs.
func leaveTwo(t *testing.T, marker string) (*exec.Cmd, []int) {
	t.Helper()
	pids := filepath.Join(t.TempDir(), "pids")
	cmd := Command(context.Background(), "", nil, marker, "sh", "-c", `
		sleep 60 & echo $! >> "$1"
		setsid sh -c 'echo $$ >> "$1"; exec sleep 60' sh "$1" &
		sleep 0.3`, "sh", pids)
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(pids)
	var left []int
	for _, f := range strings.Fields(string(data)) {
		pid, _ := strconv.Atoi(f)
		left = append(left, pid)
	}
	return cmd, left
}

// A command that leaves processes behind, one of them in a new session
// (out of its process group): KillAll ends them all.
func TestKillAllEndsWhatACommandLeftBehind(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("finds processes through /proc")
	}
	marker := NewMarker()
	cmd, left := leaveTwo(t, marker)
	if len(left) != 2 || !alive(left[0]) || !alive(left[1]) {
		t.Fatalf("the command did not leave two live processes: %v", left)
	}
	if got := Marked(marker); len(got) != 2 {
		t.Fatalf("Marked = %v, want the 2 left behind", got)
	}
	if n := KillAll(cmd.Process.Pid, marker); n < 2 {
		t.Errorf("KillAll killed %d", n)
	}
	deadline := time.Now().Add(3 * time.Second)
	for _, pid := range left {
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if alive(pid) {
			t.Errorf("process %d survived", pid)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// With no marker (a caged command, whose PID namespace the kernel empties)
// KillAll ends the group and looks no further.
func TestKillAllWithoutMarkerEndsTheGroupAlone(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("finds processes through /proc")
	}
	cmd, left := leaveTwo(t, NewMarker())
	if len(left) != 2 {
		t.Fatalf("the command did not leave two processes: %v", left)
	}
	defer syscall.Kill(left[1], syscall.SIGKILL)
	if n := KillAll(cmd.Process.Pid, ""); n != 0 {
		t.Errorf("KillAll found %d marked processes, with no marker", n)
	}
	deadline := time.Now().Add(3 * time.Second)
	for alive(left[0]) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if alive(left[0]) {
		t.Errorf("process %d of the group survived", left[0])
	}
	if !alive(left[1]) {
		t.Errorf("process %d, out of the group, was killed: KillAll looked for it", left[1])
	}
}

func TestCommandDropsGitsRedirectionsAndSetsPWD(t *testing.T) {
	cmd := Command(context.Background(), "/work/tree", []string{"GIT_DIR=/elsewhere", "PWD=/user/repo", "HOME=/h", MarkerVar + "=old"}, "new", "true")
	got := strings.Join(cmd.Env, " ")
	if got != "HOME=/h PWD=/work/tree "+MarkerVar+"=new" || cmd.Dir != "/work/tree" {
		t.Fatalf("dir %s, env: %s", cmd.Dir, got)
	}
}
