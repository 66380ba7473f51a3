package gitrepo

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"golang.org/x/sys/unix"

	"github.com/chant-run/chant/internal/failpoint"
	"github.com/chant-run/chant/internal/gitindex"
	"github.com/chant-run/chant/internal/safefs"
)

// A landing puts commits that chant built on the user's branch and exactly
// their paths into the user's working tree and index. Nothing else of the
// user's is read or written: a file staged by the user stays staged and
// out of chant's commits, an uncommitted edit of another file stays as it
// is. It is one transaction: killed at any instant, it has either not
// happened (the branch, the files and the index as they were) or, after
// Recover, happened entirely.

var (
	// ErrBranchMoved means the branch is no longer where the work started,
	// and not only by chant's own commits.
	ErrBranchMoved = errors.New("the branch moved")
	// ErrWorkTreeChanged means a path to be written holds something else
	// than the caller expected (the user changed it).
	ErrWorkTreeChanged = errors.New("the working tree changed")
)

// BranchMovedError says how the branch moved.
type BranchMovedError struct {
	Head    Head   // where HEAD is now
	Want    Head   // where the work started
	Commit  string // the first commit on the branch that chant did not make, if any
	Subject string
}

func (e *BranchMovedError) Error() string {
	switch {
	case e.Head.Branch != e.Want.Branch:
		return fmt.Sprintf("%s: HEAD is now on %s, the work started on %s", ErrBranchMoved, e.Head, e.Want)
	case e.Commit != "":
		return fmt.Sprintf("%s: %s has commit %s (%q), which chant did not make", ErrBranchMoved, e.Want, Short(e.Commit), e.Subject)
	}
	return fmt.Sprintf("%s: %s is at %s, no longer on top of %s", ErrBranchMoved, e.Want, Short(e.Head.Commit.String()), Short(e.Want.Commit.String()))
}

func (e *BranchMovedError) Unwrap() error { return ErrBranchMoved }

// WorkTreeError lists the paths that are not what a landing expected.
type WorkTreeError struct{ Paths []string }

func (e *WorkTreeError) Error() string {
	return fmt.Sprintf("%s: %s", ErrWorkTreeChanged, strings.Join(e.Paths, ", "))
}

func (e *WorkTreeError) Unwrap() error { return ErrWorkTreeChanged }

// Change sets one path in a commit.
type Change struct {
	Path   string // relative to the work tree root, slash-separated
	Mode   uint32 // 0 deletes the path
	Data   []byte // the content; for a symbolic link, its target
	Before File   // what the working tree must hold for this path now
}

// CommitSpec is one commit of a landing.
type CommitSpec struct {
	Message string
	Author  *Person // nil: the repository's identity
	Changes []Change
	// Make, when set, gives more changes once the landing's earlier
	// commits are made (their hashes, in order): a record that names the
	// commit it records.
	Make func(made []plumbing.Hash) ([]Change, error)
}

// Landing is a series of commits to put on the branch Onto was read from.
type Landing struct {
	Onto    Head // where the work started
	Commits []CommitSpec
	When    time.Time
}

// landed is the journal of a landing in progress.
type landed struct {
	Ref   plumbing.ReferenceName `json:"ref"`
	Old   plumbing.Hash          `json:"old"`
	New   plumbing.Hash          `json:"new"`
	Files []landedFile           `json:"files"`
}

type landedFile struct {
	Path   string `json:"path"`
	Before File   `json:"before"`
	After  File   `json:"after"`
}

func (r *Repo) statePath(name string) string { return filepath.Join(r.StateDir(), name) }

// Land makes the landing's commits on top of the branch and moves the
// branch to the last one, then writes their paths into the working tree
// and the index. The branch must be where the work started, or ahead of it
// by commits chant made (another chant command's decision on a gate); the
// working tree must hold each path's Before. The caller holds the
// workspace lock. It returns the new commits' hashes.
func (r *Repo) Land(l Landing) ([]plumbing.Hash, error) {
	if _, err := r.Recover(); err != nil {
		return nil, err
	}
	head, err := r.ReadHead()
	if err != nil {
		return nil, err
	}
	if err := r.checkMoves(head, l.Onto); err != nil {
		return nil, err
	}
	j := landed{Ref: head.Branch, Old: head.Commit}
	if j.Ref == "" {
		j.Ref = plumbing.HEAD
	}
	hashes, err := r.makeCommits(l, &j)
	if err != nil {
		return nil, err
	}
	if err := r.writeJournal(&j); err != nil {
		return nil, err
	}
	if err := r.recordOwn(hashes); err != nil {
		r.dropJournal()
		return nil, err
	}
	lock, err := r.lockRef(j.Ref, j.Old, j.New, r.statePath("land-ref"))
	if err != nil {
		r.dropJournal()
		return nil, err
	}
	failpoint.Hit("land-before-ref")
	name, email := r.Identity()
	if err := lock.commit(Person{name, email}, l.When, "chant: "+firstLine(l.Commits[len(l.Commits)-1].Message)); err != nil {
		r.dropJournal()
		return nil, err
	}
	// The landing has happened. What follows brings the working tree and
	// the index along; a crash here is finished by Recover.
	failpoint.Hit("land-after-ref")
	if _, err := r.finish(&j); err != nil {
		return hashes, fmt.Errorf("the commits are made; bringing the working tree along failed (the next chant command finishes it): %w", err)
	}
	r.dropJournal()
	return hashes, nil
}

// makeCommits makes the landing's commits on j.Old, each with its
// changes, and fills the journal j with the new tip and every file's
// before and after. The working tree must hold what each change expects
// before it (WorkTreeError if not).
func (r *Repo) makeCommits(l Landing, j *landed) ([]plumbing.Hash, error) {
	parent := j.Old
	tree, err := r.TreeOf(parent)
	if err != nil {
		return nil, err
	}
	hashes := make([]plumbing.Hash, 0, len(l.Commits))
	before := map[string]File{}
	after := map[string]File{}
	var order []string
	for _, c := range l.Commits {
		changes := c.Changes
		if c.Make != nil {
			more, err := c.Make(hashes)
			if err != nil {
				return nil, err
			}
			changes = append(append([]Change{}, changes...), more...)
		}
		edits, err := r.changeEdits(changes, before, after, &order)
		if err != nil {
			return nil, err
		}
		if tree, err = r.EditTree(tree, edits); err != nil {
			return nil, err
		}
		var parents []plumbing.Hash
		if !parent.IsZero() {
			parents = []plumbing.Hash{parent}
		}
		if parent, err = r.NewCommit(tree, parents, c.Message, c.Author, l.When); err != nil {
			return nil, err
		}
		hashes = append(hashes, parent)
	}
	j.New = parent
	for _, p := range order {
		j.Files = append(j.Files, landedFile{Path: p, Before: before[p], After: after[p]})
	}
	return hashes, nil
}

// changeEdits writes the blobs of changes and returns their tree edits.
// A path's first change records what the working tree must hold before
// (before, in order), each its content after.
func (r *Repo) changeEdits(changes []Change, before, after map[string]File, order *[]string) ([]TreeEdit, error) {
	var changed []string
	edits := make([]TreeEdit, 0, len(changes))
	for _, ch := range changes {
		if _, seen := before[ch.Path]; !seen {
			// The working tree must hold what the caller expects.
			cur, err := r.WorkFile(ch.Path)
			if err != nil {
				return nil, err
			}
			if cur != ch.Before {
				changed = append(changed, ch.Path)
			}
			before[ch.Path] = ch.Before
			*order = append(*order, ch.Path)
		}
		f := File{Mode: ch.Mode}
		if ch.Mode != 0 {
			var err error
			if f.Hash, err = r.WriteBlob(ch.Data); err != nil {
				return nil, err
			}
		}
		after[ch.Path] = f
		edits = append(edits, TreeEdit{Path: ch.Path, File: f})
	}
	if len(changed) > 0 {
		return nil, &WorkTreeError{Paths: changed}
	}
	return edits, nil
}

// checkMoves accepts head if it is where the work started (want) or ahead
// of it by chant's own commits only.
func (r *Repo) checkMoves(head, want Head) error {
	if head.Branch != want.Branch {
		return &BranchMovedError{Head: head, Want: want}
	}
	if head.Commit == want.Commit {
		return nil
	}
	chain, ok, err := r.FirstParents(head.Commit, want.Commit, 10000)
	if err != nil {
		return err
	}
	if !ok {
		return &BranchMovedError{Head: head, Want: want}
	}
	own, err := r.ownCommits()
	if err != nil {
		return err
	}
	for i := len(chain) - 1; i >= 0; i-- {
		if !own[chain[i]] {
			subject, _ := r.Subject(chain[i].String())
			return &BranchMovedError{Head: head, Want: want, Commit: chain[i].String(), Subject: subject}
		}
	}
	return nil
}

// finish brings the working tree and the index to a landing: each path
// still holding its Before gets its After. A path the user has changed
// since is left alone and reported.
func (r *Repo) finish(j *landed) (left []string, err error) {
	root := safefs.Root{Dir: r.Root}
	var done []landedFile
	for _, f := range j.Files {
		cur, err := r.WorkFile(f.Path)
		if err != nil {
			return left, err
		}
		switch cur {
		case f.After:
			done = append(done, f)
			continue
		case f.Before:
		default:
			left = append(left, f.Path)
			continue
		}
		if !f.After.Exists() {
			if err := root.Remove(f.Path); err != nil {
				return left, err
			}
		} else {
			data, err := r.ReadBlob(f.After.Hash)
			if err != nil {
				return left, err
			}
			if err := root.WriteFile(f.Path, data, f.After.Mode, true); err != nil {
				return left, err
			}
		}
		done = append(done, f)
	}
	failpoint.Hit("land-after-files")
	return left, r.updateIndex(j.Old, done)
}

// updateIndex sets the index entries of the landed paths, under git's
// index.lock, leaving every other entry as it is. An entry the user has
// staged something else into (neither the old commit's nor the path's
// Before) is left alone.
func (r *Repo) updateIndex(old plumbing.Hash, files []landedFile) error {
	if len(files) == 0 {
		return nil
	}
	indexPath := filepath.Join(r.GitDir, "index")
	lockPath := indexPath + ".lock"
	prepared := r.statePath("land-index")
	if err := writeSynced(prepared, []byte("chant is updating the index\n")); err != nil {
		return err
	}
	defer os.Remove(prepared)
	if err := takeLock(prepared, lockPath, lockPatience); err != nil {
		return fmt.Errorf("update the index: %w", err)
	}
	ix, err := r.readIndex(true)
	if err != nil {
		os.Remove(lockPath)
		return err
	}
	root := safefs.Root{Dir: r.Root}
	for _, f := range files {
		var cur File
		if e, ok := ix.Get(f.Path); ok {
			cur = File{Mode: e.Mode, Hash: e.Hash}
		}
		was, err := r.FileAt(old, f.Path)
		if err != nil {
			os.Remove(lockPath)
			return err
		}
		if cur != was && cur != f.Before && cur != f.After {
			continue // the user staged something else there: theirs
		}
		if !f.After.Exists() {
			ix.Remove(f.Path)
			continue
		}
		e := gitindex.Entry{Path: f.Path, Mode: f.After.Mode, Hash: f.After.Hash}
		if st, err := root.Lstat(f.Path); err == nil {
			e.Stat = gitindex.FromUnix(&st)
		}
		ix.Set(e)
	}
	data := ix.Encode()
	lf, err := os.OpenFile(lockPath, os.O_WRONLY|os.O_TRUNC|noFollow, 0)
	if err == nil {
		_, err = lf.Write(data)
		if err == nil {
			err = lf.Sync()
		}
		if cerr := lf.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = os.Rename(lockPath, indexPath)
	}
	if err != nil {
		os.Remove(lockPath)
		return fmt.Errorf("update the index: %w", err)
	}
	return nil
}

// IndexFiles returns what the index holds for each path (absent: the zero
// File); it reads the index once.
func (r *Repo) IndexFiles(paths []string) (map[string]File, error) {
	out := map[string]File{}
	if len(paths) == 0 {
		return out, nil
	}
	ix, err := r.readIndex(false)
	if err != nil {
		return nil, err
	}
	for _, p := range paths {
		if e, ok := ix.Get(p); ok {
			out[p] = File{Mode: e.Mode, Hash: e.Hash}
		} else {
			out[p] = File{}
		}
	}
	return out, nil
}

// WorkFile returns what the working tree holds at path: a regular file,
// an executable or a symbolic link, with its content's blob hash; a
// directory has mode 040000 and no hash; absent is the zero File.
func (r *Repo) WorkFile(path string) (File, error) {
	data, mode, err := safefs.Root{Dir: r.Root}.ReadFile(path, 0)
	switch {
	case err == nil:
		return File{Mode: mode, Hash: BlobHash(data)}, nil
	case errors.Is(err, os.ErrNotExist), errors.Is(err, unix.ENOTDIR):
		return File{}, nil
	case errors.Is(err, safefs.ErrNotRegular):
		return File{Mode: 0o040000}, nil
	}
	return File{}, err
}

// Recover finishes or discards what a chant command killed in the middle
// of a landing left: a landing whose branch update happened gets its
// working tree and index; one whose branch update did not is dropped; a
// lock file of chant's own is removed. The caller holds the workspace lock.
// It reports what it did.
func (r *Repo) Recover() ([]string, error) {
	var fixed []string
	for _, pair := range [][2]string{
		{r.refFileOrEmpty(), r.statePath("land-ref")},
		{filepath.Join(r.GitDir, "index.lock"), r.statePath("land-index")},
	} {
		if pair[0] != "" && sameFile(pair[0], pair[1]) {
			os.Remove(pair[0])
			fixed = append(fixed, "removed "+r.relGit(pair[0])+", left by a killed chant")
		}
	}
	j, err := r.readJournal()
	if err != nil || j == nil {
		if r.swept.CompareAndSwap(false, true) && r.sweepDue() {
			r.removeTempObjects()
		}
		return fixed, err
	}
	cur, _, err := r.readRef(j.Ref)
	if err != nil {
		return fixed, err
	}
	var finish []landedFile
	for _, f := range j.Files {
		// Finish a path only if the branch holds the landing's content for
		// it: the branch update happened (and nobody has undone it since).
		if inBranch, err := r.FileAt(cur, f.Path); err == nil && inBranch == f.After && cur != j.Old {
			finish = append(finish, f)
		}
	}
	root := safefs.Root{Dir: r.Root}
	for _, f := range j.Files {
		root.RemoveTemps(f.Path) // a file write cut off before its rename
	}
	if len(finish) > 0 {
		left, err := r.finish(&landed{Ref: j.Ref, Old: j.Old, New: j.New, Files: finish})
		if err != nil {
			return fixed, err
		}
		msg := fmt.Sprintf("finished an interrupted commit (%s): working tree and index brought along", Short(j.New.String()))
		if len(left) > 0 {
			msg += "; changed since, left alone: " + strings.Join(left, ", ")
		}
		fixed = append(fixed, msg)
	}
	r.dropJournal()
	r.removeTempObjects()
	return fixed, nil
}

// refFileOrEmpty is the lock file of the ref a journaled landing moves,
// if there is a journal.
func (r *Repo) refFileOrEmpty() string {
	j, err := r.readJournal()
	if err != nil || j == nil {
		return ""
	}
	return r.refFile(j.Ref) + ".lock"
}

func (r *Repo) relGit(p string) string {
	if rel, err := filepath.Rel(r.GitDir, p); err == nil && !strings.HasPrefix(rel, "..") {
		return ".git/" + filepath.ToSlash(rel)
	}
	return p
}

func sameFile(a, b string) bool {
	fa, err := os.Lstat(a)
	if err != nil {
		return false
	}
	fb, err := os.Lstat(b)
	return err == nil && os.SameFile(fa, fb)
}

func (r *Repo) writeJournal(j *landed) error {
	data, err := json.Marshal(j)
	if err != nil {
		return err
	}
	if err := r.ensureStateDir(); err != nil {
		return err
	}
	tmp := r.statePath("land.json.tmp")
	if err := writeSynced(tmp, data); err != nil {
		return err
	}
	if err := os.Rename(tmp, r.statePath("land.json")); err != nil {
		return err
	}
	syncDir(r.StateDir())
	return nil
}

func (r *Repo) readJournal() (*landed, error) {
	data, err := os.ReadFile(r.statePath("land.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var j landed
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, nil // written atomically; unreadable means not ours
	}
	return &j, nil
}

func (r *Repo) dropJournal() {
	os.Remove(r.statePath("land.json"))
	os.Remove(r.statePath("land-ref"))
	os.Remove(r.statePath("land-index"))
}

// ensureStateDir makes the state directory, which must be a real
// directory.
func (r *Repo) ensureStateDir() error {
	dir := r.StateDir()
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	return nil
}

// sweepEvery is how often a command looks for the temporary object files
// killed writers left (after a killed landing, always): the look lists
// every directory of the object store, up to 256, twice a phase, and what
// it finds is garbage that harms nothing (git leaves its own to git gc).
const sweepEvery = time.Hour

// sweepDue reports whether the last look was sweepEvery ago or more (its
// time is a file's in chant's state directory), and if so notes this one.
func (r *Repo) sweepDue() bool {
	stamp := r.statePath("swept")
	if fi, err := os.Stat(stamp); err == nil {
		if age := time.Since(fi.ModTime()); age >= 0 && age < sweepEvery {
			return false
		}
	}
	if r.ensureStateDir() == nil {
		os.WriteFile(stamp, nil, 0o666)
	}
	return true
}

// removeTempObjects removes the temporary files go-git leaves in the
// object store when killed mid-write.
func (r *Repo) removeTempObjects() {
	for _, pattern := range []string{"objects/*/tmp_obj_*", "objects/tmp_obj_*"} {
		tmp, _ := filepath.Glob(filepath.Join(r.CommonDir, pattern))
		for _, p := range tmp {
			if fi, err := os.Stat(p); err == nil && time.Since(fi.ModTime()) > time.Minute {
				os.Remove(p) // an old one: no live writer
			}
		}
	}
}

// --- chant's own commits

// ownFile lists, one full hash a line, every commit chant has made here. It
// is how chant tells its own commits (a decision on a gate made by another
// chant process during a run) from anyone else's, whatever their message
// says.
const ownFile = "commits"

func (r *Repo) recordOwn(hashes []plumbing.Hash) error {
	if err := r.ensureStateDir(); err != nil {
		return err
	}
	f, err := os.OpenFile(r.statePath(ownFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE|noFollow, 0o666)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, h := range hashes {
		b.WriteString(h.String() + "\n")
	}
	_, err = f.WriteString(b.String())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (r *Repo) ownCommits() (map[plumbing.Hash]bool, error) {
	own := map[plumbing.Hash]bool{}
	f, err := os.Open(r.statePath(ownFile))
	if errors.Is(err, os.ErrNotExist) {
		return own, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); plumbing.IsHash(line) {
			own[plumbing.NewHash(line)] = true
		}
	}
	return own, sc.Err()
}

// IsOwn reports whether chant made the commit here.
func (r *Repo) IsOwn(h plumbing.Hash) (bool, error) {
	own, err := r.ownCommits()
	return own[h], err
}
