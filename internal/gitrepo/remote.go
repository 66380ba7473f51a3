package gitrepo

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Init makes dir a new, empty git repository (a work tree with .git) if it
// is not one yet, and opens it.
func Init(dir string) (*Repo, error) {
	if _, err := os.Stat(filepath.Join(dir, ".git")); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return nil, err
		}
		if err := initRepository(filepath.Join(dir, ".git")); err != nil {
			return nil, fmt.Errorf("git init %s: %w", dir, err)
		}
	}
	return Open(dir)
}

// initRepository makes an empty repository in gitDir, as git init does
// (and go-git's PlainInit): its directories, HEAD on master, the config
// of a repository with a work tree. One there already is left as it is.
func initRepository(gitDir string) error {
	s := filesystem.NewStorage(osfs.New(gitDir), cache.NewObjectLRUDefault())
	if _, err := s.Reference(plumbing.HEAD); err == nil {
		return nil
	}
	if err := s.Init(); err != nil {
		return err
	}
	if err := s.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, plumbing.Master)); err != nil {
		return err
	}
	cfg, err := s.Config()
	if err != nil {
		return err
	}
	cfg.Core.IsBare = false
	return s.SetConfig(cfg)
}

// Network reaches repositories on other machines (ssh, https) for Fetch
// and Push: go-git's transports, which only chant-temporal links (package
// gitremote), or in chant a run of chant-temporal. nil: such a URL is
// refused.
var Network interface {
	Fetch(r *Repo, url string, refspecs []string) error
	Push(r *Repo, url string, refspecs []string) error
}

// Storer is the repository's storage, for Network.
func (r *Repo) Storer() storage.Storer { return r.repo.Storer }

// RefSpecs checks refspecs ("+SRC:DST").
func RefSpecs(refspecs []string) ([]config.RefSpec, error) {
	specs := make([]config.RefSpec, len(refspecs))
	for i, s := range refspecs {
		specs[i] = config.RefSpec(s)
		if err := specs[i].Validate(); err != nil {
			return nil, fmt.Errorf("refspec %q: %w", s, err)
		}
	}
	return specs, nil
}

// network checks what a fetch or push through Network takes: refspecs,
// and a Network.
func network(op, url string, refspecs []string) error {
	if _, err := RefSpecs(refspecs); err != nil {
		return err
	}
	if Network == nil {
		return fmt.Errorf("%s %s: a repository on another machine is reached through chant-temporal, which is not part of this program", op, url)
	}
	return nil
}

// SetRef points a reference (refs/...) at a hash, whatever it held.
func (r *Repo) SetRef(name string, h plumbing.Hash) error {
	if err := plumbing.ReferenceName(name).Validate(); err != nil {
		return fmt.Errorf("reference %q: %w", name, err)
	}
	return r.repo.Storer.SetReference(plumbing.NewHashReference(plumbing.ReferenceName(name), h))
}

// Ref returns the hash a reference points at (zero if it does not exist).
func (r *Repo) Ref(name string) (plumbing.Hash, error) {
	ref, err := r.repo.Storer.Reference(plumbing.ReferenceName(name))
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return ref.Hash(), nil
}

// Fetch fetches refspecs from the repository at url (a path, file://, ssh
// or https: go-git's transports), forcing the local references they name.
// From a repository on this machine, the objects are copied (see copyRefs).
func (r *Repo) Fetch(url string, refspecs ...string) error {
	if from, done := openLocal(url); from != nil {
		defer done()
		return copyRefs(from, r, refspecs)
	}
	if err := network("fetch from", url, refspecs); err != nil {
		return err
	}
	return Network.Fetch(r, url, refspecs)
}

// FetchCommit brings a commit of the repository at url here, and points
// ref at it. From a repository on this machine the commit is copied by its
// hash, whatever references there are; from another, ref is fetched (it
// must name the commit there).
func (r *Repo) FetchCommit(url string, commit plumbing.Hash, ref string) error {
	from, done := openLocal(url)
	if from == nil {
		return r.Fetch(url, "+"+ref+":"+ref)
	}
	defer done()
	if err := copyObjects(from, r, commit); err != nil {
		return fmt.Errorf("copy %s from %s: %w", Short(commit.String()), from.Root, err)
	}
	return r.SetRef(ref, commit)
}

// Push pushes refspecs to the repository at url, forcing the references
// they name there. To a repository on this machine, the objects are
// copied (see copyRefs).
func (r *Repo) Push(url string, refspecs ...string) error {
	if to, done := openLocal(url); to != nil {
		defer done()
		return copyRefs(r, to, refspecs)
	}
	if err := network("push to", url, refspecs); err != nil {
		return err
	}
	return Network.Push(r, url, refspecs)
}

// openLocal opens the repository a URL names when it is on this machine (a
// path or file://, with a work tree or bare); nil otherwise. The caller
// has it alone until it calls done. A repository is opened once a process
// (a worker fetches from and pushes to the same one, phase after phase),
// and again when its pack directory is not the one it had (the repository
// was made anew there, or packed).
func openLocal(url string) (r *Repo, done func()) {
	path, ok := strings.CutPrefix(url, "file://")
	if !ok && (strings.Contains(url, "://") || !filepath.IsAbs(url)) {
		return nil, nil // ssh, https, or scp-like host:path
	}
	localRepos.mu.Lock()
	c := localRepos.open[path]
	if c == nil {
		c = &localRepo{}
		if localRepos.open == nil {
			localRepos.open = map[string]*localRepo{}
		}
		localRepos.open[path] = c
	}
	localRepos.mu.Unlock()
	c.mu.Lock()
	if c.repo == nil || stampOf(c.packDir()) != c.packs {
		if c.repo = openLocalRepo(path); c.repo == nil {
			c.mu.Unlock()
			return nil, nil
		}
		c.packs = stampOf(c.packDir())
	}
	return c.repo, c.mu.Unlock
}

// localRepos are the repositories openLocal opened, by path.
var localRepos struct {
	mu   sync.Mutex
	open map[string]*localRepo
}

// localRepo is a repository openLocal opened, used by one caller at a
// time (go-git's storage is not safe for concurrent use).
type localRepo struct {
	mu    sync.Mutex
	repo  *Repo
	packs dirStamp // its pack directory's when opened
}

func (c *localRepo) packDir() string { return filepath.Join(c.repo.CommonDir, "objects", "pack") }

func openLocalRepo(path string) *Repo {
	if r, err := Open(path); err == nil {
		return r
	}
	g, err := openStorage(path, path) // bare
	if err != nil {
		return nil
	}
	return &Repo{Root: path, GitDir: path, CommonDir: path, repo: g}
}

// copyRefs does what a forced fetch or push of refspecs ("+SRC:DST", no
// wildcards) does between two repositories on one machine, without a
// transport: the objects that DST's new commit needs and to lacks are
// copied, as loose objects, then DST is set. go-git's file transport
// instead lists every reference of the other side and walks what each
// reaches, at a cost that grows with the repository and its references
// (a third of a second a phase for a worker, with a few dozen).
func copyRefs(from, to *Repo, refspecs []string) error {
	for _, rs := range refspecs {
		src, dst, ok := strings.Cut(strings.TrimPrefix(rs, "+"), ":")
		if !ok || strings.Contains(rs, "*") {
			return fmt.Errorf("refspec %q: not +SRC:DST", rs)
		}
		h, err := from.Ref(src)
		if err != nil {
			return err
		}
		if h.IsZero() {
			return fmt.Errorf("%s: no reference %s", from.Root, src)
		}
		if err := copyObjects(from, to, h); err != nil {
			return fmt.Errorf("copy %s from %s to %s: %w", src, from.Root, to.Root, err)
		}
		if err := to.SetRef(dst, h); err != nil {
			return err
		}
	}
	return nil
}

// copyObjects copies into to the objects reachable from commit tip that
// it lacks. An object to has is taken to come with all it reaches (objects
// are written after what they reach, here as by git), so the walk stops
// there: a fetch of a commit on a known base copies the new objects only.
func copyObjects(from, to *Repo, tip plumbing.Hash) error {
	stack := []copyItem{{h: tip, t: plumbing.CommitObject}}
	queued := map[plumbing.Hash]bool{tip: true}
	push := func(h plumbing.Hash, t plumbing.ObjectType) {
		if !queued[h] {
			queued[h] = true
			stack = append(stack, copyItem{h: h, t: t})
		}
	}
	// to's lookups look for the loose object's file, then in the packs,
	// and skip objectStore's listing of packs again on a miss: here a
	// miss is the rule, and an object missed that is in a new pack is
	// only written twice.
	has := func(h plumbing.Hash) bool {
		if o, ok := to.repo.Storer.(*objectStore); ok {
			if o.isLoose(h) {
				return true
			}
			_, _, err := o.inPack(h)
			return err == nil
		}
		return to.HasObject(h)
	}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if !it.ready && has(it.h) {
			continue
		}
		write := it.ready || it.t == plumbing.BlobObject
		if write && to.linkLoose(from, it.h) {
			continue
		}
		obj, err := from.repo.Storer.EncodedObject(it.t, it.h)
		if err != nil {
			return fmt.Errorf("%s %s: %w", it.t, Short(it.h.String()), err)
		}
		if write {
			if err := to.copyLoose(it, obj); err != nil {
				return err
			}
			continue
		}
		stack = append(stack, copyItem{h: it.h, t: it.t, ready: true})
		if err := from.pushReached(it, obj, push); err != nil {
			return err
		}
	}
	return nil
}

// copyItem is an object copyObjects has to copy.
type copyItem struct {
	h     plumbing.Hash
	t     plumbing.ObjectType
	ready bool // what it reaches is copied: write it
}

// linkLoose makes r's loose object h a hard link to from's, as git's
// local clone does: an object file is never changed, and a link makes no
// new file, which on a file system busy with deletions costs more than
// all the rest of a copy (ext4 looks for an inode not recently freed). It
// reports false, having done nothing, when from has h otherwise (in a
// pack) or the link cannot be made (another file system, a file of
// another user's); the object is then copied.
func (r *Repo) linkLoose(from *Repo, h plumbing.Hash) bool {
	hex := h.String()
	src := filepath.Join(from.CommonDir, "objects", hex[:2], hex[2:])
	if fi, err := os.Lstat(src); err != nil || !fi.Mode().IsRegular() {
		return false
	}
	dir := filepath.Join(r.CommonDir, "objects", hex[:2])
	dst := filepath.Join(dir, hex[2:])
	err := os.Link(src, dst)
	if errors.Is(err, os.ErrNotExist) { // the fan-out directory is new
		if err = os.Mkdir(dir, 0o777); err == nil || errors.Is(err, os.ErrExist) {
			err = os.Link(src, dst)
		}
	}
	return err == nil || errors.Is(err, os.ErrExist)
}

// copyLoose writes obj (it) as a loose object: writeLoose, not go-git's
// writer, whose temporary file costs a check of each directory on the way
// to it.
func (r *Repo) copyLoose(it copyItem, obj plumbing.EncodedObject) error {
	rd, err := obj.Reader()
	if err != nil {
		return err
	}
	content, err := io.ReadAll(rd)
	rd.Close()
	if err != nil {
		return err
	}
	if h, err := r.writeLoose(it.t, content); err != nil {
		return err
	} else if h != it.h {
		return fmt.Errorf("%s %s: its content hashes to %s", it.t, Short(it.h.String()), Short(h.String()))
	}
	return nil
}

// pushReached pushes what the commit or tree obj (it) reaches: a commit's
// tree and parents, a tree's entries (never a submodule's commit).
func (r *Repo) pushReached(it copyItem, obj plumbing.EncodedObject, push func(plumbing.Hash, plumbing.ObjectType)) error {
	switch it.t {
	case plumbing.CommitObject:
		c, err := object.DecodeCommit(r.repo.Storer, obj)
		if err != nil {
			return err
		}
		push(c.TreeHash, plumbing.TreeObject)
		for _, p := range c.ParentHashes {
			push(p, plumbing.CommitObject)
		}
	case plumbing.TreeObject:
		t, err := object.DecodeTree(r.repo.Storer, obj)
		if err != nil {
			return err
		}
		for _, e := range t.Entries {
			switch {
			case e.Mode == filemode.Submodule: // a commit of another repository
			case e.Mode == filemode.Dir:
				push(e.Hash, plumbing.TreeObject)
			default:
				push(e.Hash, plumbing.BlobObject)
			}
		}
	default:
		return fmt.Errorf("%s %s: not a commit, tree or blob", it.t, Short(it.h.String()))
	}
	return nil
}

// RemoveRef deletes a reference (refs/...) if it exists.
func (r *Repo) RemoveRef(name string) error {
	if _, ok, err := r.readRef(plumbing.ReferenceName(name)); err != nil || !ok {
		return err
	}
	return r.repo.Storer.RemoveReference(plumbing.ReferenceName(name))
}
