package store

import (
	"bytes"
	"errors"
	"io/fs"
	"path/filepath"
	"unsafe"

	"github.com/chant-run/chant/spec"
	"golang.org/x/sys/unix"
)

// dirWatch follows the spec directories with inotify, so that a Reloader
// learns which files changed without a stat of each (as git's fsmonitor
// spares git status its scan). Anything it cannot account for (a lost
// event, a directory made, moved or removed) says so, and the Reloader
// lists and stats everything again.
type dirWatch struct {
	fd   int
	dirs map[int32]string // watch descriptor → directory
	buf  []byte
}

const (
	// What changes a spec file or a directory's listing.
	fileEvents = unix.IN_MODIFY | unix.IN_ATTRIB | unix.IN_CLOSE_WRITE | unix.IN_CREATE | unix.IN_DELETE |
		unix.IN_MOVED_FROM | unix.IN_MOVED_TO
	// What ends a watch's meaning.
	selfEvents = unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_UNMOUNT | unix.IN_IGNORED | unix.IN_Q_OVERFLOW
)

// watchSpecs starts watching the workspace's spec directories: the specs
// directory, the archive and each directory under it, and the .chant
// directory (where either may be made or removed). It returns nil when
// the system cannot (too many watches, no inotify): the Reloader then
// stats every file.
func watchSpecs(w *spec.Workspace) *dirWatch {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil
	}
	dw := &dirWatch{fd: fd, dirs: map[int32]string{}, buf: make([]byte, 64<<10)}
	add := func(dir string) error {
		wd, err := unix.InotifyAddWatch(fd, dir, fileEvents|unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_ONLYDIR|unix.IN_DONT_FOLLOW)
		if err != nil {
			return err
		}
		dw.dirs[int32(wd)] = dir
		return nil
	}
	// Without a specs directory there is little to stat.
	ok := add(w.ChantDir) == nil && add(w.SpecsDir) == nil
	if ok {
		err := filepath.WalkDir(filepath.Join(w.ChantDir, spec.ArchiveDir), func(p string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil || !d.IsDir() {
				return err
			}
			return add(p)
		})
		ok = err == nil
	}
	if !ok {
		dw.close()
		return nil
	}
	return dw
}

// changes returns the paths whose files may have changed since the last
// call, or all=true when the listing must be read again in full.
func (dw *dirWatch) changes(w *spec.Workspace) (paths map[string]bool, all bool) {
	paths = map[string]bool{}
	for {
		n, err := unix.Read(dw.fd, dw.buf)
		if errors.Is(err, unix.EAGAIN) {
			return paths, all
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n <= 0 {
			return paths, true
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&dw.buf[off]))
			nameBytes := dw.buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			off += unix.SizeofInotifyEvent + int(ev.Len)
			if i := bytes.IndexByte(nameBytes, 0); i >= 0 {
				nameBytes = nameBytes[:i] // padded with NULs
			}
			name := string(nameBytes)
			dir, known := dw.dirs[ev.Wd]
			switch {
			case ev.Mask&selfEvents != 0 || !known:
				all = true
			case dir == w.ChantDir:
				// Only the spec directories matter here: one made, moved
				// or removed changes the listing.
				if name == filepath.Base(w.SpecsDir) || name == spec.ArchiveDir {
					all = true
				}
			case ev.Mask&unix.IN_ISDIR != 0:
				// A directory in the archive is listed too.
				if dir != w.SpecsDir {
					all = true
				}
			default:
				paths[filepath.Join(dir, name)] = true
			}
		}
	}
}

// close ends the watch without waiting for it: closing an inotify
// instance waits out the kernel's grace period for its marks (10-25 ms
// measured here), which the caller's work meanwhile hides.
func (dw *dirWatch) close() { go unix.Close(dw.fd) }
