//go:build !linux

package sandbox

import "time"

// No cage is made but on Linux.
func openPid(pid int) (int, error) { return -1, nil }

func waitPidfd(fd int, timeout time.Duration) error { return nil }
