// Package isolation gives each phase its own checkout: a repository of
// its own that borrows the user's objects (git's alternates), detached at
// the phase's commit, kept between phases in chant's cache directory so
// that a large repository pays the checkout once. The agent works there; the user's
// working tree and index are never touched by its work.
//
// The tree keeps a trusted picture of what its files should be (the base
// commit's files, with the stat data last seen, and the files chant wrote
// itself), so that finding what an agent changed is one scan of the file
// system comparing stat data, as git status does, hashing only files whose
// stat data changed.
package isolation

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"golang.org/x/sys/unix"

	"github.com/chant-run/chant/internal/gitindex"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/safefs"
)

// DirEnv names the directory chant keeps phase worktrees in; by default
// chant/worktrees in the user's cache directory (~/.cache on Linux).
const DirEnv = "CHANT_WORKTREE_DIR"

// Tree is a phase worktree.
type Tree struct {
	slot string // its name among the repository's worktrees
	Dir  string // the work tree's root

	repo        *gitrepo.Repo
	admin       string // its git directory, .git in the tree
	legacyAdmin string // where a linked worktree's was: <common>/worktrees/<name>
	statePath   string

	base   plumbing.Hash
	index  *gitindex.Index // base's files with the stat data chant last saw
	racy   gitindex.Time   // stat data recorded at or after this is not trusted
	extras map[string]*extra
	dirty  map[string]bool // paths known to differ from base and extras
	known  bool            // dirty is complete: nothing else touched the tree
	// savedKnown: the saved state says what the tree holds (its base but
	// for the paths it lists), untouched since, so that the next process's
	// Sync need not scan it.
	savedKnown bool
	ignore     *ignorer // base's ignore rules
	// Watched are paths (files or directories) compared whether ignored
	// or not: the workspace's .chant directory, the phase's targets.
	Watched []string
	// Omitted are directories whose base files are not checked out (as a
	// sparse checkout leaves them out): the workspace's spec directories,
	// which would make every phase's checkout and scan grow with the
	// number of specs. What chant puts there (the phase's own spec) is
	// there; anything else there is the agent's and a change. Set it
	// before Sync.
	Omitted  []string
	indexSum string // of the index file last written
	notes    *notes // what the kernel noted since Listen; nil: none
}

// extra is a file chant wrote into the tree beyond the base commit.
type extra struct {
	file gitrepo.File
	stat gitindex.Stat
}

type savedState struct {
	Dir      string        `json:"dir"`
	Base     string        `json:"base"`
	IndexSum string        `json:"index_sum"`
	Racy     gitindex.Time `json:"racy"`
	Watched  []string      `json:"watched,omitempty"`
	// Known: when saved, the tree held Base but for the Differ paths, and
	// nothing has run in it or been written there since (see Tree.forget).
	Known  bool     `json:"known,omitempty"`
	Differ []string `json:"differ,omitempty"`
}

// Location returns where the worktree of slot for repo lives, and the name
// its git directory had under <common>/worktrees when chant's trees were
// linked worktrees.
func Location(repo *gitrepo.Repo, slot string) (dir, name string, err error) {
	return locationIn("", repo, slot)
}

// locationIn is Location under base ("": CHANT_WORKTREE_DIR, else the
// user's cache).
func locationIn(base string, repo *gitrepo.Repo, slot string) (dir, name string, err error) {
	if base == "" {
		base = BaseDir()
	}
	abs, err := filepath.Abs(repo.CommonDir)
	if err != nil {
		return "", "", err
	}
	sum := sha1.Sum([]byte(abs))
	id := hex.EncodeToString(sum[:4])
	project := filepath.Base(repo.Root)
	return filepath.Join(base, project+"-"+id, slot), "chant-" + id + "-" + slot, nil
}

// Open returns the phase worktree slot of repo, as chant last left it. It
// is created, or brought back, by Sync.
func Open(repo *gitrepo.Repo, slot string) (*Tree, error) {
	return OpenIn("", repo, slot)
}

// OpenIn is Open with the worktree under base (a worker keeps its trees
// in its own directory); "" is Open's place.
func OpenIn(base string, repo *gitrepo.Repo, slot string) (*Tree, error) {
	dir, name, err := locationIn(base, repo, slot)
	if err != nil {
		return nil, err
	}
	t := &Tree{
		Dir: dir, repo: repo, slot: slot,
		admin:       filepath.Join(dir, ".git"),
		legacyAdmin: filepath.Join(repo.CommonDir, "worktrees", name),
		statePath:   filepath.Join(repo.StateDir(), "worktrees", slot+".json"),
		index:       gitindex.New(),
		extras:      map[string]*extra{},
		dirty:       map[string]bool{},
	}
	var st savedState
	data, err := os.ReadFile(t.statePath)
	if err != nil || json.Unmarshal(data, &st) != nil || st.Dir != dir {
		return t, nil // never made here, or unreadable: Sync starts afresh
	}
	if fi, err := os.Lstat(t.admin); err != nil || !fi.IsDir() {
		return t, nil
	}
	t.base = plumbing.NewHash(st.Base)
	t.Watched = st.Watched
	raw, err := os.ReadFile(filepath.Join(t.admin, "index"))
	if err == nil && wroteIndex(raw, st.IndexSum) {
		if ix, err := gitindex.Decode(raw); err == nil {
			t.index, t.racy, t.indexSum = ix, st.Racy, st.IndexSum
			t.known, t.savedKnown = st.Known, st.Known
			for _, p := range st.Differ {
				t.dirty[p] = true // as Sync treats them: back to the base
			}
			return t, nil
		}
	}
	// The index is not the one chant wrote (an agent ran git add there):
	// its stat data cannot be trusted, so every file will be hashed once.
	entries, err := repo.Entries(t.base)
	if err != nil {
		return t, nil
	}
	t.index = &gitindex.Index{Version: 2, Entries: entries}
	return t, nil
}

// Base is the commit the tree was last synced to.
func (t *Tree) Base() plumbing.Hash { return t.base }

// Slot is the name the tree was opened by.
func (t *Tree) Slot() string { return t.slot }

// Sync makes the tree's files exactly those of commit: what an agent
// changed or left is undone, chant's own extra files are removed (ignored
// files, such as build output, stay). A tree that does not exist yet is
// checked out in full.
func (t *Tree) Sync(commit plumbing.Hash) error {
	fresh := false
	if fi, err := os.Lstat(t.admin); err != nil || t.base.IsZero() || !fi.IsDir() {
		fresh = true
	}
	// A tree known to hold commit, and recorded so, is left as it is: a
	// worker syncs a slot to the phase's base to read its config, and the
	// phase then syncs it again.
	same := !fresh && t.known && t.savedKnown && t.base == commit
	if !fresh && !t.known {
		if _, err := t.Scan(); err != nil {
			return err
		}
	}
	// What follows changes the tree from what the notes began with.
	t.stopNotes()
	if err := t.writeAdmin(commit); err != nil {
		return err
	}
	if fresh {
		return t.checkout(commit)
	}
	target, paths, err := t.targets(commit)
	if err != nil {
		return err
	}
	if len(paths) > 0 {
		if err := t.forget(); err != nil { // cut off half-way, the tree is neither
			return err
		}
	}
	root := safefs.Root{Dir: t.Dir}
	absent := t.absentOmitted(root)
	for _, p := range paths {
		if err := t.put(root, p, target[p], absent); err != nil {
			return err
		}
	}
	flagged := t.markOmitted()
	if same && len(paths) == 0 && !flagged {
		return nil
	}
	t.base = commit
	t.extras = map[string]*extra{}
	t.dirty = map[string]bool{}
	t.ignore = nil
	t.known = true
	return t.save()
}

// targets is what a sync to commit writes, by path, and its paths in
// order: what differs between the base and commit, what the agent changed
// and chant's own extra files (back to the base).
func (t *Tree) targets(commit plumbing.Hash) (map[string]gitrepo.File, []string, error) {
	diff, err := t.repo.Diff(t.base, commit)
	if err != nil {
		return nil, nil, err
	}
	target := map[string]gitrepo.File{}
	for _, c := range diff {
		target[c.Path] = c.To
	}
	for p := range t.dirty {
		if _, ok := target[p]; !ok {
			target[p] = t.baseFile(p)
		}
	}
	for p := range t.extras {
		if _, ok := target[p]; !ok {
			target[p] = t.baseFile(p)
		}
	}
	paths := make([]string, 0, len(target))
	for p := range target {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return target, paths, nil
}

// absentOmitted are the omitted directories not in the tree: nothing there
// to remove (after many landings, each of their files is in the diff).
func (t *Tree) absentOmitted(root safefs.Root) map[string]bool {
	absent := map[string]bool{}
	for _, o := range t.Omitted {
		if _, err := root.Lstat(o); errors.Is(err, os.ErrNotExist) {
			absent[o] = true
		}
	}
	return absent
}

// put writes one path of the base into the tree and records it; absent
// are the omitted directories that are not in the tree.
func (t *Tree) put(root safefs.Root, p string, f gitrepo.File, absent map[string]bool) error {
	if o, ok := t.omittedUnder(p); ok {
		// Recorded, never written: whatever stands there goes.
		if !absent[o] {
			if err := root.RemoveAll(p); err != nil {
				return err
			}
		}
		if !f.Exists() {
			t.index.Remove(p)
		} else {
			t.index.Set(gitindex.Entry{Path: p, Mode: f.Mode, Hash: f.Hash, ExtFlags: skipWorktree})
		}
		return nil
	}
	if !f.Exists() || f.Mode == gitindex.ModeGitlink {
		if err := root.RemoveAll(p); err != nil {
			return err
		}
		t.index.Remove(p)
		return nil
	}
	data, err := t.repo.ReadBlob(f.Hash)
	if err != nil {
		return err
	}
	if st, err := root.Lstat(p); err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
		if err := root.RemoveAll(p); err != nil {
			return err
		}
	}
	// A path under something that is now a file (the agent replaced a
	// directory by a file) cannot be written until that file goes.
	for dir := filepath.ToSlash(filepath.Dir(p)); dir != "."; dir = filepath.ToSlash(filepath.Dir(dir)) {
		if st, err := root.Lstat(dir); err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
			root.RemoveAll(dir)
		}
	}
	if err := root.WriteFile(p, data, f.Mode, false); err != nil {
		return err
	}
	e := gitindex.Entry{Path: p, Mode: f.Mode, Hash: f.Hash}
	if st, err := root.Lstat(p); err == nil {
		e.Stat = gitindex.FromUnix(&st)
	}
	t.index.Set(e)
	return nil
}

// baseFile is what the base holds at p.
func (t *Tree) baseFile(p string) gitrepo.File {
	if e, ok := t.index.Get(p); ok {
		return gitrepo.File{Mode: e.Mode, Hash: e.Hash}
	}
	return gitrepo.File{}
}

// skipWorktree is the index's flag for a file a sparse checkout leaves
// out: git in the tree takes it as unchanged.
const skipWorktree = 0x4000

// omitted reports whether p is under one of Omitted.
func (t *Tree) omitted(p string) bool {
	_, ok := t.omittedUnder(p)
	return ok
}

// omittedUnder is the directory of Omitted that p is under, if any.
func (t *Tree) omittedUnder(p string) (string, bool) {
	for _, o := range t.Omitted {
		if strings.HasPrefix(p, o+"/") {
			return o, true
		}
	}
	return "", false
}

// markOmitted flags the index entries of omitted paths for git in the
// tree, and only those (Omitted may have changed since the index was
// written); changed says whether a flag changed.
func (t *Tree) markOmitted() (changed bool) {
	for i := range t.index.Entries {
		e := &t.index.Entries[i]
		was := e.ExtFlags
		if t.omitted(e.Path) {
			e.ExtFlags |= skipWorktree
		} else {
			e.ExtFlags &^= skipWorktree
		}
		changed = changed || e.ExtFlags != was
	}
	return changed
}

// Put writes a file of chant's into the tree (the phase's spec, files
// copied from the user's tree): it becomes part of what the tree should
// hold, so a later change to it is the agent's.
func (t *Tree) Put(rel string, data []byte, mode uint32) error {
	if err := t.forget(); err != nil {
		return err
	}
	root := safefs.Root{Dir: t.Dir}
	if err := root.WriteFile(rel, data, mode, false); err != nil {
		return err
	}
	st, err := root.Lstat(rel)
	if err != nil {
		return err
	}
	t.extras[rel] = &extra{file: gitrepo.File{Mode: mode, Hash: gitrepo.BlobHash(data)}, stat: gitindex.FromUnix(&st)}
	delete(t.dirty, rel)
	return nil
}

// Provide writes a file copied from the user's working tree (an
// isolation.copy file such as .env). Unless the base's rules ignore it, it
// becomes part of what the tree should hold, like Put.
func (t *Tree) Provide(rel string, data []byte, mode uint32) error {
	if err := t.Put(rel, data, mode); err != nil {
		return err
	}
	if t.ignore == nil {
		ig, err := newIgnorer(t.repo, t.index.Entries)
		if err != nil {
			return err
		}
		t.ignore = ig
	}
	if t.ignore.match(rel, false) {
		delete(t.extras, rel) // ignored: the agent may change it, it never lands
	}
	return nil
}

// Watch sets Watched and saves it: a Sync after a crash compares the
// same paths.
func (t *Tree) Watch(paths []string) error {
	t.Watched = paths
	if t.base.IsZero() || t.indexSum == "" {
		return nil // not synced yet: nothing saved to extend
	}
	return t.saveState()
}

// Admin is the tree's git directory.
func (t *Tree) Admin() string { return t.admin }

// Touched says that something other than chant may change the tree from
// now on (the agent, a check, a setup command): the next Sync, of this
// process or another, scans it first. It is said before they start.
func (t *Tree) Touched() error {
	t.known = false
	return t.forget()
}

// forget records, before the tree changes, that what it holds is no
// longer known: a process cut off from then on leaves a tree that the next
// one scans.
func (t *Tree) forget() error {
	if !t.savedKnown {
		return nil
	}
	return t.writeState(false)
}

// Read returns a file of the tree without following symbolic links: its
// content (a link's target) and mode.
func (t *Tree) Read(rel string) ([]byte, uint32, error) {
	return safefs.Root{Dir: t.Dir}.ReadFile(rel, 0)
}

// writeAdmin writes the tree's git directory, .git in the tree: a
// repository of its own, with HEAD detached at commit, whose objects are
// the user's (objects/info/alternates), so that git works there as usual.
// Whatever an agent does with git there (commits, branches, stashes,
// config) stays there and is wiped at every sync. A linked worktree would
// share the user's refs and config, and lead tools that look for the main
// worktree (opencode takes it as its project's root) to the user's tree.
func (t *Tree) writeAdmin(commit plumbing.Hash) error {
	if err := os.MkdirAll(t.Dir, 0o777); err != nil {
		return err
	}
	root := safefs.Root{Dir: t.Dir}
	if st, err := root.Lstat(".git"); err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
		// A linked worktree's .git file (chant's trees were linked once),
		// or something an agent put there.
		if err := root.RemoveAll(".git"); err != nil {
			return err
		}
	}
	if t.legacyAdmin != "" {
		os.RemoveAll(t.legacyAdmin)
	}
	if err := root.MkdirAll(".git"); err != nil {
		return err
	}
	objects, err := filepath.Abs(filepath.Join(t.repo.CommonDir, "objects"))
	if err != nil {
		return err
	}
	config := "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n\tlogallrefupdates = false\n"
	want := map[string]string{
		"HEAD":                    commit.String() + "\n",
		"description":             "chant's phase worktree of " + t.repo.Root + "\n",
		"objects":                 adminDir,
		"objects/info":            adminDir,
		"objects/info/alternates": objects + "\n",
		"refs":                    adminDir,
		"refs/heads":              adminDir,
		"refs/tags":               adminDir,
	}
	if len(t.Omitted) > 0 {
		// So that git in the tree (a reset, a checkout) keeps them out too.
		config += "\tsparseCheckout = true\n"
		patterns := "/*\n"
		for _, o := range t.Omitted {
			patterns += "!/" + o + "/\n"
		}
		want["info"], want["info/sparse-checkout"] = adminDir, patterns
	}
	want["config"] = config
	gitRoot := safefs.Root{Dir: t.admin}
	names, intact := adminHolds(t.admin, want)
	if !intact {
		// Whatever else is there (hooks, config, refs of an agent's) goes.
		entries, err := os.ReadDir(t.admin)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.Name() != "index" {
				if err := gitRoot.RemoveAll(e.Name()); err != nil {
					return err
				}
			}
		}
		names = names[:0]
		for name := range want {
			names = append(names, name)
		}
	}
	sort.Strings(names) // a directory before what it holds
	for _, name := range names {
		var err error
		if want[name] == adminDir {
			err = gitRoot.MkdirAll(name)
		} else {
			err = gitRoot.WriteFile(name, []byte(want[name]), safefs.Regular, false)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// adminDir marks a directory among a git directory's wanted paths.
const adminDir = "\x00dir"

// adminHolds reports whether the git directory admin holds what want
// says (paths to contents, or adminDir), besides its index: nothing more,
// nothing less, no links; stale are the files whose content differs.
// Reading it is cheaper than writing it all again.
func adminHolds(admin string, want map[string]string) (stale []string, ok bool) {
	found := 0
	err := filepath.WalkDir(admin, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(admin, p)
		rel = filepath.ToSlash(rel)
		if rel == "." || rel == "index" {
			return nil
		}
		content, ok := want[rel]
		switch {
		case !ok:
			return errAdminDiffers
		case d.IsDir():
			if content != adminDir {
				return errAdminDiffers
			}
		case d.Type().IsRegular() && content != adminDir:
			data, _, err := (safefs.Root{Dir: admin}).ReadFile(rel, int64(len(content))+1)
			if err != nil || string(data) != content {
				stale = append(stale, rel)
			}
		default:
			return errAdminDiffers
		}
		found++
		return nil
	})
	return stale, err == nil && found == len(want)
}

var errAdminDiffers = errors.New("the git directory is not as chant wrote it")

// checkout writes every file of commit into an empty tree.
func (t *Tree) checkout(commit plumbing.Hash) error {
	// Whatever was there (a tree cut off mid-checkout) goes.
	entries, err := os.ReadDir(t.Dir)
	if err != nil {
		return err
	}
	root := safefs.Root{Dir: t.Dir}
	for _, e := range entries {
		if e.Name() != ".git" {
			if err := root.RemoveAll(e.Name()); err != nil {
				return err
			}
		}
	}
	files, err := t.repo.Entries(commit)
	if err != nil {
		return err
	}
	visible := files
	if len(t.Omitted) > 0 {
		visible = make([]gitindex.Entry, 0, len(files))
		for _, e := range files {
			if !t.omitted(e.Path) {
				visible = append(visible, e)
			}
		}
	}
	if err := t.writeAll(visible); err != nil {
		return err
	}
	if len(t.Omitted) > 0 {
		// The stat data writeAll recorded, back into the whole list.
		j := 0
		for i := range files {
			if j < len(visible) && visible[j].Path == files[i].Path {
				files[i] = visible[j]
				j++
			}
		}
	}
	t.index = &gitindex.Index{Version: 2, Entries: files}
	t.markOmitted()
	t.base = commit
	t.extras = map[string]*extra{}
	t.dirty = map[string]bool{}
	t.ignore = nil
	t.known = true
	// Wait for the file system's clock to pass the last write, so that the
	// stat data just recorded can be trusted from the first scan on.
	waitForClock(t.admin)
	return t.save()
}

// writeAll writes files (sorted by path) in parallel, a directory at a
// time, recording their stat data in place.
func (t *Tree) writeAll(files []gitindex.Entry) error {
	type dirFiles struct {
		dir     string
		indexes []int
	}
	var dirs []dirFiles
	for i := range files {
		d := ""
		if j := strings.LastIndexByte(files[i].Path, '/'); j >= 0 {
			d = files[i].Path[:j]
		}
		if len(dirs) == 0 || dirs[len(dirs)-1].dir != d {
			dirs = append(dirs, dirFiles{dir: d})
		}
		dirs[len(dirs)-1].indexes = append(dirs[len(dirs)-1].indexes, i)
	}
	work := make(chan dirFiles)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			repo, err := gitrepo.Open(t.repo.Root) // go-git's storage is one reader per instance
			if err != nil {
				errs <- err
				return
			}
			root := safefs.Root{Dir: t.Dir}
			for d := range work {
				if err := writeDir(repo, root, d.dir, files, d.indexes); err != nil {
					errs <- err
					for range work {
					}
					return
				}
			}
		}()
	}
	for _, d := range dirs {
		work <- d
	}
	close(work)
	wg.Wait()
	close(errs)
	return <-errs
}

func writeDir(repo *gitrepo.Repo, root safefs.Root, dir string, files []gitindex.Entry, indexes []int) error {
	fd, err := root.OpenDir(dir, true)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	for _, i := range indexes {
		e := &files[i]
		name := e.Path[strings.LastIndexByte(e.Path, '/')+1:]
		if e.Mode == gitindex.ModeGitlink {
			unix.Mkdirat(fd, name, 0o777) // a submodule: an empty directory, as git leaves it
			continue
		}
		data, err := repo.ReadBlob(e.Hash)
		if err != nil {
			return err
		}
		if err := safefs.WriteAt(fd, name, e.Path, data, e.Mode, false); err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
			e.Stat = gitindex.FromUnix(&st)
		}
	}
	return nil
}

// save writes the worktree's index (git status there works, git fsck sees
// what it references) and chant's record of it.
func (t *Tree) save() error {
	data := t.index.Encode()
	path := filepath.Join(t.admin, "index")
	if err := (safefs.Root{Dir: t.admin}).WriteFile("index", data, safefs.Regular, false); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return err
	}
	// Stat data recorded from now on is compared against this time:
	// a file changed in the same clock tick as its recording is hashed.
	t.racy = gitindex.FromUnix(&st).MTime
	t.indexSum = hex.EncodeToString(data[len(data)-sha1.Size:]) // the index's own checksum
	return t.saveState()
}

// wroteIndex reports whether raw is the index file whose sum chant
// recorded: its own checksum, which Decode checks against its content
// (one pass over it rather than two); or, as chant recorded it before,
// the file's SHA-1.
func wroteIndex(raw []byte, sum string) bool {
	if len(raw) < sha1.Size || sum == "" {
		return false
	}
	if hex.EncodeToString(raw[len(raw)-sha1.Size:]) == sum {
		return true
	}
	whole := sha1.Sum(raw)
	return hex.EncodeToString(whole[:]) == sum
}

// saveState writes chant's record of the tree.
func (t *Tree) saveState() error { return t.writeState(t.known) }

// writeState writes chant's record of the tree, with what it holds when
// known.
func (t *Tree) writeState(known bool) error {
	st := savedState{Dir: t.Dir, Base: t.base.String(), IndexSum: t.indexSum, Racy: t.racy, Watched: t.Watched, Known: known}
	if known {
		for p := range t.dirty {
			st.Differ = append(st.Differ, p)
		}
		for p := range t.extras {
			if !t.dirty[p] {
				st.Differ = append(st.Differ, p)
			}
		}
		sort.Strings(st.Differ)
	}
	state, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(t.statePath), 0o777); err != nil {
		return err
	}
	// Durable when it forgets a known tree: a crash of the machine must
	// not bring back the record of a tree that was then changed.
	durable := t.savedKnown && !known
	t.savedKnown = false // until written
	if err := (safefs.Root{Dir: filepath.Dir(t.statePath)}).WriteFile(filepath.Base(t.statePath), state, safefs.Regular, durable); err != nil {
		return err
	}
	t.savedKnown = known
	return nil
}

// waitForClock returns once a file written in dir gets a modification time
// later than a file written now: up to a few milliseconds on file systems
// with coarse timestamps.
func waitForClock(dir string) {
	probe := filepath.Join(dir, "chant-clock")
	defer os.Remove(probe)
	stamp := func() (int64, bool) {
		if err := os.WriteFile(probe, nil, 0o666); err != nil {
			return 0, false
		}
		var st unix.Stat_t
		if unix.Lstat(probe, &st) != nil {
			return 0, false
		}
		return st.Mtim.Nano(), true
	}
	first, ok := stamp()
	for deadline := time.Now().Add(100 * time.Millisecond); ok && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
		if now, ok := stamp(); !ok || now > first {
			return
		}
	}
}

// ErrNotATree means the worktree directory is not chant's.
var ErrNotATree = errors.New("not a chant worktree")
