//go:build !linux

package procs

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// Marked cannot list processes by environment here: only the process
// group is killed.
func Marked(marker string) []int { return nil }
