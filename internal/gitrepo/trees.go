package gitrepo

import (
	"bufio"
	"compress/zlib"
	"crypto/sha1"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/chant-run/chant/internal/gitindex"
)

// Trees are read and written here, not through go-git's object types: a
// run reads and rewrites the same big tree (.chant/specs, one entry per
// spec) at every phase, and go-git decodes it afresh each time and
// compresses what it writes at zlib's default level. A tree never changes,
// so the decoded ones are kept; the ones chant writes are compressed for
// speed (any zlib level is a valid loose object).

// treeCacheSize bounds the trees kept; past it the cache starts over.
const treeCacheSize = 256

type treeCache struct {
	mu sync.Mutex
	m  map[plumbing.Hash][]object.TreeEntry
}

func (c *treeCache) get(h plumbing.Hash) ([]object.TreeEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[h]
	return e, ok
}

func (c *treeCache) put(h plumbing.Hash, entries []object.TreeEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= treeCacheSize {
		c.m = map[plumbing.Hash][]object.TreeEntry{}
	}
	c.m[h] = entries
}

// tree returns a tree's entries in git's order; callers must not change
// them. The zero hash is the empty tree.
func (r *Repo) tree(h plumbing.Hash) ([]object.TreeEntry, error) {
	if h.IsZero() {
		return nil, nil
	}
	if e, ok := r.trees.get(h); ok {
		return e, nil
	}
	t, err := r.repo.TreeObject(h)
	if err != nil {
		return nil, fmt.Errorf("tree %s: %w", Short(h.String()), err)
	}
	r.trees.put(h, t.Entries)
	return t.Entries, nil
}

// treeIn is tree, for the tree of directory dir ("" the root, else
// ending in "/"): a directory of files alone is taken from the index this
// process has read, when its entries there make exactly that tree (its
// hash says so), rather than read from a pack and inflated (a specs
// directory of 10,000 files: 8 ms of a phase's landing).
func (r *Repo) treeIn(h plumbing.Hash, dir string) ([]object.TreeEntry, error) {
	if dir == "" || h.IsZero() {
		return r.tree(h)
	}
	if e, ok := r.trees.get(h); ok {
		return e, nil
	}
	ix := r.keptIndex()
	if ix == nil {
		return r.tree(h)
	}
	// The entries under dir end before dir's name followed by '0', the
	// byte after '/': the slice is made once at its size (10,000 entries
	// appended one by one were copied over and over).
	start, end := ix.Search(dir), ix.Search(dir[:len(dir)-1]+"0")
	entries := make([]object.TreeEntry, 0, max(end-start, 0))
	for i := start; i < end; i++ {
		e := &ix.Entries[i]
		name := e.Path[len(dir):]
		if strings.Contains(name, "/") || e.Stage() != 0 || e.ExtFlags&gitindex.IntentToAdd != 0 {
			return r.tree(h) // a directory in it, a conflict: as the tree says
		}
		entries = append(entries, object.TreeEntry{Name: name, Mode: filemode.FileMode(e.Mode), Hash: e.Hash})
	}
	if objectHash(plumbing.TreeObject, encodeTree(entries)) != h {
		return r.tree(h) // the index holds other content for dir
	}
	r.trees.put(h, entries)
	return entries, nil
}

// treeKey is a name as git orders tree entries: a directory's as if it
// ended in "/".
func treeKey(name string, mode filemode.FileMode) string {
	if mode == filemode.Dir {
		return name + "/"
	}
	return name
}

// findEntry returns the index of name in entries (sorted in git's order),
// or -1. A name is in a tree once, as a file or as a directory, which
// sort at different places: both are looked for.
func findEntry(entries []object.TreeEntry, name string) int {
	for _, key := range []string{name, name + "/"} {
		i := sort.Search(len(entries), func(i int) bool { return treeKey(entries[i].Name, entries[i].Mode) >= key })
		if i < len(entries) && entries[i].Name == name {
			return i
		}
	}
	return -1
}

// setEntry returns entries with name set to e (or removed, if e is nil),
// in git's order; entries itself is not changed.
func setEntry(entries []object.TreeEntry, name string, e *object.TreeEntry) []object.TreeEntry {
	out := make([]object.TreeEntry, 0, len(entries)+1)
	if i := findEntry(entries, name); i >= 0 {
		out = append(append(out, entries[:i]...), entries[i+1:]...)
	} else {
		out = append(out, entries...)
	}
	if e == nil {
		return out
	}
	key := treeKey(e.Name, e.Mode)
	i := sort.Search(len(out), func(i int) bool { return treeKey(out[i].Name, out[i].Mode) >= key })
	out = append(out, object.TreeEntry{})
	copy(out[i+1:], out[i:])
	out[i] = *e
	return out
}

// encodeTree is a tree object's content: its entries (in git's order).
func encodeTree(entries []object.TreeEntry) []byte {
	body := make([]byte, 0, len(entries)*48)
	for _, e := range entries {
		body = append(append(append(append(strconv.AppendUint(body, uint64(e.Mode), 8), ' '), e.Name...), 0), e.Hash[:]...)
	}
	return body
}

// objectHeader starts an object of type t and this content, as stored
// and hashed.
func objectHeader(t plumbing.ObjectType, content []byte) []byte {
	return []byte(t.String() + " " + strconv.Itoa(len(content)) + "\x00")
}

// objectHash is the hash of an object of type t and this content.
func objectHash(t plumbing.ObjectType, content []byte) plumbing.Hash {
	sum := sha1.New()
	sum.Write(objectHeader(t, content))
	sum.Write(content)
	var h plumbing.Hash
	copy(h[:], sum.Sum(nil))
	return h
}

// writeTree stores a tree of entries (in git's order) and returns its hash.
func (r *Repo) writeTree(entries []object.TreeEntry) (plumbing.Hash, error) {
	h, err := r.writeLoose(plumbing.TreeObject, encodeTree(entries))
	if err != nil {
		return plumbing.ZeroHash, err
	}
	r.trees.put(h, entries)
	return h, nil
}

// looseBufs and looseZlibs are the writers of loose objects, reused: a
// zlib writer allocates and clears about half a megabyte when made, more
// than compressing a small object costs (a worker copying a phase's
// objects spent a seventh of its time so).
var (
	looseBufs  = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}
	looseZlibs = sync.Pool{New: func() any {
		zw, _ := zlib.NewWriterLevel(nil, zlib.BestSpeed)
		return zw
	}}
)

// writeLoose stores an object as a loose object file, as git does: into a
// temporary file of the object's directory, then renamed into place. An
// object already stored loose is not written again. (go-git's writer puts
// its temporary files in the pack directory, which tells every process
// that reads the repository that its packs changed.)
func (r *Repo) writeLoose(t plumbing.ObjectType, content []byte) (plumbing.Hash, error) {
	h := objectHash(t, content)
	hex := h.String()
	dir := filepath.Join(r.CommonDir, "objects", hex[:2])
	path := filepath.Join(dir, hex[2:])
	if _, err := os.Lstat(path); err == nil {
		return h, nil
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return plumbing.ZeroHash, err
	}
	// go-git's prefix: a file a killed writer leaves is swept (Recover).
	f, err := os.CreateTemp(dir, "tmp_obj_")
	if err != nil {
		return plumbing.ZeroHash, err
	}
	// flate hands its writer a few hundred bytes at a time: one write
	// call for each would cost more than the compression.
	buf := looseBufs.Get().(*bufio.Writer)
	buf.Reset(f)
	zw := looseZlibs.Get().(*zlib.Writer)
	zw.Reset(buf)
	defer func() {
		buf.Reset(nil)
		zw.Reset(nil)
		looseBufs.Put(buf)
		looseZlibs.Put(zw)
	}()
	_, err = zw.Write(objectHeader(t, content))
	if err == nil {
		_, err = zw.Write(content)
	}
	if err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = buf.Flush()
	}
	if err == nil {
		err = f.Chmod(0o444)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return plumbing.ZeroHash, fmt.Errorf("store %s %s: %w", t, Short(hex), err)
	}
	return h, nil
}
