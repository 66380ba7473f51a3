// Package procs runs agents and checks so that nothing they start outlives
// them: each command gets its own process group and a marker in its
// environment, which every descendant inherits, including one that leaves
// the group (setsid, a daemonizing double fork). After the command, or
// after a crash of chant, KillAll finds and kills them all.
package procs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// MarkerVar is the environment variable that marks a command's processes.
const MarkerVar = "CHANT_PROCESS_MARK"

// NewMarker returns a marker no other command has.
func NewMarker() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Command returns a command that runs in dir, in its own process group,
// marked, and has its whole group killed when ctx ends. Its environment is
// env (nil: chant's own) with the marker added and PWD set to dir, as a
// shell would (tools such as opencode take $PWD for their directory); git's
// variables that would send the command's git to another repository are
// dropped.
func Command(ctx context.Context, dir string, env []string, marker, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if env == nil {
		env = os.Environ()
	}
	out := make([]string, 0, len(env)+2)
	for _, kv := range env {
		switch name, _, _ := cutEnv(kv); name {
		case MarkerVar, "PWD", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_OBJECT_DIRECTORY":
			continue
		}
		out = append(out, kv)
	}
	if dir != "" {
		out = append(out, "PWD="+dir)
	}
	cmd.Env = append(out, MarkerVar+"="+marker)
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

func cutEnv(kv string) (name, value string, ok bool) {
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], true
		}
	}
	return kv, "", false
}

// KillAll kills a command's process group and every process carrying its
// marker, again until none is left (new ones may be forked meanwhile) or
// two seconds have passed. It returns how many marked processes it found.
// With no marker it kills the group alone: for a command whose processes
// the kernel ends with it (a sandbox's PID namespace), where a scan of
// /proc would find none.
func KillAll(pgid int, marker string) int {
	if marker == "" {
		if pgid > 0 {
			syscall.Kill(-pgid, syscall.SIGKILL)
		}
		return 0
	}
	found := map[int]bool{}
	deadline := time.Now().Add(2 * time.Second)
	for {
		live := Marked(marker)
		for _, pid := range live {
			found[pid] = true
			syscall.Kill(pid, syscall.SIGKILL)
		}
		if pgid > 0 {
			syscall.Kill(-pgid, syscall.SIGKILL)
		}
		if len(live) == 0 || time.Now().After(deadline) {
			return len(found)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Run starts cmd (made by Command with marker), calls started with its
// process group, waits for it and, as soon as it exits, kills everything
// it left behind, before its output is finished: a process it leaves
// holding the output open is not waited for, and nothing it left runs on
// after Run returns (see KillAll: with no marker, its group alone). Its
// standard output and error go to out.
func Run(cmd *exec.Cmd, marker string, out io.Writer, started func(pgid int)) error {
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	// An *os.File is handed to the child as is: exec copies nothing, and
	// Wait returns when the process exits, not when the pipe closes.
	cmd.Stdout, cmd.Stderr = pw, pw
	copied := make(chan struct{})
	go func() {
		io.Copy(out, pr)
		close(copied)
	}()
	err = cmd.Start()
	pw.Close() // the child has its own copy
	if err != nil {
		pr.Close()
		<-copied
		return err
	}
	if started != nil {
		started(cmd.Process.Pid)
	}
	err = cmd.Wait()
	KillAll(cmd.Process.Pid, marker)
	select {
	case <-copied:
	case <-time.After(2 * time.Second):
		// Something that escaped both the group and the marker still
		// holds the pipe: stop reading.
		pr.Close()
		<-copied
	}
	pr.Close()
	return err
}
