package store

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chant-run/chant/spec"
)

// A Reloader loads a workspace's specs again and again (as a run does
// before each phase), reading and parsing only the files that changed
// since its last load. On Linux it learns which ones from inotify; where
// it cannot (or when events were lost), from each file's stat data.
// It keeps the specs in memory, and unchanged files give the same
// *spec.Spec as before: specs are never changed in place. Its first load
// takes what the listing cache has, as a listing does (a spec's text read
// when first asked for). Close it when done.
type Reloader struct {
	w    *spec.Workspace
	disk *listCache          // the listing cache, for the first load (nil: none)
	mu   sync.Mutex          // guards next, written by parsing workers
	last map[string]reloaded // path → what the last load found
	next map[string]reloaded

	// named and also are Narrow's (named nil: whole loads).
	named, also []string

	loading  sync.Mutex // one Load at a time
	watch    *dirWatch  // nil: stat every file
	paths    []string   // the last listing (narrowed: the files read)
	listed   int        // how many files the last listing found
	archived map[string]bool
	index    map[string]int // path → its place in paths
	results  []spec.Parsed  // what each of paths gave
	set      *spec.Set
}

type reloaded struct {
	key fileKey
	s   *spec.Spec
	err error
}

// NewReloader returns a Reloader of w with nothing loaded yet. It starts
// reading the listing cache for its first load: made early (before a
// run's repairs), the reading is done sooner.
func NewReloader(w *spec.Workspace) *Reloader { return &Reloader{w: w, disk: openListCache(w)} }

// Load is spec's Workspace.Load, reading only what changed since the last Load.
// With nothing changed, it returns the same *spec.Set.
func (r *Reloader) Load() (*spec.Set, error) {
	r.loading.Lock()
	defer r.loading.Unlock()
	if r.watch != nil && r.set != nil {
		if set, ok, err := r.patch(); ok || err != nil {
			return set, err
		}
	}
	return r.full()
}

// Narrow makes every load read only the specs that those named (full or
// partial IDs, as spec's Resolve takes them) stand on, and the specs also
// names (full IDs, perhaps of no spec) with what they stand on: a set in
// which the named specs' Closure is what it is among all the specs,
// whatever their number (what a run of named specs needs). Only the
// specs' directories are listed whole. Loads are whole when a name
// resolves to no spec or to several: the caller finds that out as it
// would have, and so they are when none is named.
func (r *Reloader) Narrow(named, also []string) {
	r.named, r.also = nil, also
	if len(named) > 0 {
		r.named = append([]string{}, named...)
	}
}

// narrowed parses, of paths, the files of the specs Narrow asks for,
// round by round along RefIDs and the members the files' names give each
// driver (and so its other members, a member's prior siblings): a
// superset of Closure's walk. ok is false when a name does not resolve.
func (r *Reloader) narrowed(paths []string, archived map[string]bool, c spec.Cache) (chosen []string, results []spec.Parsed, ok bool, err error) {
	l := newListing(r.w, paths, archived)
	todo := append([]string{}, r.also...)
	for _, name := range r.named {
		id := name
		if len(l.files(name)) == 0 {
			if id, err = spec.ResolveID(l.ids, name); err != nil {
				return nil, nil, false, nil
			}
		}
		todo = append(todo, id)
	}
	seen := map[string]bool{}
	for len(todo) > 0 {
		var batch []string
		for _, id := range todo {
			if !seen[id] {
				seen[id] = true
				batch = append(batch, l.files(id)...)
			}
		}
		got, err := spec.ParseFiles(batch, archived, r.w.Rel, c)
		if err != nil {
			return nil, nil, false, err
		}
		chosen, results, todo = append(chosen, batch...), append(results, got...), todo[:0]
		for _, p := range got {
			todo = append(append(todo, p.Spec.RefIDs()...), l.members(p.Spec.ID)...)
		}
	}
	return chosen, results, true, nil
}

// listing finds spec files by ID in a workspace's listing (SpecFiles: the
// specs directory's, in order, then the archive's) without indexing all
// of it: a narrowed load reads a few of 10,000.
type listing struct {
	specs   []string            // the specs directory's files, in order
	prefix  string              // their directory, as their paths begin
	archive map[string][]string // ID → archived files
}

func newListing(w *spec.Workspace, paths []string, archived map[string]bool) *listing {
	l := &listing{specs: paths[:len(paths)-len(archived)], prefix: filepath.Join(w.SpecsDir, "x"), archive: map[string][]string{}}
	l.prefix = l.prefix[:len(l.prefix)-1]
	for _, p := range paths[len(l.specs):] {
		id := spec.IDFromPath(p)
		l.archive[id] = append(l.archive[id], p)
	}
	return l
}

// files are the files of the spec id (two: a duplicate Assemble reports).
func (l *listing) files(id string) []string {
	var out []string
	if p := l.prefix + id + ".md"; id != "" {
		if _, found := slices.BinarySearch(l.specs, p); found {
			out = append(out, p)
		}
	}
	return append(out, l.archive[id]...)
}

// members are the IDs whose file names make them members of driver.
func (l *listing) members(driver string) []string {
	var out []string
	from := l.prefix + driver + "."
	i, _ := slices.BinarySearch(l.specs, from)
	for ; i < len(l.specs) && strings.HasPrefix(l.specs[i], from); i++ {
		if id := spec.IDFromPath(l.specs[i]); spec.DriverOf(id) == driver {
			out = append(out, id)
		}
	}
	for id := range l.archive {
		if spec.DriverOf(id) == driver && len(l.files(id)) == len(l.archive[id]) {
			out = append(out, id) // archived alone
		}
	}
	return out
}

// ids yields each ID once.
func (l *listing) ids(yield func(string) bool) {
	for _, p := range l.specs {
		if !yield(spec.IDFromPath(p)) {
			return
		}
	}
	for id := range l.archive {
		if len(l.files(id)) == len(l.archive[id]) && !yield(id) { // not also in the specs directory
			return
		}
	}
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
func (r *Reloader) full() (*spec.Set, error) {
	if r.watch != nil {
		r.watch.close()
	}
	r.watch, r.set = nil, nil
	c := &reloadCache{r: r}
	known := r.listed
	if r.last == nil {
		// The first load starts from what the last listing or run left
		// (the listing cache), and leaves it for the next.
		c.disk, r.disk = r.disk, nil
		if c.disk == nil {
			c.disk = openListCache(r.w) // a load again after a failed one
		}
		if c.disk != nil {
			known = max(c.disk.count, c.disk.listed)
		}
	}
	// Following before listing: a change made meanwhile shows next time.
	if followFiles && known >= watchMin {
		r.watch = watchSpecs(r.w)
	}
	paths, archived, err := r.w.SpecFiles()
	if err != nil {
		return nil, err
	}
	var results []spec.Parsed
	narrowed := false
	r.listed = len(paths)
	if c.disk != nil {
		c.disk.listed = len(paths)
	}
	if r.named != nil {
		r.next = map[string]reloaded{}
		var chosen []string
		if chosen, results, narrowed, err = r.narrowed(paths, archived, c); narrowed {
			paths = chosen
		}
		if c.disk != nil {
			c.disk.partial = narrowed
		}
	}
	if !narrowed && err == nil {
		r.next = make(map[string]reloaded, len(paths))
		results, err = spec.ParseFiles(paths, archived, r.w.Rel, c)
	}
	c.Save()
	if err != nil {
		return nil, err
	}
	r.last, r.next = r.next, nil
	set := spec.Assemble(results, nil)
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
func (r *Reloader) patch() (set *spec.Set, ok bool, err error) {
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
	fresh, err := spec.ParseFiles(redo, r.archived, r.w.Rel, c)
	c.Save()
	if err != nil {
		return nil, false, err
	}
	if r.named != nil {
		// A narrowed load holds what its specs refer to: a spec changed
		// to refer to one it does not hold takes a load again.
		for _, p := range fresh {
			for _, id := range p.Spec.RefIDs() {
				if id != "" && r.set.Get(id) == nil {
					return nil, false, nil
				}
			}
		}
	}
	results := append([]spec.Parsed(nil), r.results...)
	for i, p := range redo {
		results[r.index[p]] = fresh[i]
	}
	r.results = results
	r.set = spec.Assemble(results, r.set)
	return r.set, true, nil
}

// reloadCache is one Load of a Reloader: a full one (stat data decides,
// what was found goes to next) or, fresh, the files known to have changed
// (read whatever their stat data, what was found replaces last's).
type reloadCache struct {
	statter
	r     *Reloader
	fresh bool
	// disk is the listing cache, on the first load (nil: none): a spec
	// it gives has its text read when first asked for, as a listing's.
	disk *listCache
}

func (c *reloadCache) Lookup(path, name string, spot *spec.Spec) spec.Known {
	key, ok := c.statKey(path)
	if !ok {
		missed(path)
		return spec.Known{}
	}
	if c.fresh {
		missed(path)
		return spec.Known{Key: key} // and last is being written
	}
	e, ok := c.r.last[path]
	if !ok || e.key != key || e.s.Path != name {
		if c.disk == nil {
			missed(path)
			return spec.Known{Key: key}
		}
		k := c.disk.restore(path, name, key, spot)
		if !k.Hit {
			missed(path)
			return k
		}
		e = reloaded{key, k.Spec, k.Err}
	}
	c.r.mu.Lock()
	c.r.next[path] = e
	c.r.mu.Unlock()
	return spec.Known{Hit: true, Spec: e.s, Err: e.err, Key: key}
}

func (c *reloadCache) Store(path string, k spec.Known, s *spec.Spec, err error, now time.Time) {
	key := k.Key.(fileKey)
	if c.disk != nil {
		c.disk.keep(path, key, s, err, now)
	}
	into := c.r.next
	if c.fresh {
		into = c.r.last
	}
	c.r.mu.Lock()
	defer c.r.mu.Unlock()
	// As in the listing cache: a file changed within the racy window may
	// change again without its stat data showing it.
	if racy(key, now) {
		delete(into, path)
		return
	}
	into[path] = reloaded{key, s, err}
}

func (c *reloadCache) Save() {
	c.closeDirs()
	if c.disk != nil {
		c.disk.Save()
	}
}
