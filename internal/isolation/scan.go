package isolation

import (
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/chant-run/chant/internal/gitindex"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/safefs"
)

// workers scan and write directories in parallel: the work is system
// calls, so more than the CPUs.
var workers = max(4, 2*runtime.GOMAXPROCS(0))

// Change is a path whose content on disk is not what the tree should hold.
type Change struct {
	Path string
	Was  gitrepo.File // what it should be (absent: the path is new)
	Now  gitrepo.File // what it is (absent: deleted; ModeDir: a directory; ModeOther: neither file nor link)
}

// Modes of what a path can be on disk besides a file or a link.
const (
	ModeDir   = 0o040000
	ModeOther = 0o170000
)

// Scan compares the tree on disk with what it should hold (the base
// commit's files and chant's extra files) and returns every difference,
// sorted by path: changed, deleted and new files, new files ignored by
// the base's ignore rules excepted (unless Watched). A new directory
// holding a git repository is one change, its path with Now.Mode ModeDir.
func (t *Tree) Scan() ([]Change, error) {
	var pr *prune
	if t.notes != nil {
		if n, err := t.notes.read(); err == nil {
			pr = newPrune(n)
		} else {
			t.stopNotes() // incomplete: this scan and the next are full
		}
	}
	return t.scan(pr)
}

// scan is Scan guided by pr (nil: every directory is compared).
func (t *Tree) scan(pr *prune) ([]Change, error) {
	if t.ignore == nil {
		ig, err := newIgnorer(t.repo, t.index.Entries)
		if err != nil {
			return nil, err
		}
		t.ignore = ig
	}
	s := &scanner{t: t, root: safefs.Root{Dir: t.Dir}, prune: pr, sem: make(chan struct{}, workers)}
	s.extras = map[string]map[string]*extra{}
	for p, x := range t.extras {
		dir, name := splitPath(p)
		if s.extras[dir] == nil {
			s.extras[dir] = map[string]*extra{}
		}
		s.extras[dir][name] = x
	}
	s.wg.Add(1)
	go s.dir("", 0, len(t.index.Entries), s.extras[""])
	s.wg.Wait()
	if s.err != nil {
		return nil, s.err
	}
	sort.Slice(s.changes, func(i, j int) bool { return s.changes[i].Path < s.changes[j].Path })
	t.dirty = map[string]bool{}
	for _, c := range s.changes {
		t.dirty[c.Path] = true
	}
	t.known = true
	// Until something runs in the tree again, the next process need not
	// scan it (if saving fails, it does).
	if t.indexSum != "" {
		t.saveState()
	}
	return s.changes, nil
}

type scanner struct {
	t      *Tree
	root   safefs.Root
	extras map[string]map[string]*extra // by directory, then name
	prune  *prune                       // nil: compare every directory
	sem    chan struct{}
	wg     sync.WaitGroup

	mu      sync.Mutex
	changes []Change
	err     error
}

func (s *scanner) emit(c Change) {
	s.mu.Lock()
	s.changes = append(s.changes, c)
	s.mu.Unlock()
}

func (s *scanner) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
}

// dir compares directory rel with the index entries [lo, hi), which are
// those under it.
func (s *scanner) dir(rel string, lo, hi int, extras map[string]*extra) {
	defer s.wg.Done()
	kind := s.prune.kind(rel)
	if kind == pruneSkip {
		return // as it was when the notes began
	}
	s.sem <- struct{}{}
	var subdirs []func()
	defer func() {
		<-s.sem
		for _, f := range subdirs {
			f()
		}
	}()
	prefix := ""
	if rel != "" {
		prefix = rel + "/"
	}
	l := s.listing(prefix, lo, hi, extras)
	fd, err := s.root.OpenDir(rel, false)
	if err != nil {
		// Gone, or replaced by a file or link: everything under it is gone
		// (the parent reports what stands in its place).
		s.deleted(lo, hi)
		for name, x := range extras {
			s.emit(Change{Path: prefix + name, Was: x.file})
		}
		return
	}
	f := os.NewFile(uintptr(fd), rel)
	if kind == pruneThrough {
		// Its entries are as they were: only those that lead to a
		// changed directory are looked at.
		defer f.Close()
		for name := range s.prune.under[rel] {
			var st unix.Stat_t
			if (rel == "" && name == ".git") || unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
				continue
			}
			if spawn := s.entry(l, fd, name, &st); spawn != nil {
				subdirs = append(subdirs, spawn)
			}
		}
		return
	}
	names, err := f.Readdirnames(-1)
	if err != nil {
		f.Close()
		s.fail(err)
		return
	}
	defer f.Close()
	for _, name := range names {
		if rel == "" && name == ".git" {
			continue // the worktree's link to its git directory
		}
		var st unix.Stat_t
		if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			continue // gone since the listing
		}
		if spawn := s.entry(l, fd, name, &st); spawn != nil {
			subdirs = append(subdirs, spawn)
		}
	}
	s.unseen(l)
}

// dirListing is what the base holds in one directory being scanned, and
// what of it the scan has seen there.
type dirListing struct {
	prefix string            // the directory's path and a slash ("" at the root)
	files  map[string]int    // name → index entry
	dirs   map[string][2]int // name → its entries' range
	extras map[string]*extra // chant's own files there, over the base's
	seen   map[string]bool
}

// listing splits the index entries lo to hi (those under prefix) into the
// directory's files and subdirectories.
func (s *scanner) listing(prefix string, lo, hi int, extras map[string]*extra) *dirListing {
	entries := s.t.index.Entries
	l := &dirListing{prefix: prefix, files: map[string]int{}, dirs: map[string][2]int{}, extras: extras, seen: map[string]bool{}}
	for i := lo; i < hi; {
		rest := entries[i].Path[len(prefix):]
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			l.files[rest] = i
			i++
			continue
		}
		name := rest[:j]
		sub := prefix + name + "/"
		end := i + sort.Search(hi-i, func(k int) bool { return !strings.HasPrefix(entries[i+k].Path, sub) })
		l.dirs[name] = [2]int{i, end}
		i = end
	}
	return l
}

// entry compares what stands at name in the directory (fd, stat data st)
// with the base, and returns the scan of a subdirectory to start, if any.
func (s *scanner) entry(l *dirListing, fd int, name string, st *unix.Stat_t) func() {
	p := l.prefix + name
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	if x, ok := l.extras[name]; ok { // chant's own file, over the base's
		l.seen[name] = true
		s.compare(fd, name, p, st, x.file, &x.stat)
		return nil
	}
	if i, ok := l.files[name]; ok {
		l.seen[name] = true
		e := &s.t.index.Entries[i]
		if e.Mode != gitindex.ModeGitlink { // a submodule: not compared
			s.compare(fd, name, p, st, gitrepo.File{Mode: e.Mode, Hash: e.Hash}, &e.Stat)
		}
		return nil
	}
	r, ok := l.dirs[name]
	if !ok {
		return s.newPath(fd, name, p, st)
	}
	l.seen[name] = true
	switch {
	case s.t.omitted(p+"/") && isDir:
		// Its base files are not there: whatever is, is new.
		s.wg.Add(1)
		x := s.extras[p]
		return func() { go s.untracked(p, x) }
	case s.t.omitted(p + "/"):
		s.emit(Change{Path: p, Now: s.nowOf(fd, name, p, st)})
		s.missing(p, s.extras[p])
	case isDir:
		s.wg.Add(1)
		lo, hi, x := r[0], r[1], s.extras[p]
		return func() { go s.dir(p, lo, hi, x) }
	default:
		s.deleted(r[0], r[1])
		s.emit(Change{Path: p, Now: s.nowOf(fd, name, p, st)})
	}
	return nil
}

// unseen reports what the base (or chant) had in the directory and the
// scan did not find there: gone.
func (s *scanner) unseen(l *dirListing) {
	entries := s.t.index.Entries
	for name, i := range l.files {
		if _, over := l.extras[name]; !l.seen[name] && !over && entries[i].Mode != gitindex.ModeGitlink {
			s.emit(Change{Path: entries[i].Path, Was: gitrepo.File{Mode: entries[i].Mode, Hash: entries[i].Hash}})
		}
	}
	for name, r := range l.dirs {
		switch {
		case l.seen[name]:
		case s.t.omitted(l.prefix + name + "/"):
			s.missing(l.prefix+name, s.extras[l.prefix+name])
		default:
			s.deleted(r[0], r[1])
		}
	}
	for name, x := range l.extras {
		if !l.seen[name] {
			s.emit(Change{Path: l.prefix + name, Was: x.file})
		}
	}
}

// untracked reports every file of a new directory (one not in the base),
// its ignored ones excepted; a directory holding a git repository is
// reported whole.
func (s *scanner) untracked(rel string, extras map[string]*extra) {
	defer s.wg.Done()
	s.sem <- struct{}{}
	var subdirs []func()
	defer func() {
		<-s.sem
		for _, f := range subdirs {
			f()
		}
	}()
	fd, err := s.root.OpenDir(rel, false)
	if err != nil {
		return // gone since
	}
	f := os.NewFile(uintptr(fd), rel)
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		s.fail(err)
		return
	}
	for _, name := range names {
		if name == ".git" {
			s.emit(Change{Path: rel, Now: gitrepo.File{Mode: ModeDir}})
			return
		}
	}
	seen := map[string]bool{}
	for _, name := range names {
		p := rel + "/" + name
		var st unix.Stat_t
		if unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
			continue
		}
		isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
		if x, ok := extras[name]; ok && !isDir {
			seen[name] = true
			s.compare(fd, name, p, &st, x.file, &x.stat)
			continue
		}
		if spawn := s.newPath(fd, name, p, &st); spawn != nil {
			subdirs = append(subdirs, spawn)
		}
	}
	for name, x := range extras {
		if !seen[name] {
			s.emit(Change{Path: rel + "/" + name, Was: x.file})
		}
	}
}

// missing reports chant's files in directory rel (extras) as gone.
func (s *scanner) missing(rel string, extras map[string]*extra) {
	for name, x := range extras {
		s.emit(Change{Path: rel + "/" + name, Was: x.file})
	}
}

// newPath handles a path the base does not have: ignored (unless watched),
// it is skipped; a file is reported; a directory is walked, by the
// function returned, to be called once the caller has released its slot.
func (s *scanner) newPath(fd int, name, p string, st *unix.Stat_t) func() {
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	if !s.t.watched(p) && s.t.ignore.match(p, isDir) {
		return nil
	}
	if !isDir {
		s.emit(Change{Path: p, Now: s.nowOf(fd, name, p, st)})
		return nil
	}
	s.wg.Add(1)
	x := s.extras[p]
	return func() { go s.untracked(p, x) }
}

// compare checks one file against what it should be; stat data equal to
// the recorded one (and recorded before the racy time) means unchanged
// without reading it; otherwise it is hashed, and if unchanged after all
// its stat data is recorded.
func (s *scanner) compare(fd int, name, p string, st *unix.Stat_t, want gitrepo.File, rec *gitindex.Stat) {
	mode := modeOf(st)
	now := gitindex.FromUnix(st)
	if mode == want.Mode && now == *rec && before(rec.MTime, s.t.racy) && before(rec.CTime, s.t.racy) {
		return
	}
	cur := s.nowOf(fd, name, p, st)
	if cur == want {
		*rec = now // distinct entries per goroutine: no two scanners write one
		return
	}
	s.emit(Change{Path: p, Was: want, Now: cur})
}

// nowOf reads what a path is: a file or link with its blob hash, a
// directory, or something else.
func (s *scanner) nowOf(fd int, name, p string, st *unix.Stat_t) gitrepo.File {
	switch mode := modeOf(st); mode {
	case ModeDir, ModeOther:
		return gitrepo.File{Mode: mode}
	default:
		data, m, err := safefs.ReadAt(fd, name, p, 0)
		if err != nil {
			return gitrepo.File{Mode: ModeOther}
		}
		return gitrepo.File{Mode: m, Hash: gitrepo.BlobHash(data)}
	}
}

func (s *scanner) deleted(lo, hi int) {
	for i := lo; i < hi; i++ {
		e := &s.t.index.Entries[i]
		if e.Mode != gitindex.ModeGitlink {
			s.emit(Change{Path: e.Path, Was: gitrepo.File{Mode: e.Mode, Hash: e.Hash}})
		}
	}
}

func modeOf(st *unix.Stat_t) uint32 {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		if st.Mode&0o111 != 0 {
			return gitindex.ModeExecutable
		}
		return gitindex.ModeFile
	case unix.S_IFLNK:
		return gitindex.ModeSymlink
	case unix.S_IFDIR:
		return ModeDir
	}
	return ModeOther
}

func before(a, b gitindex.Time) bool {
	return a.Sec < b.Sec || a.Sec == b.Sec && a.Nsec < b.Nsec
}

func (t *Tree) watched(p string) bool {
	for _, w := range t.Watched {
		if p == w || strings.HasPrefix(p, w+"/") || strings.HasPrefix(w, p+"/") {
			return true
		}
	}
	return false
}

func splitPath(p string) (dir, name string) {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i], p[i+1:]
	}
	return "", p
}
