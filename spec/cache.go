package spec

import (
	"bufio"
	"encoding/gob"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// The listing cache: what parsing each spec file gave, with the file's stat
// data, kept in chant's state directory (in .git, never in git status), so
// that listing a workspace reads and parses only the files that changed
// since, as git's index spares git status from reading unchanged files.
// Only the read-only commands use it (List); what writes specs reads them
// whole (Load).

// cacheVersion changes whenever what is cached changes.
const cacheVersion = 3

// racyWindow: a file changed this recently is not cached, since a change
// within the same clock tick of the file system would not show in its stat
// data (as git's racily clean entries). A variable for tests.
var racyWindow = 2 * time.Second

// followFiles says whether a Reloader may follow the spec directories'
// events rather than stat each file (see dirWatch). A variable for tests.
var followFiles = true

// parsedHook, when set (by tests), is called for each file a listing reads
// and parses rather than taking from the cache.
var parsedHook func(path string)

// The cache file is a gob stream: a cacheHeader, then a cacheRecord for
// each file (one small message each, rather than one message of the
// whole cache, which gob would build in memory first).
type cacheHeader struct {
	Version int
	Exe     string // the chant program that wrote it: another build may parse differently
	Count   int
}

type cacheRecord struct {
	Path  string
	Entry *cacheEntry
}

// fileKey is what identifies a file's content without reading it.
type fileKey struct {
	Size, Mtime, Ctime int64
	Ino, Dev           uint64
	Mode               uint32
}

type cacheEntry struct {
	Key  fileKey
	Spec cachedSpec
	Errs []cachedError // the parse errors
}

// cachedSpec is a parsed spec without its text: its Fields whole, so that
// a field added there is cached with no change here.
type cachedSpec struct {
	ID, Title     string
	Fields        Fields
	Criteria      []Criterion
	Layout        [8]int // layout, in field order
	HasFM, Broken bool
}

type cachedError struct {
	Line, Col int
	Msg       string
}

// specCache is what loadFiles asks before parsing a file, and tells after:
// the listing cache (of read-only commands, on disk) and a Reloader (of a
// run, in memory).
type specCache interface {
	// statKey reads a file's stat data; ok is false for anything but a
	// regular file.
	statKey(path string) (key fileKey, ok bool)
	// lookup returns the spec known for path if the file is as it was
	// (made in spot, or one kept whole).
	lookup(path, name string, key fileKey, spot *Spec) (*Spec, error, bool)
	// store records what parsing path gave.
	store(path string, key fileKey, s *Spec, err error, now time.Time)
	// save ends the load.
	save()
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
	path    string
	exe     string
	old     map[string]*cacheEntry
	mu      sync.Mutex
	entries map[string]*cacheEntry
	changed bool
}

// openListCache reads the cache of the workspace, or starts an empty one;
// nil when the workspace has no git directory to keep it in.
func (w *Workspace) openListCache() *listCache {
	dir := w.StateDir()
	if dir == w.ChantDir {
		return nil // not a git repository: nowhere out of sight
	}
	c := &listCache{path: filepath.Join(dir, "cache", "specs"), exe: executableID(), entries: map[string]*cacheEntry{}}
	// Never through a symbolic link: the cache is chant's own file.
	fd, err := unix.Open(c.path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return c
	}
	file := os.NewFile(uintptr(fd), c.path)
	if fi, err := file.Stat(); err != nil || !fi.Mode().IsRegular() {
		file.Close()
		return c
	}
	defer file.Close()
	dec := gob.NewDecoder(bufio.NewReaderSize(file, 64<<10))
	var h cacheHeader
	if dec.Decode(&h) != nil || h.Version != cacheVersion || h.Exe != c.exe || h.Count < 0 {
		return c
	}
	old := make(map[string]*cacheEntry, min(h.Count, 1<<20))
	for range h.Count {
		var r cacheRecord
		if dec.Decode(&r) != nil || r.Entry == nil {
			return c // torn or foreign: start afresh
		}
		old[r.Path] = r.Entry
	}
	c.old = old
	return c
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

// lookup returns the spec cached for path, made in spot, if the file is as
// it was then.
func (c *listCache) lookup(path, name string, key fileKey, spot *Spec) (*Spec, error, bool) {
	e, ok := c.old[path]
	if !ok || e.Key != key {
		return nil, nil, false
	}
	c.mu.Lock()
	c.entries[path] = e
	c.mu.Unlock()
	s, err := e.restore(path, name, spot)
	return s, err, true
}

// store records what parsing path gave, unless the file changed too
// recently to be told apart from a change to come, and leaves the spec as
// a listing has it: without its text, read again when needed (so that a
// listing holds as little as the cache gives).
func (c *listCache) store(path string, key fileKey, s *Spec, err error, now time.Time) {
	s.Criteria() // parsed now, from the text at hand
	compact(s)
	e := newCacheEntry(key, s, err)
	c.mu.Lock()
	c.changed = true
	if now.Sub(time.Unix(0, max(key.Mtime, key.Ctime))) >= racyWindow {
		c.entries[path] = e
	}
	c.mu.Unlock()
	s.src, s.abs = nil, path // as a spec from the cache: its text read when needed
}

// save writes the cache if it changed (atomically; a failure only costs
// the next listing its speed).
func (c *listCache) save() {
	c.closeDirs()
	if !c.changed && len(c.entries) == len(c.old) {
		return
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
	w := bufio.NewWriterSize(tmp, 64<<10)
	enc := gob.NewEncoder(w)
	err = enc.Encode(cacheHeader{Version: cacheVersion, Exe: c.exe, Count: len(c.entries)})
	for path, e := range c.entries {
		if err != nil {
			break
		}
		err = enc.Encode(cacheRecord{Path: path, Entry: e})
	}
	if err == nil {
		err = w.Flush()
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

func newCacheEntry(key fileKey, s *Spec, err error) *cacheEntry {
	l := s.layout
	e := &cacheEntry{Key: key, Spec: cachedSpec{
		ID: s.ID, Title: s.Title, Fields: s.Fields, Criteria: s.Criteria(),
		Layout: [8]int{l.bom, l.yamlStart, l.yamlEnd, l.bodyStart, l.closeLine, l.yamlOffset},
		HasFM:  l.hasFM, Broken: s.broken,
	}}
	var list Errors
	var one *Error
	switch {
	case err == nil:
	case errors.As(err, &list):
		for _, x := range list {
			if errors.As(x, &one) {
				e.Errs = append(e.Errs, cachedError{one.Line, one.Col, one.Msg})
			}
		}
	case errors.As(err, &one):
		e.Errs = append(e.Errs, cachedError{one.Line, one.Col, one.Msg})
	}
	return e
}

// restore makes the cached spec again in s (zero), its text to be read
// when needed.
func (e *cacheEntry) restore(path, name string, s *Spec) (*Spec, error) {
	c := e.Spec
	s.ID, s.Path, s.abs, s.Title, s.Fields, s.broken = c.ID, name, path, c.Title, c.Fields, c.Broken
	s.layout = layout{bom: c.Layout[0], yamlStart: c.Layout[1], yamlEnd: c.Layout[2], bodyStart: c.Layout[3],
		closeLine: c.Layout[4], yamlOffset: c.Layout[5], hasFM: c.HasFM}
	s.criteria = c.Criteria
	s.criteriaOnce.Do(func() {})
	var errs Errors
	for _, x := range e.Errs {
		errs = append(errs, &Error{Path: name, Line: x.Line, Col: x.Col, Msg: x.Msg})
	}
	switch len(errs) {
	case 0:
		return s, nil
	case 1:
		return s, errs[0]
	}
	return s, errs
}

// compact moves the strings of s into one allocation: a listing of
// 100,000 specs otherwise holds millions of small strings scattered among
// what parsing left, which keeps the heap twice the size of what it holds.
func compact(s *Spec) {
	size := 0
	each := func(f func(*string)) {
		for _, p := range []*string{&s.ID, &s.Path, &s.Type, &s.Status, &s.Prompt, &s.Model, &s.CompletedAt,
			&s.VerificationStatus, &s.LastVerified, &s.Title} {
			f(p)
		}
		for _, l := range []*[]string{&s.DependsOn, &s.Labels, &s.TargetFiles, &s.Context, &s.InformedBy, &s.Commits,
			&s.Members, &s.VerificationFailures} {
			for i := range *l {
				f(&(*l)[i])
			}
		}
		if a := s.Approval; a != nil {
			for _, p := range []*string{&a.Status, &a.By, &a.At, &a.Hash, &a.Commit} {
				f(p)
			}
		}
		for i := range s.Checks {
			for _, p := range []*string{&s.Checks[i].Run, &s.Checks[i].Expect, &s.Checks[i].Timeout} {
				f(p)
			}
		}
		for i := range s.criteria {
			f(&s.criteria[i].Text)
		}
	}
	each(func(p *string) { size += len(*p) })
	var b strings.Builder
	b.Grow(size)
	each(func(p *string) { b.WriteString(*p) })
	all, off := b.String(), 0
	each(func(p *string) {
		n := len(*p)
		*p, off = all[off:off+n], off+n
	})
}

// A Reloader loads a workspace's specs again and again (as a run does
// before each phase), reading and parsing only the files that changed
// since its last load. On Linux it learns which ones from inotify; where
// it cannot (or when events were lost), from each file's stat data.
// Unlike the listing cache it keeps whole specs, text included, in
// memory, and unchanged files give the same *Spec as before: specs are
// never changed in place. Close it when done.
type Reloader struct {
	w    *Workspace
	mu   sync.Mutex          // guards next, written by parsing workers
	last map[string]reloaded // path → what the last load found
	next map[string]reloaded

	loading  sync.Mutex // one Load at a time
	watch    *dirWatch  // nil: stat every file
	paths    []string   // the last listing
	archived map[string]bool
	index    map[string]int // path → its place in paths
	results  []parsed       // what each of paths gave
	set      *Set
}

type reloaded struct {
	key fileKey
	s   *Spec
	err error
}

// Reloader returns a Reloader of w with nothing loaded yet.
func (w *Workspace) Reloader() *Reloader { return &Reloader{w: w} }

// Load is Workspace.Load, reading only what changed since the last Load.
// With nothing changed, it returns the same *Set.
func (r *Reloader) Load() (*Set, error) {
	r.loading.Lock()
	defer r.loading.Unlock()
	if r.watch != nil && r.set != nil {
		if set, ok, err := r.patch(); ok || err != nil {
			return set, err
		}
	}
	return r.full()
}

// Close stops following the workspace's files.
func (r *Reloader) Close() {
	r.loading.Lock()
	defer r.loading.Unlock()
	if r.watch != nil {
		r.watch.close()
		r.watch = nil
	}
	r.set = nil
}

// full lists the spec files and reads those whose stat data changed.
func (r *Reloader) full() (*Set, error) {
	// Following before listing: a change made meanwhile shows next time.
	if r.watch != nil {
		r.watch.close()
	}
	r.watch, r.set = nil, nil
	if followFiles {
		r.watch = watchSpecs(r.w)
	}
	paths, archived, err := r.w.specFiles()
	if err != nil {
		return nil, err
	}
	r.next = make(map[string]reloaded, len(paths))
	c := &reloadCache{r: r}
	results, err := parseFiles(paths, archived, r.w.Rel, c)
	c.save()
	if err != nil {
		return nil, err
	}
	r.last, r.next = r.next, nil
	set := assemble(results, nil)
	r.paths, r.archived, r.results, r.set = paths, archived, results, set
	r.index = make(map[string]int, len(paths))
	for i, p := range paths {
		r.index[p] = i
	}
	return set, nil
}

// patch reads again the files inotify says changed; ok is false when the
// listing itself may have changed (a file made or removed, an event lost):
// then only a full load will do.
func (r *Reloader) patch() (set *Set, ok bool, err error) {
	changed, all := r.watch.changes(r.w)
	if all {
		return nil, false, nil
	}
	if len(changed) == 0 {
		return r.set, true, nil
	}
	var redo []string
	for p := range changed {
		i, listed := r.index[p]
		fi, err := os.Lstat(p)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, false, nil
		}
		// What specFiles lists: anything but a directory named *.md.
		if present := err == nil && !fi.IsDir() && strings.HasSuffix(p, ".md"); present != listed {
			return nil, false, nil
		}
		if listed {
			redo = append(redo, r.paths[i])
		}
	}
	if len(redo) == 0 {
		return r.set, true, nil
	}
	c := &reloadCache{r: r, fresh: true}
	fresh, err := parseFiles(redo, r.archived, r.w.Rel, c)
	c.save()
	if err != nil {
		return nil, false, err
	}
	results := append([]parsed(nil), r.results...)
	for i, p := range redo {
		results[r.index[p]] = fresh[i]
	}
	r.results = results
	r.set = assemble(results, r.set)
	return r.set, true, nil
}

// reloadCache is one Load of a Reloader: a full one (stat data decides,
// what was found goes to next) or, fresh, the files known to have changed
// (read whatever their stat data, what was found replaces last's).
type reloadCache struct {
	statter
	r     *Reloader
	fresh bool
}

func (c *reloadCache) lookup(path, name string, key fileKey, _ *Spec) (*Spec, error, bool) {
	if c.fresh {
		return nil, nil, false // and last is being written
	}
	e, ok := c.r.last[path]
	if !ok || e.key != key || e.s.Path != name {
		return nil, nil, false
	}
	c.r.mu.Lock()
	c.r.next[path] = e
	c.r.mu.Unlock()
	return e.s, e.err, true
}

func (c *reloadCache) store(path string, key fileKey, s *Spec, err error, now time.Time) {
	into := c.r.next
	if c.fresh {
		into = c.r.last
	}
	c.r.mu.Lock()
	defer c.r.mu.Unlock()
	// As in the listing cache: a file changed within the racy window may
	// change again without its stat data showing it.
	if now.Sub(time.Unix(0, max(key.Mtime, key.Ctime))) < racyWindow {
		delete(into, path)
		return
	}
	into[path] = reloaded{key, s, err}
}

func (c *reloadCache) save() { c.closeDirs() }
