// Package gitdir finds the git directories of a work tree: its own (HEAD,
// index) and the common one (objects, refs, config), which differ in a
// linked worktree (git worktree add). It reads only the .git file and the
// commondir file, so every chant package can find where chant keeps its
// local state without opening the repository.
package gitdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrNotFound means no git work tree contains the directory.
var ErrNotFound = errors.New("not a git repository")

// Dirs are the directories of one git work tree.
type Dirs struct {
	WorkTree string // the work tree's root
	Git      string // its own git directory: .git, or .git/worktrees/<name> for a linked worktree
	Common   string // the shared git directory (the same as Git outside linked worktrees)
}

// Find returns the git directories of the work tree containing dir.
func Find(dir string) (Dirs, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Dirs{}, err
	}
	for d := abs; ; d = filepath.Dir(d) {
		if dirs, ok, err := at(d); err != nil || ok {
			return dirs, err
		}
		if filepath.Dir(d) == d {
			return Dirs{}, fmt.Errorf("%w: %s", ErrNotFound, abs)
		}
	}
}

// At returns the git directories of the work tree rooted exactly at root.
func At(root string) (Dirs, error) {
	dirs, ok, err := at(root)
	if err == nil && !ok {
		err = fmt.Errorf("%w: %s", ErrNotFound, root)
	}
	return dirs, err
}

func at(root string) (Dirs, bool, error) {
	dotgit := filepath.Join(root, ".git")
	fi, err := os.Stat(dotgit)
	if err != nil {
		return Dirs{}, false, nil
	}
	dirs := Dirs{WorkTree: root, Git: dotgit, Common: dotgit}
	if !fi.IsDir() {
		if !fi.Mode().IsRegular() || fi.Size() > 4096 {
			return Dirs{}, false, fmt.Errorf("%s is neither a directory nor a gitdir file", dotgit)
		}
		data, err := os.ReadFile(dotgit)
		if err != nil {
			return Dirs{}, false, err
		}
		line := strings.TrimSpace(string(data))
		target, ok := strings.CutPrefix(line, "gitdir:")
		if !ok {
			return Dirs{}, false, fmt.Errorf("%s does not say gitdir: <path>", dotgit)
		}
		target = strings.TrimSpace(target)
		if !filepath.IsAbs(target) {
			target = filepath.Join(root, target)
		}
		dirs.Git, dirs.Common = filepath.Clean(target), filepath.Clean(target)
	}
	if data, err := os.ReadFile(filepath.Join(dirs.Git, "commondir")); err == nil {
		common := strings.TrimSpace(string(data))
		if !filepath.IsAbs(common) {
			common = filepath.Join(dirs.Git, common)
		}
		dirs.Common = filepath.Clean(common)
	}
	return dirs, true, nil
}

// StateDir is where chant keeps a work tree's local state (locks, progress,
// journals): inside its own git directory, so it is never part of the work
// tree, never in git status, and never written by a checkout.
func (d Dirs) StateDir() string { return filepath.Join(d.Git, "chant") }
