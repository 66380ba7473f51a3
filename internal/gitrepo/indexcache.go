package gitrepo

import (
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

// indexKeyOf is the index file's key (zero when it cannot be stat-ed).
func indexKeyOf(path string) indexKey {
	var st unix.Stat_t
	if unix.Stat(path, &st) != nil {
		return indexKey{}
	}
	return indexKey{dev: uint64(st.Dev), ino: uint64(st.Ino), size: st.Size, mtime: st.Mtim, ctime: st.Ctim}
}

// keptIndex is the index as readIndex keeps it, if the file is still the
// one it read; nil otherwise (nothing is read).
func (r *Repo) keptIndex() *gitindex.Index {
	key := indexKeyOf(filepath.Join(r.GitDir, "index"))
	c := &r.index
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ix != nil && key != (indexKey{}) && c.key == key {
		return c.ix
	}
	return nil
}

// readIndex returns the work tree's index. With take, the caller may
// change it: it is no longer kept; otherwise the caller must not. The
// stat data is taken before the file is read, so a file replaced in
// between is kept under the old file's key, which no later file has.
func (r *Repo) readIndex(take bool) (*gitindex.Index, error) {
	path := filepath.Join(r.GitDir, "index")
	key := indexKeyOf(path)
	c := &r.index
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ix != nil && key != (indexKey{}) && c.key == key {
		ix := c.ix
		if take {
			c.ix = nil
		}
		return ix, nil
	}
	ix, err := gitindex.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if take || key == (indexKey{}) {
		c.ix = nil
	} else {
		c.key, c.ix = key, ix
	}
	return ix, nil
}
