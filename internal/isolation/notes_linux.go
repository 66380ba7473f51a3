package isolation

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// noteMask is what a watch hears: every change to a directory's entries
// and its files' content, mode and times.
const noteMask = unix.IN_MODIFY | unix.IN_ATTRIB | unix.IN_CLOSE_WRITE | unix.IN_CREATE | unix.IN_DELETE |
	unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_DONT_FOLLOW | unix.IN_ONLYDIR

// notes are an inotify instance watching a tree's directories, read as
// events come (so that the kernel's queue does not overflow) and at each
// scan.
type notes struct {
	fd   int
	file *os.File
	done chan struct{}

	mu    sync.Mutex
	paths map[int32]string // watch → its directory, relative
	noted noted
	lost  error
	buf   []byte
}

// listen watches each of dirs (relative to root; those missing are left:
// their making is heard in their parent).
func listen(root string, dirs []string) (*notes, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, err
	}
	n := &notes{fd: fd, done: make(chan struct{}), paths: make(map[int32]string, len(dirs)),
		noted: noted{dirs: map[string]bool{}, whole: map[string]bool{}}, buf: make([]byte, 64<<10)}
	for _, d := range dirs {
		wd, err := unix.InotifyAddWatch(fd, filepath.Join(root, filepath.FromSlash(d)), noteMask)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			continue
		}
		if err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("watch %s: %w", d, err)
		}
		n.paths[int32(wd)] = d
	}
	n.file = os.NewFile(uintptr(fd), "inotify")
	go n.follow()
	return n, nil
}

// follow reads events as they come, until the notes are closed.
func (n *notes) follow() {
	defer close(n.done)
	rc, err := n.file.SyscallConn()
	if err != nil {
		n.fail(err)
		return
	}
	rc.Read(func(fd uintptr) bool {
		n.mu.Lock()
		defer n.mu.Unlock()
		return n.drain() != nil // on an error, stop; else wait for more
	})
}

func (n *notes) fail(err error) {
	n.mu.Lock()
	if n.lost == nil {
		n.lost = err
	}
	n.mu.Unlock()
}

// drain reads the events queued, with mu held.
func (n *notes) drain() error {
	for n.lost == nil {
		k, err := unix.Read(n.fd, n.buf)
		if errors.Is(err, unix.EAGAIN) {
			return nil
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			n.lost = fmt.Errorf("%w: %v", errNotesLost, err)
			break
		}
		n.parse(n.buf[:k])
	}
	return n.lost
}

// parse takes the events in b.
func (n *notes) parse(b []byte) {
	const size = unix.SizeofInotifyEvent
	for len(b) >= size {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&b[0]))
		end := size + int(ev.Len)
		if end > len(b) {
			n.lost = errNotesLost
			return
		}
		name := b[size:end]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		n.take(ev.Wd, ev.Mask, string(name))
		b = b[end:]
	}
}

// take notes one event.
func (n *notes) take(wd int32, mask uint32, name string) {
	switch {
	case mask&unix.IN_Q_OVERFLOW != 0:
		n.lost = fmt.Errorf("%w: the kernel's queue overflowed", errNotesLost)
		return
	case mask&unix.IN_IGNORED != 0:
		return // a watch gone with its directory, heard of in its parent
	}
	dir, ok := n.paths[wd]
	if !ok {
		n.lost = fmt.Errorf("%w: an event of an unknown watch", errNotesLost)
		return
	}
	if mask&(unix.IN_DELETE_SELF|unix.IN_MOVE_SELF) != 0 {
		n.noted.dirs[dir] = true
		if dir != "" {
			parent, _ := splitPath(dir)
			n.noted.dirs[parent] = true
		}
		return
	}
	n.noted.dirs[dir] = true
	if mask&unix.IN_ISDIR != 0 && mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0 && name != "" {
		n.noted.whole[joinRel(dir, name)] = true
	}
	if len(n.noted.dirs)+len(n.noted.whole) > maxNoted {
		n.lost = fmt.Errorf("%w: more than %d directories changed", errNotesLost, maxNoted)
	}
}

// read returns what the notes say so far, every event queued taken.
func (n *notes) read() (noted, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.drain(); err != nil {
		return noted{}, err
	}
	out := noted{dirs: make(map[string]bool, len(n.noted.dirs)), whole: make(map[string]bool, len(n.noted.whole))}
	for d := range n.noted.dirs {
		out.dirs[d] = true
	}
	for d := range n.noted.whole {
		out.whole[d] = true
	}
	return out, nil
}

// close stops the notes.
func (n *notes) close() {
	n.file.Close()
	<-n.done
}

// walkDirs calls fn with rel and each directory under it, when rel is a
// directory of root (links are not followed).
func walkDirs(root, rel string, fn func(string)) {
	abs := filepath.Join(root, filepath.FromSlash(rel))
	if fi, err := os.Lstat(abs); err != nil || !fi.IsDir() {
		return
	}
	fn(rel)
	entries, err := os.ReadDir(abs)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() {
			walkDirs(root, joinRel(rel, e.Name()), fn)
		}
	}
}
