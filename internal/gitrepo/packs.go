package gitrepo

import (
	"errors"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// objectStore is go-git's object storage, which sees packs that other
// processes add after it first looked. go-git loads the list of packs
// once, so an object that a worker pushed (or git gc packed) since is
// "not found" for good. On a miss, when the pack directory has changed
// since the packs were last listed, the list is loaded again and the
// lookup retried. The lock keeps a lookup from meeting a reload halfway.
type objectStore struct {
	*filesystem.Storage
	packDir string

	mu     sync.RWMutex
	listed dirStamp // the pack directory's when last listed
}

func newObjectStore(s *filesystem.Storage, commonDir string) *objectStore {
	o := &objectStore{Storage: s, packDir: filepath.Join(commonDir, "objects", "pack")}
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
		return lookup()
	}
	return err
}

func (o *objectStore) HasEncodedObject(h plumbing.Hash) error {
	return o.retry(func() error { return o.Storage.HasEncodedObject(h) })
}

func (o *objectStore) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (obj plumbing.EncodedObject, err error) {
	err = o.retry(func() error {
		obj, err = o.Storage.EncodedObject(t, h)
		return err
	})
	return obj, err
}

func (o *objectStore) EncodedObjectSize(h plumbing.Hash) (size int64, err error) {
	err = o.retry(func() error {
		size, err = o.Storage.EncodedObjectSize(h)
		return err
	})
	return size, err
}
