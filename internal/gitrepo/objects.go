package gitrepo

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/chant-run/chant/internal/gitindex"
)

// File is what a path holds in a tree or a work tree: a mode (0 when the
// path is absent) and the blob's hash.
type File struct {
	Mode uint32
	Hash plumbing.Hash
}

// Exists reports whether the path is there.
func (f File) Exists() bool { return f.Mode != 0 }

func (f File) String() string {
	if !f.Exists() {
		return "absent"
	}
	return fmt.Sprintf("%o %s", f.Mode, Short(f.Hash.String()))
}

// BlobHash is git's object name of content as a blob.
func BlobHash(data []byte) plumbing.Hash {
	return plumbing.ComputeHash(plumbing.BlobObject, data)
}

// WriteBlob stores data as a blob and returns its hash.
func (r *Repo) WriteBlob(data []byte) (plumbing.Hash, error) {
	return r.writeLoose(plumbing.BlobObject, data)
}

// ReadBlob returns a blob's content.
func (r *Repo) ReadBlob(h plumbing.Hash) ([]byte, error) {
	obj, err := r.repo.Storer.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", Short(h.String()), err)
	}
	rd, err := obj.Reader()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	return io.ReadAll(rd)
}

// HasObject reports whether the repository holds the object.
func (r *Repo) HasObject(h plumbing.Hash) bool {
	return r.repo.Storer.HasEncodedObject(h) == nil
}

// TreeOf returns the tree of a commit; zero for the zero commit.
func (r *Repo) TreeOf(commit plumbing.Hash) (plumbing.Hash, error) {
	if commit.IsZero() {
		return plumbing.ZeroHash, nil
	}
	c, err := r.repo.CommitObject(commit)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("commit %s: %w", Short(commit.String()), err)
	}
	return c.TreeHash, nil
}

// FileAt returns what path holds in a commit's tree.
func (r *Repo) FileAt(commit plumbing.Hash, path string) (File, error) {
	tree, err := r.TreeOf(commit)
	if err != nil || tree.IsZero() {
		return File{}, err
	}
	return r.fileInTree(tree, path)
}

// FilesIn lists the files directly in the directory dir ("" the root) of
// a tree, by name; empty when there is no such directory.
func (r *Repo) FilesIn(tree plumbing.Hash, dir string) (map[string]File, error) {
	if dir != "" {
		d, err := r.dirInTree(tree, dir)
		if err != nil || d.IsZero() {
			return map[string]File{}, err
		}
		tree = d
	}
	entries, err := r.tree(tree)
	if err != nil {
		return nil, err
	}
	out := make(map[string]File, len(entries))
	for _, e := range entries {
		if e.Mode != filemode.Dir {
			out[e.Name] = File{Mode: uint32(e.Mode), Hash: e.Hash}
		}
	}
	return out, nil
}

// dirInTree is the tree of directory dir in tree; zero if there is none.
func (r *Repo) dirInTree(tree plumbing.Hash, dir string) (plumbing.Hash, error) {
	for _, name := range strings.Split(dir, "/") {
		entries, err := r.tree(tree)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		i := findEntry(entries, name)
		if i < 0 || entries[i].Mode != filemode.Dir {
			return plumbing.ZeroHash, nil
		}
		tree = entries[i].Hash
	}
	return tree, nil
}

func (r *Repo) fileInTree(tree plumbing.Hash, path string) (File, error) {
	for {
		entries, err := r.tree(tree)
		if err != nil {
			return File{}, err
		}
		name, rest, nested := strings.Cut(path, "/")
		i := findEntry(entries, name)
		if i < 0 {
			return File{}, nil
		}
		e := entries[i]
		switch {
		case nested && e.Mode == filemode.Dir:
			tree, path = e.Hash, rest
		case nested || e.Mode == filemode.Dir:
			return File{}, nil
		default:
			return File{Mode: uint32(e.Mode), Hash: e.Hash}, nil
		}
	}
}

// FilesUnder returns what path holds in a commit's tree: the file there,
// or every file below the directory there (by their paths); empty when
// there is nothing.
func (r *Repo) FilesUnder(commit plumbing.Hash, path string) (map[string]File, error) {
	out := map[string]File{}
	tree, err := r.TreeOf(commit)
	if err != nil || tree.IsZero() {
		return out, err
	}
	if f, err := r.fileInTree(tree, path); err != nil || f.Exists() {
		if f.Exists() {
			out[path] = f
		}
		return out, err
	}
	// A directory: find its tree, then walk it.
	for _, name := range strings.Split(path, "/") {
		entries, err := r.tree(tree)
		if err != nil {
			return nil, err
		}
		i := findEntry(entries, name)
		if i < 0 || entries[i].Mode != filemode.Dir {
			return out, nil
		}
		tree = entries[i].Hash
	}
	return out, r.walkFiles(tree, path+"/", func(path string, e object.TreeEntry) {
		out[path] = File{Mode: uint32(e.Mode), Hash: e.Hash}
	})
}

// walkFiles calls fn with every file below tree h (submodules too), in
// git's order, its path prefixed with prefix.
func (r *Repo) walkFiles(h plumbing.Hash, prefix string, fn func(path string, e object.TreeEntry)) error {
	entries, err := r.tree(h)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Mode == filemode.Dir {
			if err := r.walkFiles(e.Hash, prefix+e.Name+"/", fn); err != nil {
				return err
			}
			continue
		}
		fn(prefix+e.Name, e)
	}
	return nil
}

// Entries lists every file of a commit's tree, sorted as in an index,
// without stat information. Submodules are listed with their mode.
func (r *Repo) Entries(commit plumbing.Hash) ([]gitindex.Entry, error) {
	tree, err := r.TreeOf(commit)
	if err != nil || tree.IsZero() {
		return nil, err
	}
	var out []gitindex.Entry
	err = r.walkFiles(tree, "", func(path string, e object.TreeEntry) {
		out = append(out, gitindex.Entry{Path: path, Mode: uint32(e.Mode), Hash: e.Hash})
	})
	if err != nil {
		return nil, err
	}
	if !sort.SliceIsSorted(out, func(i, j int) bool { return out[i].Path < out[j].Path }) {
		sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	}
	return out, nil
}

// PathChange is a path whose content differs between two trees.
type PathChange struct {
	Path     string
	From, To File
}

// Diff lists the paths that differ between two commits' trees (either may
// be zero, an empty tree), sorted by path. Subtrees with the same hash are
// skipped unread, so two close commits cost a few tree reads whatever the
// repository's size.
func (r *Repo) Diff(from, to plumbing.Hash) ([]PathChange, error) {
	ft, err := r.TreeOf(from)
	if err != nil {
		return nil, err
	}
	tt, err := r.TreeOf(to)
	if err != nil {
		return nil, err
	}
	var out []PathChange
	if err := r.diffTrees(ft, tt, "", &out); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func (r *Repo) treeEntries(h plumbing.Hash) (map[string]object.TreeEntry, error) {
	entries, err := r.tree(h)
	if err != nil {
		return nil, err
	}
	m := make(map[string]object.TreeEntry, len(entries))
	for _, e := range entries {
		m[e.Name] = e
	}
	return m, nil
}

func (r *Repo) diffTrees(a, b plumbing.Hash, prefix string, out *[]PathChange) error {
	if a == b {
		return nil
	}
	ea, err := r.treeEntries(a)
	if err != nil {
		return err
	}
	eb, err := r.treeEntries(b)
	if err != nil {
		return err
	}
	for name, x := range ea {
		y, inB := eb[name]
		xDir, yDir := x.Mode == filemode.Dir, inB && y.Mode == filemode.Dir
		switch {
		case xDir && yDir:
			err = r.diffTrees(x.Hash, y.Hash, prefix+name+"/", out)
		case xDir:
			err = r.diffTrees(x.Hash, plumbing.ZeroHash, prefix+name+"/", out)
			if err == nil && inB {
				*out = append(*out, PathChange{Path: prefix + name, To: File{uint32(y.Mode), y.Hash}})
			}
		case yDir:
			*out = append(*out, PathChange{Path: prefix + name, From: File{uint32(x.Mode), x.Hash}})
			err = r.diffTrees(plumbing.ZeroHash, y.Hash, prefix+name+"/", out)
		case !inB:
			*out = append(*out, PathChange{Path: prefix + name, From: File{uint32(x.Mode), x.Hash}})
		case x.Mode != y.Mode || x.Hash != y.Hash:
			*out = append(*out, PathChange{Path: prefix + name, From: File{uint32(x.Mode), x.Hash}, To: File{uint32(y.Mode), y.Hash}})
		}
		if err != nil {
			return err
		}
	}
	for name, y := range eb {
		if _, inA := ea[name]; inA {
			continue
		}
		if y.Mode == filemode.Dir {
			if err := r.diffTrees(plumbing.ZeroHash, y.Hash, prefix+name+"/", out); err != nil {
				return err
			}
			continue
		}
		*out = append(*out, PathChange{Path: prefix + name, To: File{uint32(y.Mode), y.Hash}})
	}
	return nil
}

// TreeEdit sets one path of a tree: Mode 0 removes it.
type TreeEdit struct {
	Path string
	File
}

// EditTree returns the tree base (zero: empty) with edits applied. Only the
// trees on the edited paths are read and written; a directory left empty
// disappears, as in git.
func (r *Repo) EditTree(base plumbing.Hash, edits []TreeEdit) (plumbing.Hash, error) {
	h, _, err := r.editTree(base, "", edits)
	return h, err
}

// editTree is EditTree of the tree of directory dir ("" the root, else
// ending in "/").
func (r *Repo) editTree(base plumbing.Hash, dir string, edits []TreeEdit) (plumbing.Hash, bool, error) {
	entries, err := r.treeIn(base, dir)
	if err != nil {
		return plumbing.ZeroHash, false, err
	}
	sub := map[string][]TreeEdit{}
	var order []string
	for _, e := range edits {
		name, rest, nested := strings.Cut(e.Path, "/")
		if name == "" || name == "." || name == ".." || name == ".git" {
			return plumbing.ZeroHash, false, fmt.Errorf("cannot commit the path %q", e.Path)
		}
		if !nested {
			var set *object.TreeEntry
			if e.Exists() {
				set = &object.TreeEntry{Name: name, Mode: filemode.FileMode(e.Mode), Hash: e.Hash}
			}
			entries = setEntry(entries, name, set)
			continue
		}
		if _, seen := sub[name]; !seen {
			order = append(order, name)
		}
		sub[name] = append(sub[name], TreeEdit{Path: rest, File: e.File})
	}
	for _, name := range order {
		var subBase plumbing.Hash
		i := findEntry(entries, name)
		isDir := i >= 0 && entries[i].Mode == filemode.Dir
		if isDir {
			subBase = entries[i].Hash
		}
		h, empty, err := r.editTree(subBase, dir+name+"/", sub[name])
		switch {
		case err != nil:
			return plumbing.ZeroHash, false, err
		case !empty:
			entries = setEntry(entries, name, &object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h})
		case isDir:
			entries = setEntry(entries, name, nil) // a directory left empty goes
		}
	}
	if len(entries) == 0 {
		return plumbing.ZeroHash, true, nil
	}
	h, err := r.writeTree(entries)
	return h, false, err
}

// NewCommit stores a commit of tree with the given parents. A nil author
// is the repository's identity; the committer always is.
func (r *Repo) NewCommit(tree plumbing.Hash, parents []plumbing.Hash, message string, author *Person, when time.Time) (plumbing.Hash, error) {
	if tree.IsZero() {
		// An empty tree is still a tree object.
		var err error
		if tree, err = r.writeLoose(plumbing.TreeObject, nil); err != nil {
			return plumbing.ZeroHash, err
		}
	}
	committer := r.signature(when)
	a := committer
	if author != nil {
		a = object.Signature{Name: author.Name, Email: author.Email, When: when}
	}
	c := &object.Commit{Author: a, Committer: committer, Message: message, TreeHash: tree, ParentHashes: parents}
	var obj plumbing.MemoryObject
	if err := c.Encode(&obj); err != nil {
		return plumbing.ZeroHash, err
	}
	var body bytes.Buffer
	rd, _ := obj.Reader() // a MemoryObject's never fails
	body.ReadFrom(rd)
	return r.writeLoose(plumbing.CommitObject, body.Bytes())
}
