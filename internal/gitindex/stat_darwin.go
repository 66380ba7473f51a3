package gitindex

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

func sysStat(fi os.FileInfo) (Stat, bool) {
	s, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return Stat{}, false
	}
	return Stat{
		CTime: Time{uint32(s.Ctimespec.Sec), uint32(s.Ctimespec.Nsec)},
		MTime: Time{uint32(s.Mtimespec.Sec), uint32(s.Mtimespec.Nsec)},
		Dev:   uint32(s.Dev), Ino: uint32(s.Ino), UID: s.Uid, GID: s.Gid,
		Size: uint32(s.Size),
	}, true
}

// FromUnix converts a stat result.
func FromUnix(s *unix.Stat_t) Stat {
	return Stat{
		CTime: Time{uint32(s.Ctim.Sec), uint32(s.Ctim.Nsec)},
		MTime: Time{uint32(s.Mtim.Sec), uint32(s.Mtim.Nsec)},
		Dev:   uint32(s.Dev), Ino: uint32(s.Ino), UID: s.Uid, GID: s.Gid,
		Size: uint32(s.Size),
	}
}
