// Package safefs reads and writes files below a directory without ever
// passing through a symbolic link or leaving the directory, whatever the
// files below it are: every path component is opened relative to its
// parent with O_NOFOLLOW. A repository may hold committed symbolic links
// (.chant/logs pointing at /etc, a target turned into a link by an agent);
// chant's writes go where the path says, or fail. It also tells whether a
// path leads out of a directory through a symbolic link (Escapes), for
// what reads paths a spec names.
package safefs

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

var (
	// ErrSymlink means a path passes through, or is, a symbolic link where
	// a directory or regular file is required.
	ErrSymlink = errors.New("symbolic link in the way")
	// ErrNotRegular means the file is not a regular file (a FIFO, device,
	// socket or directory).
	ErrNotRegular = errors.New("not a regular file")
	// ErrBadPath means the path is absolute or leaves the root.
	ErrBadPath = errors.New("path leaves its root")
)

// Root is a directory; every path its methods take is relative to it and
// slash-separated.
type Root struct{ Dir string }

// Mode bits of the files Root writes, as git knows them.
const (
	Regular    = 0o100644
	Executable = 0o100755
	Symlink    = 0o120000
)

func check(rel string) error {
	if rel == "" || path.IsAbs(rel) || !isLocal(rel) {
		return fmt.Errorf("%w: %q", ErrBadPath, rel)
	}
	return nil
}

func isLocal(rel string) bool {
	for _, c := range strings.Split(rel, "/") {
		if c == ".." || c == "" || c == "." {
			return false
		}
	}
	return true
}

// OpenDir returns a file descriptor of directory rel ("" or "." for the
// root), creating missing directories when create is set. The caller
// closes it.
func (r Root) OpenDir(rel string, create bool) (int, error) {
	fd, err := unix.Open(r.Dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: r.Dir, Err: err}
	}
	if rel == "" || rel == "." {
		return fd, nil
	}
	if err := check(rel); err != nil {
		unix.Close(fd)
		return -1, err
	}
	done := ""
	for _, c := range strings.Split(rel, "/") {
		done = path.Join(done, c)
		next, err := unix.Openat(fd, c, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == unix.ENOENT && create {
			if err = unix.Mkdirat(fd, c, 0o777); err == nil || err == unix.EEXIST {
				next, err = unix.Openat(fd, c, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			}
		}
		unix.Close(fd)
		if err != nil {
			return -1, r.pathErr("open", done, err)
		}
		fd = next
	}
	return fd, nil
}

func (r Root) pathErr(op, rel string, err error) error {
	switch err {
	case unix.ELOOP, unix.ENOTDIR, unix.EMLINK:
		// O_NOFOLLOW on a link gives ELOOP (EMLINK on FreeBSD); O_DIRECTORY on
		// a file gives ENOTDIR.
		var st unix.Stat_t
		if unix.Lstat(path.Join(r.Dir, rel), &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
			return fmt.Errorf("%w: %s", ErrSymlink, rel)
		}
	}
	return &os.PathError{Op: op, Path: rel, Err: err}
}

// Lstat describes rel without following a final symbolic link.
func (r Root) Lstat(rel string) (unix.Stat_t, error) {
	var st unix.Stat_t
	dir, name := split(rel)
	fd, err := r.OpenDir(dir, false)
	if err != nil {
		return st, err
	}
	defer unix.Close(fd)
	if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return st, &os.PathError{Op: "lstat", Path: rel, Err: err}
	}
	return st, nil
}

// ReadFile returns the content of a regular file (mode Regular or
// Executable), or the target of a symbolic link (mode Symlink). Anything
// else is ErrNotRegular. max bounds the size read (0: no bound).
func (r Root) ReadFile(rel string, max int64) ([]byte, uint32, error) {
	fd, name, err := r.parent(rel, false)
	if err != nil {
		return nil, 0, err
	}
	defer unix.Close(fd)
	return ReadAt(fd, name, rel, max)
}

// ReadAt is ReadFile for name in the directory dirfd; rel names it in
// errors.
func ReadAt(dirfd int, name, rel string, max int64) ([]byte, uint32, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return nil, 0, &os.PathError{Op: "lstat", Path: rel, Err: err}
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFLNK:
		buf := make([]byte, 4096)
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return nil, 0, &os.PathError{Op: "readlink", Path: rel, Err: err}
		}
		return buf[:n], Symlink, nil
	case unix.S_IFREG:
	default:
		return nil, 0, fmt.Errorf("%w: %s", ErrNotRegular, rel)
	}
	ffd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, 0, &os.PathError{Op: "open", Path: rel, Err: err}
	}
	f := os.NewFile(uintptr(ffd), rel)
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	if !fi.Mode().IsRegular() { // replaced between the stat and the open
		return nil, 0, fmt.Errorf("%w: %s", ErrNotRegular, rel)
	}
	if max > 0 && fi.Size() > max {
		return nil, 0, fmt.Errorf("%s: %d bytes, more than %d", rel, fi.Size(), max)
	}
	data := make([]byte, 0, fi.Size()+1)
	for {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := f.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, err
		}
		if max > 0 && int64(len(data)) > max {
			return nil, 0, fmt.Errorf("%s: more than %d bytes", rel, max)
		}
	}
	mode := uint32(Regular)
	if fi.Mode()&0o111 != 0 {
		mode = Executable
	}
	return data, mode, nil
}

// WriteFile replaces rel with data as a file of the given mode (Regular,
// Executable or Symlink, whose data is the link's target), creating
// missing directories. The new file is written beside the old one and
// renamed over it, so a reader sees the old content or the new, and a hard
// link of the old file elsewhere is never written through. With durable,
// the file and its directory are synced.
func (r Root) WriteFile(rel string, data []byte, mode uint32, durable bool) error {
	fd, name, err := r.parent(rel, true)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return WriteAt(fd, name, rel, data, mode, durable)
}

// WriteAt is WriteFile for name in the directory dirfd; rel names it in
// errors.
func WriteAt(dirfd int, name, rel string, data []byte, mode uint32, durable bool) error {
	tmp := tempName(name)
	switch mode {
	case Symlink:
		if err := unix.Symlinkat(string(data), dirfd, tmp); err != nil {
			return &os.PathError{Op: "symlink", Path: rel, Err: err}
		}
	case Regular, Executable:
		perm := uint32(0o666)
		if mode == Executable {
			perm = 0o777
		}
		ffd, err := unix.Openat(dirfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
		if err != nil {
			return &os.PathError{Op: "create", Path: rel, Err: err}
		}
		f := os.NewFile(uintptr(ffd), rel)
		_, err = f.Write(data)
		if err == nil && durable {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			unix.Unlinkat(dirfd, tmp, 0)
			return fmt.Errorf("write %s: %w", rel, err)
		}
	default:
		return fmt.Errorf("write %s: unsupported mode %o", rel, mode)
	}
	if err := unix.Renameat(dirfd, tmp, dirfd, name); err != nil {
		unix.Unlinkat(dirfd, tmp, 0)
		return &os.PathError{Op: "rename", Path: rel, Err: err}
	}
	if durable {
		unix.Fsync(dirfd)
	}
	return nil
}

// Remove deletes the file or symbolic link rel; a missing file is not an
// error. Directories left empty are removed, up to (not including) the
// root, as git does when a checkout deletes a file.
func (r Root) Remove(rel string) error {
	fd, name, err := r.parent(rel, false)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	err = unix.Unlinkat(fd, name, 0)
	unix.Close(fd)
	if err != nil && err != unix.ENOENT {
		return &os.PathError{Op: "remove", Path: rel, Err: err}
	}
	r.removeEmptyParents(path.Dir(rel))
	return nil
}

func (r Root) removeEmptyParents(dir string) {
	for dir != "" && dir != "." {
		parent, name := split(dir)
		fd, err := r.OpenDir(parent, false)
		if err != nil {
			return
		}
		err = unix.Unlinkat(fd, name, unix.AT_REMOVEDIR) // fails unless empty
		unix.Close(fd)
		if err != nil {
			return
		}
		dir = parent
	}
}

// RemoveAll deletes rel and everything below it without following
// symbolic links; a missing path is not an error.
func (r Root) RemoveAll(rel string) error {
	fd, name, err := r.parent(rel, false)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := removeAllAt(fd, name, rel); err != nil {
		return err
	}
	r.removeEmptyParents(path.Dir(rel))
	return nil
}

func removeAllAt(dirfd int, name, rel string) error {
	err := unix.Unlinkat(dirfd, name, 0)
	if err == nil || err == unix.ENOENT {
		return nil
	}
	if err != unix.EISDIR && err != unix.EPERM {
		return &os.PathError{Op: "remove", Path: rel, Err: err}
	}
	sub, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: rel, Err: err}
	}
	f := os.NewFile(uintptr(sub), rel)
	names, err := f.Readdirnames(-1)
	if err == nil {
		for _, n := range names {
			if err = removeAllAt(sub, n, rel+"/"+n); err != nil {
				break
			}
		}
	}
	f.Close()
	if err != nil {
		return err
	}
	if err := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR); err != nil && err != unix.ENOENT {
		return &os.PathError{Op: "remove", Path: rel, Err: err}
	}
	return nil
}

// OpenAppend opens the regular file rel for appending, creating it and its
// directories; a symbolic link anywhere on the way is ErrSymlink.
func (r Root) OpenAppend(rel string) (*os.File, error) {
	fd, name, err := r.parent(rel, true)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	ffd, err := unix.Openat(fd, name, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0o666)
	if err == unix.ENXIO { // a FIFO with no reader
		return nil, fmt.Errorf("%w: %s", ErrNotRegular, rel)
	}
	if err != nil {
		return nil, r.pathErr("open", rel, err)
	}
	f := os.NewFile(uintptr(ffd), path.Join(r.Dir, rel))
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%w: %s", ErrNotRegular, rel)
	}
	return f, nil
}

// MkdirAll creates directory rel and its parents.
func (r Root) MkdirAll(rel string) error {
	fd, err := r.OpenDir(rel, true)
	if err == nil {
		unix.Close(fd)
	}
	return err
}

// RemoveTemps removes the temporary files a WriteFile of rel killed
// before its rename left beside it.
func (r Root) RemoveTemps(rel string) error {
	fd, name, err := r.parent(rel, false)
	if err != nil {
		return nil // no directory: no temporary files
	}
	f := os.NewFile(uintptr(fd), rel)
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return err
	}
	prefix := tempName(name)
	prefix = prefix[:len(prefix)-12]
	for _, n := range names {
		if strings.HasPrefix(n, prefix) && len(n) == len(prefix)+12 {
			unix.Unlinkat(fd, n, 0)
		}
	}
	return nil
}

// parent opens the directory holding rel (creating it with create) and
// returns it and rel's name in it.
func (r Root) parent(rel string, create bool) (fd int, name string, err error) {
	if err := check(rel); err != nil {
		return -1, "", err
	}
	dir, name := split(rel)
	fd, err = r.OpenDir(dir, create)
	return fd, name, err
}

func split(rel string) (dir, name string) {
	i := strings.LastIndexByte(rel, '/')
	if i < 0 {
		return "", rel
	}
	return rel[:i], rel[i+1:]
}

func tempName(name string) string {
	var b [6]byte
	rand.Read(b[:])
	prefix := "." + name
	if len(prefix) > 200 {
		prefix = prefix[:200]
	}
	return prefix + ".chant-" + hex.EncodeToString(b[:])
}

// ReadRegular reads a regular file by its full path, following symbolic
// links, but never blocking: a FIFO, socket or device is ErrNotRegular,
// not a read that waits forever. max bounds the size (0: no bound). The
// file is read into a buffer of its size, with system calls only (an
// os.File would try to register the descriptor with the poller): chant
// reads thousands of small files at a time.
func ReadRegular(p string, max int64) ([]byte, error) { return readRegular(p, 0, max) }

// ReadOwn reads a file chant keeps for itself (a cache, a record) as
// ReadRegular does, but never through a symbolic link: one there was not
// written by chant.
func ReadOwn(p string, max int64) ([]byte, error) { return readRegular(p, unix.O_NOFOLLOW, max) }

func readRegular(p string, flags int, max int64) ([]byte, error) {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|flags, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &os.PathError{Op: "stat", Path: p, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("%w: %s is a %s", ErrNotRegular, p, kind(fileMode(st.Mode)))
	}
	if max > 0 && st.Size > max {
		return nil, fmt.Errorf("%s: %d bytes, more than %d", p, st.Size, max)
	}
	// One byte more than the size, so that a single read finds the end.
	buf := make([]byte, 0, st.Size+1)
	for {
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: p, Err: err}
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
		if max > 0 && int64(len(buf)) > max {
			return nil, fmt.Errorf("%s: more than %d bytes", p, max)
		}
		if len(buf) == cap(buf) { // it grew meanwhile
			buf = append(buf, 0)[:len(buf)]
		}
	}
}

// fileMode converts a stat mode's file type to an os.FileMode.
func fileMode(m uint32) os.FileMode {
	switch m & unix.S_IFMT {
	case unix.S_IFIFO:
		return os.ModeNamedPipe
	case unix.S_IFSOCK:
		return os.ModeSocket
	case unix.S_IFCHR:
		return os.ModeDevice | os.ModeCharDevice
	case unix.S_IFBLK:
		return os.ModeDevice
	case unix.S_IFDIR:
		return os.ModeDir
	case unix.S_IFLNK:
		return os.ModeSymlink
	}
	return 0
}

func kind(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "FIFO"
	case m&os.ModeSocket != 0:
		return "socket"
	case m&os.ModeDevice != 0:
		return "device"
	case m.IsDir():
		return "directory"
	}
	return "special file"
}
