//go:build !linux && !darwin

package gitindex

import "golang.org/x/sys/unix"

// FromUnix is the index's view of a file's stat data: here only size and
// inode, so files are hashed more often than on Linux or macOS.
func FromUnix(s *unix.Stat_t) Stat {
	return Stat{Size: uint32(s.Size), Ino: uint32(s.Ino)}
}
