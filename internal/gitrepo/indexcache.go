package gitrepo

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/chant-run/chant/internal/gitindex"
)

// indexCache keeps the work tree's index as this process last decoded
// it, by its file's stat data (git replaces the file by a rename, so any
// write is a new inode and time): a phase's look at its targets and its
// landing then decode 50,000 entries once, not twice.
type indexCache struct {
	mu  sync.Mutex
	key indexKey
	ix  *gitindex.Index // nil: none kept
}

type indexKey struct {
	dev, ino uint64
	size     int64
	mtime    unix.Timespec
	ctime    unix.Timespec
}

// readIndex returns the work tree's index. With take, the caller may
// change it: it is no longer kept; otherwise the caller must not.
func (r *Repo) readIndex(take bool) (*gitindex.Index, error) {
	path := filepath.Join(r.GitDir, "index")
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return gitindex.New(), nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, err
	}
	key := indexKey{dev: uint64(st.Dev), ino: uint64(st.Ino), size: st.Size, mtime: st.Mtim, ctime: st.Ctim}
	c := &r.index
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ix != nil && c.key == key {
		ix := c.ix
		if take {
			c.ix = nil
		}
		return ix, nil
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	ix, err := gitindex.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if take {
		c.ix = nil
	} else {
		c.key, c.ix = key, ix
	}
	return ix, nil
}
