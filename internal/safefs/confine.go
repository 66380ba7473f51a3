package safefs

import (
	"os"
	"path/filepath"
)

// Confinement answers Escapes for many paths under one root, resolving
// each directory once: thousands of target files share a few directories.
type Confinement struct {
	root string
	dirs map[string]*dirFate
}

type dirFate struct {
	exists, escapes bool
	lookups         int
	// links are the names of the directory's symbolic links, once it has
	// been read (after listAfter files were looked up in it, the rest cost
	// no lstat each); nil before, or when it could not be read.
	links  map[string]bool
	listed bool
}

// listAfter is how many files are looked up in a directory one lstat each
// before it is read whole: one getdents for a directory of thousands of
// targets, and no read of a large directory for a few.
const listAfter = 8

// NewConfinement checks paths against root (with symbolic links resolved).
func NewConfinement(root string) *Confinement {
	return &Confinement{root: root, dirs: map[string]*dirFate{}}
}

// Escapes reports what the function Escapes does, for c's root.
func (c *Confinement) Escapes(path string) bool {
	if len(path) <= len(c.root) {
		return false
	}
	parent := filepath.Dir(path)
	dir := c.dir(parent)
	if !dir.exists {
		return dir.escapes // so neither does the file
	}
	if dir.isLink(parent, filepath.Base(path)) {
		return Escapes(c.root, path) // a link itself: resolve it
	}
	return dir.escapes
}

// isLink reports whether name in the directory (at path dir) is a
// symbolic link.
func (f *dirFate) isLink(dir, name string) bool {
	f.lookups++
	if !f.listed && f.lookups > listAfter {
		f.listed = true
		if d, err := os.Open(dir); err == nil {
			entries, err := d.ReadDir(-1) // unsorted, unlike os.ReadDir
			d.Close()
			if err == nil {
				f.links = map[string]bool{}
				for _, e := range entries {
					if e.Type()&os.ModeSymlink != 0 {
						f.links[e.Name()] = true
					}
				}
			}
		}
	}
	if f.links != nil {
		return f.links[name]
	}
	fi, err := os.Lstat(filepath.Join(dir, name))
	return err == nil && fi.Mode()&os.ModeSymlink != 0
}

func (c *Confinement) dir(dir string) *dirFate {
	if f, ok := c.dirs[dir]; ok {
		return f
	}
	f := &dirFate{}
	if len(dir) <= len(c.root) {
		f.exists = true // the root, or above it
		c.dirs[dir] = f
		return f
	}
	if real, err := filepath.EvalSymlinks(dir); err != nil {
		f.escapes = c.dir(filepath.Dir(dir)).escapes // does not exist (yet): its parent decides
	} else {
		rel, err := filepath.Rel(c.root, real)
		f.exists, f.escapes = true, err != nil || !filepath.IsLocal(rel) && rel != "."
	}
	c.dirs[dir] = f
	return f
}

// Escapes reports whether path, or the deepest part of it that exists,
// resolves outside root (root itself with symbolic links resolved).
func Escapes(root, path string) bool {
	for p := path; len(p) > len(root); p = filepath.Dir(p) {
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			continue // does not exist (yet): look at its parent
		}
		rel, err := filepath.Rel(root, real)
		return err != nil || !filepath.IsLocal(rel) && rel != "."
	}
	return false
}
