//go:build !linux && !darwin

package gitindex

import (
	"os"

	"golang.org/x/sys/unix"
)

func sysStat(fi os.FileInfo) (Stat, bool) { return Stat{}, false }

// FromUnix converts a stat result.
func FromUnix(s *unix.Stat_t) Stat {
	return Stat{Size: uint32(s.Size), Ino: uint32(s.Ino)}
}
