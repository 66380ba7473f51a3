//go:build linux || darwin

package gitindex

import "golang.org/x/sys/unix"

// FromUnix is the index's view of a file's stat data.
func FromUnix(s *unix.Stat_t) Stat {
	return Stat{
		CTime: Time{uint32(s.Ctim.Sec), uint32(s.Ctim.Nsec)},
		MTime: Time{uint32(s.Mtim.Sec), uint32(s.Mtim.Nsec)},
		Dev:   uint32(s.Dev), Ino: uint32(s.Ino), UID: s.Uid, GID: s.Gid,
		Size: uint32(s.Size),
	}
}
