package gitrepo

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/chant-run/chant/internal/packidx"
	"github.com/chant-run/chant/internal/safefs"
)

// objectStore is go-git's object storage, with lookups in packs that
// stay as cheap as git's as a repository grows, and that see packs other
// processes add after it first looked.
//
// go-git decodes every entry of every pack's index at the first object it
// reads, and maps every offset at the first delta against an earlier
// object: a repository of a million objects paid for it in every command.
// objectStore looks objects up in each pack's index file where it lies
// (package packidx) and reads them with go-git's packfile; loose objects
// go through go-git.
//
// go-git loads the list of packs once, so an object that a worker pushed
// (or git gc packed) since is "not found" for good. On a miss, when the
// pack directory has changed since the packs were last listed, the list
// is loaded again and the lookup retried. The lock keeps a lookup from
// meeting a reload halfway.
type objectStore struct {
	*filesystem.Storage
	packDir    string
	objectsDir string

	mu     sync.RWMutex
	listed dirStamp // the pack directory's when last listed

	listing sync.Mutex              // one listing of the packs at a time
	packs   atomic.Pointer[[]*pack] // nil: not listed yet
	bases   cache.Object            // objects deltas were applied to, for every pack's readers
}

func newObjectStore(s *filesystem.Storage, commonDir string) *objectStore {
	objects := filepath.Join(commonDir, "objects")
	o := &objectStore{Storage: s, packDir: filepath.Join(objects, "pack"), objectsDir: objects, bases: cache.NewObjectLRUDefault()}
	o.listed = o.packsChanged()
	return o
}

// packsChanged returns the pack directory's stamp (zero when there is
// none).
func (o *objectStore) packsChanged() dirStamp { return stampOf(o.packDir) }

// dirStamp tells a directory's state: which directory it is, and when it
// or its entries last changed (its ctime: unlike the modification time,
// nothing sets it back, `cp -a` included).
type dirStamp struct {
	dev, ino uint64
	ctime    syscall.Timespec
}

func stampOf(dir string) dirStamp {
	var st syscall.Stat_t
	if syscall.Stat(dir, &st) != nil {
		return dirStamp{}
	}
	return dirStamp{dev: uint64(st.Dev), ino: st.Ino, ctime: st.Ctim}
}

// retry runs a lookup, and once more after listing the packs again if it
// missed and they changed.
func (o *objectStore) retry(lookup func() error) error {
	o.mu.RLock()
	err := lookup()
	o.mu.RUnlock()
	if !errors.Is(err, plumbing.ErrObjectNotFound) {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if now := o.packsChanged(); now != o.listed {
		o.listed = now
		o.Storage.Reindex()
		if o.packs.Load() != nil {
			if err := o.listPacks(); err != nil {
				return err
			}
		}
		return lookup()
	}
	return err
}

func (o *objectStore) HasEncodedObject(h plumbing.Hash) error {
	return o.retry(func() error {
		if _, _, err := o.inPack(h); !errors.Is(err, plumbing.ErrObjectNotFound) {
			return err
		}
		if !o.isLoose(h) {
			return plumbing.ErrObjectNotFound
		}
		return nil
	})
}

func (o *objectStore) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (obj plumbing.EncodedObject, err error) {
	err = o.retry(func() error {
		var p *pack
		if p, _, err = o.inPack(h); err == nil {
			obj, err = p.read(func(f *packfile.Packfile) (plumbing.EncodedObject, error) { return f.Get(h) })
		} else if errors.Is(err, plumbing.ErrObjectNotFound) && o.isLoose(h) {
			obj, err = o.Storage.EncodedObject(t, h) // loose: go-git's packs are not read
		}
		if err == nil && t != plumbing.AnyObject && obj.Type() != t {
			obj, err = nil, plumbing.ErrObjectNotFound
		}
		return err
	})
	return obj, err
}

func (o *objectStore) EncodedObjectSize(h plumbing.Hash) (size int64, err error) {
	err = o.retry(func() error {
		p, offset, found := o.inPack(h)
		switch {
		case found == nil:
			_, found = p.read(func(f *packfile.Packfile) (plumbing.EncodedObject, error) {
				var err error
				size, err = f.GetSizeByOffset(offset)
				return nil, err
			})
		case errors.Is(found, plumbing.ErrObjectNotFound) && o.isLoose(h):
			size, found = o.Storage.EncodedObjectSize(h)
		}
		return found
	})
	return size, err
}

// isLoose reports whether h has a loose object's file.
func (o *objectStore) isLoose(h plumbing.Hash) bool {
	hex := h.String()
	_, err := os.Lstat(filepath.Join(o.objectsDir, hex[:2], hex[2:]))
	return err == nil
}

// inPack finds the pack that holds h (the packs listed when first
// needed), and where.
func (o *objectStore) inPack(h plumbing.Hash) (*pack, int64, error) {
	packs := o.packs.Load()
	if packs == nil {
		if err := o.listPacks(); err != nil {
			return nil, 0, err
		}
		packs = o.packs.Load()
	}
	for _, p := range *packs {
		if offset, err := p.idx.FindOffset(h); err == nil {
			return p, offset, nil
		} else if !errors.Is(err, plumbing.ErrObjectNotFound) {
			return nil, 0, fmt.Errorf("pack %s: %w", p.name, err)
		}
	}
	return nil, 0, plumbing.ErrObjectNotFound
}

// listPacks lists the packs, keeping those listed before (their indexes
// read, their files open) and reading the indexes of new ones. A pack is
// listed once its index is there: git writes the index last.
func (o *objectStore) listPacks() error {
	o.listing.Lock()
	defer o.listing.Unlock()
	names, err := safefs.FileNames(o.packDir, ".idx")
	if err != nil {
		return err
	}
	slices.Sort(names)
	old := map[string]*pack{}
	if before := o.packs.Load(); before != nil {
		for _, p := range *before {
			old[p.name] = p
		}
	}
	packs := []*pack{}
	var files billy.Filesystem
	for _, idx := range names {
		name := strings.TrimSuffix(idx, ".idx") + ".pack"
		if p := old[name]; p != nil {
			packs = append(packs, p)
			delete(old, name)
			continue
		}
		if _, err := os.Lstat(filepath.Join(o.packDir, name)); err != nil {
			continue // an index without its pack
		}
		x, err := packidx.Read(filepath.Join(o.packDir, idx))
		if err != nil {
			return err
		}
		if files == nil {
			files = osfs.New(o.packDir)
		}
		packs = append(packs, &pack{name: name, idx: x, files: files, cache: o.bases})
	}
	o.packs.Store(&packs)
	for _, p := range old {
		p.drop()
	}
	return nil
}

// pack is one pack of the repository: its index, and readers of its file
// that are not in use, kept open (a reader is not for two goroutines at
// once, and opening the file for each object was most of reading one).
type pack struct {
	name  string // its file's, in the pack directory
	idx   *packidx.Index
	files billy.Filesystem // the pack directory
	cache cache.Object     // the objects deltas were applied to (the store's, shared)

	mu   sync.Mutex
	idle []*packfile.Packfile
	gone bool // no longer listed: readers given back are closed
}

// maxIdle bounds the readers a pack keeps open.
const maxIdle = 2

// read calls f with a reader of the pack.
func (p *pack) read(f func(*packfile.Packfile) (plumbing.EncodedObject, error)) (plumbing.EncodedObject, error) {
	p.mu.Lock()
	var r *packfile.Packfile
	if n := len(p.idle); n > 0 {
		r, p.idle = p.idle[n-1], p.idle[:n-1]
	}
	p.mu.Unlock()
	if r == nil {
		file, err := p.files.Open(p.name)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, plumbing.ErrObjectNotFound // removed since listed: listed again
		}
		if err != nil {
			return nil, err
		}
		r = packfile.NewPackfileWithCache(p.idx, p.files, file, p.cache, 0)
	}
	obj, err := f(r)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gone || len(p.idle) >= maxIdle {
		r.Close()
	} else {
		p.idle = append(p.idle, r)
	}
	return obj, err
}

// drop closes what the pack keeps open, and what is given back later.
func (p *pack) drop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gone = true
	for _, r := range p.idle {
		r.Close()
	}
	p.idle = nil
}
