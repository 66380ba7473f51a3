//go:build !linux

package sandbox

import (
	"errors"
	"time"
)

// No cage is made but on Linux.
func openPid(pid int) (int, error) { return -1, nil }

func waitPidfd(fd int, timeout time.Duration) error { return nil }

func mkfifo(path string) error { return errors.ErrUnsupported }

type fileStamp struct{ dev, ino uint64 }

func stampOf(path string) (fileStamp, error) { return fileStamp{}, errors.ErrUnsupported }
