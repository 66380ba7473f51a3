package isolation

import (
	"errors"
	"sort"
	"strings"
)

// What the kernel noted of a tree while something ran there (Listen): the
// directories whose entries changed, so that a scan compares those and
// leaves the rest, which are as the tree was known to be when the notes
// began. A scan of 50,000 files is otherwise one lstat a file.
//
// The notes are inotify watches on every directory of the base (and the
// watched paths'). A watch on a directory hears of every change to its
// entries and to the content of its files (a write, a truncation, a file
// opened for writing closed, mmap's writes included, since their file is
// released only once unmapped), by whatever path or mount they came, but
// only by the name in that directory: a file with a second name elsewhere
// (a hard link) changes unheard. So the notes count only when every
// process that may write in the tree runs in a cage that refuses hard
// links (sandbox.Cage.BlocksLinks), and chant's own writes, which are
// heard like any other. A directory that appears (made, or moved in) is
// scanned whole. When the kernel's queue overflows, a watch cannot be
// added (fs.inotify.max_user_watches), or anything else is amiss, the
// notes are dropped and the scan is the full one.

// errNotesLost means the notes are incomplete: scan in full.
var errNotesLost = errors.New("the kernel's notes of the tree are incomplete")

// maxNoted bounds the directories noted: past it, a full scan is as cheap.
const maxNoted = 100000

// noted is what the notes say, at a scan.
type noted struct {
	dirs  map[string]bool // directories whose entries changed
	whole map[string]bool // directories that appeared: scanned whole
}

// Listen starts taking the kernel's notes of the tree, so that its scans
// compare only what changed from now on. Call it right after Sync, before
// anything but chant writes in the tree, and only when everything that
// will is caged without hard links (see above). Without notes (not Linux,
// too many directories), scans are full. The notes last until Settle or
// the next Sync.
func (t *Tree) Listen() {
	t.stopNotes()
	if !t.known || len(t.dirty) > 0 {
		return // what the tree holds is not known: nothing to note from
	}
	n, err := listen(t.Dir, t.noteDirs())
	if err != nil {
		return
	}
	t.notes = n
}

// Settle ends the phase's use of the tree: when the notes say what
// changed, the tree is scanned (cheaply) and recorded as known, so that
// the next process need not scan it; the notes stop.
func (t *Tree) Settle() error {
	defer t.stopNotes()
	if t.notes == nil || t.known {
		return nil
	}
	n, err := t.notes.read()
	if err != nil {
		return nil // the next Sync scans in full
	}
	_, err = t.scan(newPrune(n))
	return err
}

func (t *Tree) stopNotes() {
	if t.notes != nil {
		// Closing an inotify instance waits out the kernel's grace period
		// for its watches (10-25 ms measured here), which nothing here
		// needs: the process goes on meanwhile.
		go t.notes.close()
		t.notes = nil
	}
}

// noteDirs are the directories to watch: those of the base's files, every
// directory under a watched directory, and the existing ancestors of a
// watched path, all relative ("" the root).
func (t *Tree) noteDirs() []string {
	set := map[string]bool{"": true}
	addParents := func(p string) {
		for {
			i := strings.LastIndexByte(p, '/')
			if i < 0 {
				return
			}
			p = p[:i]
			if set[p] {
				return
			}
			set[p] = true
		}
	}
	for i := range t.index.Entries {
		addParents(t.index.Entries[i].Path)
	}
	root := t.Dir
	for _, w := range t.Watched {
		addParents(w)
		walkDirs(root, w, func(rel string) { set[rel] = true })
	}
	dirs := make([]string, 0, len(set))
	for d := range set {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	return dirs
}

// joinRel is dir/name, or name in the root ("").
func joinRel(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// prune is a scan's guide from the notes: which directories to compare,
// which to pass through to reach those, which to leave.
type prune struct {
	noted
	under map[string]map[string]bool // directory → names in it that lead to a noted one
}

func newPrune(n noted) *prune {
	p := &prune{noted: n, under: map[string]map[string]bool{}}
	add := func(m string) {
		for m != "" {
			dir, name := splitPath(m)
			if p.under[dir] == nil {
				p.under[dir] = map[string]bool{}
			}
			if p.under[dir][name] {
				return
			}
			p.under[dir][name] = true
			m = dir
		}
	}
	for d := range n.dirs {
		add(d)
	}
	for d := range n.whole {
		add(d)
	}
	return p
}

// Kinds of a directory for a pruned scan.
const (
	pruneSkip    = iota // nothing changed in or under it
	pruneThrough        // something changed under it, not in it
	pruneCompare        // its entries changed: compare them
)

// kind says how a scan treats directory rel ("" the root).
func (p *prune) kind(rel string) int {
	if p == nil || p.dirs[rel] {
		return pruneCompare
	}
	for a := rel; ; {
		if p.whole[a] {
			return pruneCompare
		}
		if a == "" {
			break
		}
		a, _ = splitPath(a)
	}
	if len(p.under[rel]) > 0 {
		return pruneThrough
	}
	return pruneSkip
}
