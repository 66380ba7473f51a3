package store

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/chant-run/chant/internal/safefs"
	"github.com/chant-run/chant/spec"
)

// The listing cache: what parsing each spec file gave, with the file's stat
// data, kept in chant's state directory (in .git, never in git status), so
// that listing a workspace reads and parses only the files that changed
// since, as git's index spares git status from reading unchanged files.
// Every command's load uses it (List; a run's first, Reloader): neither
// reads a spec's text until something asks for it, and what writes a spec
// reads it again under the workspace lock (spec's Workspace.Update).

// saveFraction: the cache is written again once more than this fraction
// of its files had to be parsed (1/64).
const saveFraction = 64

// cacheVersion changes whenever what is cached changes.
const cacheVersion = 8

// racyWindow: a file changed this recently is not cached, since a change
// within the same clock tick of the file system would not show in its stat
// data (as git's racily clean entries). A variable for tests.
var racyWindow = 2 * time.Second

// followFiles says whether a Reloader may follow the spec directories'
// events rather than stat each file (see dirWatch). A variable for tests.
var followFiles = true

// watchMin is the number of spec files (as last listed) from which a
// Reloader follows the directories' events: below it, stat-ing every file
// at each load costs less than the watch, whose end waits out the
// kernel's grace period for its marks (10-25 ms measured here, at Close
// or at the process's exit). A variable for tests.
var watchMin = 1000

// parsedHook, when set (by tests), is called for each file a listing reads
// and parses rather than taking from the cache.
var parsedHook func(path string)

// The cache file (see codec.go for the encoding): cacheMagic, a
// cacheHeader, then each file's path and cacheEntry (writeCacheEntry).
const cacheMagic = "chant listing cache\n"

// The codecs of what the cache file holds, made once: a load decodes a
// snapshot for each unchanged file, in parallel, without codecFor's lock.
var (
	headerCodec   = sync.OnceValue(func() *codec { return codecFor(reflect.TypeFor[cacheHeader]()) })
	keyCodec      = sync.OnceValue(func() *codec { return codecFor(reflect.TypeFor[fileKey]()) })
	snapshotCodec = sync.OnceValue(func() *codec { return codecFor(reflect.TypeFor[spec.Snapshot]()) })
)

type cacheHeader struct {
	Version int
	Exe     string // the chant program that wrote it: another build may parse differently
	Count   int
	// Listed is how many spec files the load that wrote it listed: more
	// than Count when it read only some (Reloader.Narrow).
	Listed int
}

// fileKey is what identifies a file's content without reading it.
type fileKey struct {
	Size, Mtime, Ctime int64
	Ino, Dev           uint64
	Mode               uint32
}

// cacheEntry is a file's stat data and its spec's snapshot, encoded: a
// listing decodes the snapshots of the files it finds unchanged, in its
// parallel workers, and writes the cache again with the bytes it read.
type cacheEntry struct {
	Key  fileKey
	snap string // a spec.Snapshot's encoding
}

// statter reads stat data without following a symbolic link, by name in
// a directory opened once.
type statter struct {
	mu   sync.Mutex
	dirs map[string]int // directory → descriptor
}

// listCache is the cache of one List.
type listCache struct {
	statter
	path  string
	exe   string
	count int // the files the cache holds, as its header says
	// listed is how many spec files the last load listed: as the header
	// says, then as this load's listing found.
	listed int
	// old is what the cache holds, read in the background (while the
	// spec directories are listed and the files stat-ed): wait for ready.
	ready   chan struct{}
	old     map[string]*cacheEntry
	mu      sync.Mutex
	entries map[string]*cacheEntry
	changed bool
	parsed  int // files read and parsed rather than taken from the cache
	// partial: the load read only some specs (Reloader.Narrow): the
	// entries of the others are kept as they were.
	partial bool
}

// List is spec's Workspace.Load through the listing cache, for every
// command: files unchanged since the last listing are not read again, and
// a spec's text is read only when something asks for it (what writes a
// spec reads it again under the workspace lock).
func List(w *spec.Workspace) (*spec.Set, error) {
	c := openListCache(w) // read while the directories are listed
	paths, archived, err := w.SpecFiles()
	if err != nil {
		return nil, err
	}
	if c != nil {
		c.listed = len(paths)
		return spec.LoadFiles(paths, archived, w.Rel, c)
	}
	return spec.LoadFiles(paths, archived, w.Rel, nil)
}

// openListCache reads the cache of the workspace, or starts an empty one;
// nil when the workspace has no git directory to keep it in. Its header
// is read now, its entries in the background (see known).
func openListCache(w *spec.Workspace) *listCache {
	dir := w.StateDir()
	if dir == w.ChantDir {
		return nil // not a git repository: nowhere out of sight
	}
	c := &listCache{path: filepath.Join(dir, "cache", "specs"), exe: executableID(), entries: map[string]*cacheEntry{},
		ready: make(chan struct{})}
	r, h, ok := readCacheHeader(c.path, c.exe)
	if !ok {
		close(c.ready)
		return c
	}
	c.count, c.listed = h.Count, h.Listed
	if h.Count < entriesAside {
		c.old = readCacheEntries(r, h.Count)
		close(c.ready)
		return c
	}
	go func() {
		defer close(c.ready)
		c.old = readCacheEntries(r, h.Count)
	}()
	return c
}

// entriesAside is how many entries a cache has for them to be read aside,
// while the directory is listed: fewer take less than waking a thread.
const entriesAside = 64

// readCacheHeader reads the cache file at path and its header, which
// must be of this version and of the program exe; it returns a decoder at
// the first entry and the header.
func readCacheHeader(path, exe string) (r *decoder, h cacheHeader, ok bool) {
	data, err := safefs.ReadOwn(path, 0)
	if err != nil {
		return nil, h, false
	}
	// The strings decoded are slices of the file's text, never changed.
	r = &decoder{data: unsafe.String(unsafe.SliceData(data), len(data))}
	if !strings.HasPrefix(r.data, cacheMagic) {
		return nil, h, false
	}
	r.off = len(cacheMagic)
	headerCodec().dec(r, unsafe.Pointer(&h))
	// Each entry takes a few bytes at least: a count beyond the file's
	// size is corrupt.
	if r.err != nil || h.Version != cacheVersion || h.Exe != exe || h.Count < 0 || h.Count > len(r.data) {
		return nil, h, false
	}
	return r, h, true
}

// readCacheEntries reads count entries from r, to the file's end; nil if
// they are not all there (torn or foreign: start afresh).
func readCacheEntries(r *decoder, count int) map[string]*cacheEntry {
	keys := keyCodec()
	slab := make([]cacheEntry, count) // one allocation, not one an entry
	out := make(map[string]*cacheEntry, count)
	for i := range slab {
		path := r.str()
		keys.dec(r, unsafe.Pointer(&slab[i].Key))
		slab[i].snap = r.str()
		if r.err != nil {
			return nil
		}
		out[path] = &slab[i]
	}
	if r.off != len(r.data) {
		return nil
	}
	return out
}

// writeCacheEntry appends path's entry to w.
func writeCacheEntry(w *encoder, path string, e *cacheEntry) {
	w.str(path)
	keyCodec().enc(w, unsafe.Pointer(&e.Key))
	w.str(e.snap)
}

// encodeSnapshot is sn as a cacheEntry keeps it.
func encodeSnapshot(sn *spec.Snapshot) string {
	w := &encoder{}
	snapshotCodec().enc(w, unsafe.Pointer(sn))
	return string(w.buf)
}

// decodeSnapshot reads what encodeSnapshot wrote into sn (zero).
func decodeSnapshot(data string, sn *spec.Snapshot) error {
	r := &decoder{data: data}
	if snapshotCodec().dec(r, unsafe.Pointer(sn)); r.err == nil && r.off != len(data) {
		r.fail()
	}
	return r.err
}

// known returns what the cache holds, once read.
func (c *listCache) known() map[string]*cacheEntry {
	<-c.ready
	return c.old
}

// executableID names the running program's build: its path, size and
// modification time. A variable for tests.
var executableID = func() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	fi, err := os.Stat(exe)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%s %d %d", exe, fi.Size(), fi.ModTime().UnixNano())
}

// Lookup returns the spec cached for path, made in spot, if the file is as
// it was then. The stat data is taken before the file is read: a change
// after it shows as other stat data next time.
func (c *listCache) Lookup(path, name string, spot *spec.Spec) spec.Known {
	key, ok := c.statKey(path)
	if !ok {
		missed(path)
		return spec.Known{}
	}
	k := c.restore(path, name, key, spot)
	if !k.Hit {
		missed(path)
	}
	return k
}

// restore makes the spec cached for path in spot, if its stat data was
// key then (a Hit), and keeps the entry.
func (c *listCache) restore(path, name string, key fileKey, spot *spec.Spec) spec.Known {
	e, ok := c.known()[path]
	if !ok || e.Key != key {
		return spec.Known{Key: key}
	}
	var sn spec.Snapshot
	if decodeSnapshot(e.snap, &sn) != nil {
		return spec.Known{Key: key} // parsed again, and kept as parsed
	}
	c.mu.Lock()
	c.entries[path] = e
	c.mu.Unlock()
	s, err := sn.Restore(path, name, spot)
	return spec.Known{Hit: true, Spec: s, Err: err, Key: key}
}

// missed tells parsedHook of a file a load reads and parses.
func missed(path string) {
	if parsedHook != nil {
		parsedHook(path)
	}
}

// Store records what parsing path gave, unless the file changed too
// recently to be told apart from a change to come, and leaves the spec as
// a listing has it (spec's Listed).
func (c *listCache) Store(path string, k spec.Known, s *spec.Spec, err error, now time.Time) {
	s.Listed(path)
	c.keep(path, k.Key.(fileKey), s, err, now)
}

// keep records what parsing path gave, unless the file changed too
// recently to be told apart from a change to come.
func (c *listCache) keep(path string, key fileKey, s *spec.Spec, err error, now time.Time) {
	sn := s.Snapshot(err)
	e := &cacheEntry{Key: key, snap: encodeSnapshot(&sn)}
	c.mu.Lock()
	c.changed = true
	c.parsed++
	if !racy(key, now) {
		c.entries[path] = e
	}
	c.mu.Unlock()
}

// racy reports whether a file with stat data key changed too recently, at
// now, for a change to come to show in its stat data (within racyWindow).
func racy(key fileKey, now time.Time) bool {
	return now.Sub(time.Unix(0, max(key.Mtime, key.Ctime))) < racyWindow
}

// Save writes the cache if it changed (atomically; a failure only costs
// the next listing its speed).
func (c *listCache) Save() {
	c.closeDirs()
	old := c.known()
	if !c.changed && len(c.entries) == len(old) {
		return
	}
	if old != nil && c.parsed <= len(old)/saveFraction {
		// A few files parsed again cost the next listing less than
		// writing the whole cache costs this one (a run over 10,000 specs
		// changes one: 18 ms to write 1.5 MB); entries of files gone do
		// no harm.
		return
	}
	if c.partial {
		for path, e := range old {
			if c.entries[path] == nil {
				c.entries[path] = e
			}
		}
	}
	c.old = nil
	dir := filepath.Dir(c.path)
	if os.MkdirAll(dir, 0o777) != nil {
		return
	}
	// Streamed into a new file (never through a link), renamed over the
	// old one: a reader sees the old cache or the new one.
	tmp, err := os.CreateTemp(dir, ".specs-*")
	if err != nil {
		return
	}
	enc := &encoder{buf: []byte(cacheMagic)}
	headerCodec().enc(enc, unsafe.Pointer(&cacheHeader{Version: cacheVersion, Exe: c.exe, Count: len(c.entries), Listed: c.listed}))
	// Written as it goes: at 100,000 specs the whole would be 20 MB more
	// at the listing's peak.
	for path, e := range c.entries {
		if err != nil {
			break
		}
		writeCacheEntry(enc, path, e)
		if err = enc.err; err == nil && len(enc.buf) >= 64<<10 {
			_, err = tmp.Write(enc.buf)
			enc.buf = enc.buf[:0]
		}
	}
	if err == nil {
		_, err = tmp.Write(enc.buf)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), c.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
}

// statKey reads a file's stat data without following a symbolic link,
// by its name in a directory opened once (dirs); ok is false for anything
// but a regular file (which the normal read reports).
func (c *statter) statKey(path string) (fileKey, bool) {
	dir, name := filepath.Split(path)
	c.mu.Lock()
	if c.dirs == nil {
		c.dirs = map[string]int{}
	}
	fd, ok := c.dirs[dir]
	if !ok {
		var err error
		if fd, err = unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
			fd = -1
		}
		c.dirs[dir] = fd
	}
	c.mu.Unlock()
	var st unix.Stat_t
	if fd < 0 || unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fileKey{}, false
	}
	return fileKey{Size: st.Size, Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano(), Ino: st.Ino, Dev: uint64(st.Dev), Mode: st.Mode}, true
}

// closeDirs closes the directories statKey opened.
func (c *statter) closeDirs() {
	for _, fd := range c.dirs {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	c.dirs = nil
}
