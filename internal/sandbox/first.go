package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// infoFD is the descriptor bubblewrap reports the cage on (--info-fd): the
// first of the command's ExtraFiles.
const infoFD = 3

// emptyTimeout bounds the wait for a cage's processes to end once its
// command has: SIGKILLed processes end at once unless the kernel holds
// one (a hung network file system).
const emptyTimeout = 30 * time.Second

// firstProcess follows the cage's first process, from bubblewrap's report
// of it to its end.
type firstProcess struct {
	w    *os.File // the report's write end, ours closed once the cage has ended
	done chan opened
}

// opened is the first process, held open (a pidfd) as soon as it is
// reported, so that its number cannot be another's when it is waited for.
type opened struct {
	pidfd int // -1: none to wait for
	err   error
}

// watchFirst hands cmd the report's descriptor and starts reading it.
func watchFirst(cmd *exec.Cmd) (*firstProcess, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	cmd.ExtraFiles = []*os.File{w}
	f := &firstProcess{w: w, done: make(chan opened, 1)}
	go func() {
		defer r.Close()
		var info struct {
			ChildPid int `json:"child-pid"`
		}
		// bubblewrap writes the report before the first process may run,
		// and none when it failed before making the cage.
		if err := json.NewDecoder(r).Decode(&info); err != nil || info.ChildPid <= 0 {
			f.done <- opened{pidfd: -1}
			return
		}
		fd, err := openPid(info.ChildPid)
		f.done <- opened{pidfd: fd, err: err}
	}()
	return f, nil
}

// wait returns once the cage's first process has ended, after its command
// has: the report's write end is closed, so that a report never written
// ends the read.
func (f *firstProcess) wait() error {
	f.w.Close()
	o := <-f.done
	if o.err != nil {
		return fmt.Errorf("sandbox: follow the cage's first process: %w", o.err)
	}
	if o.pidfd < 0 {
		return nil
	}
	err := waitPidfd(o.pidfd, emptyTimeout)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("sandbox: the cage's processes did not end within %s of its command", emptyTimeout)
	}
	return err
}
