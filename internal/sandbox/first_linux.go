package sandbox

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// openPid holds the process open; one gone already is -1 (nothing left to
// wait for).
func openPid(pid int) (int, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return -1, nil
	}
	return fd, err
}

// waitPidfd waits for the process to end and closes fd; past timeout,
// os.ErrDeadlineExceeded.
func waitPidfd(fd int, timeout time.Duration) error {
	defer unix.Close(fd)
	deadline := time.Now().Add(timeout)
	for {
		ms := int(time.Until(deadline).Milliseconds())
		if ms <= 0 {
			return os.ErrDeadlineExceeded
		}
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, ms)
		switch {
		case errors.Is(err, unix.EINTR):
		case err != nil:
			return err
		case n > 0:
			return nil
		}
	}
}

// mkfifo makes a FIFO only its owner opens.
func mkfifo(path string) error { return unix.Mkfifo(path, 0o600) }

// fileStamp tells a file from any other, now or later: its device and
// inode, and its birth time where the file system keeps one.
type fileStamp struct {
	dev, ino uint64
	born     unix.StatxTimestamp
}

func stampOf(path string) (fileStamp, error) {
	var st unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_INO|unix.STATX_BTIME, &st); err != nil {
		return fileStamp{}, &os.PathError{Op: "statx", Path: path, Err: err}
	}
	s := fileStamp{dev: unix.Mkdev(st.Dev_major, st.Dev_minor), ino: st.Ino}
	if st.Mask&unix.STATX_BTIME != 0 {
		s.born = st.Btime
	}
	return s, nil
}
