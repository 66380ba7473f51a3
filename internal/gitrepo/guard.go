package gitrepo

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// An agent runs with the user's permissions inside a linked worktree of
// the user's repository, so `git config` there writes the repository's own
// config. core.fsmonitor, core.hooksPath, a hook or a filter in
// info/attributes would then run the agent's payload at the user's next git
// command. A Guard copies those parts of the git directory before the
// agent and puts them back after it.

// Guard is a copy of the git configuration files and directories that make
// git run commands or change what it does.
type Guard struct {
	roots []string // absolute paths guarded: files or directories
	base  string   // for names in reports
	files map[string]guardedFile
}

type guardedFile struct {
	data []byte
	mode fs.FileMode
}

// Guard copies config, config.worktree, hooks/ and info/ of the common git
// directory, the work tree's own config.worktree, and the extra paths.
func (r *Repo) Guard(extra ...string) (*Guard, error) {
	roots := []string{
		filepath.Join(r.CommonDir, "config"),
		filepath.Join(r.CommonDir, "config.worktree"),
		filepath.Join(r.CommonDir, "hooks"),
		filepath.Join(r.CommonDir, "info"),
	}
	if r.GitDir != r.CommonDir {
		roots = append(roots, filepath.Join(r.GitDir, "config.worktree"))
	}
	g := &Guard{roots: append(roots, extra...), base: r.CommonDir}
	var err error
	g.files, err = g.read()
	return g, err
}

// notConfig are the files in the guarded directories that git writes of
// itself and never reads as configuration: info/refs, which
// update-server-info writes at every repack (the user's git gc --auto may
// run one during a phase).
var notConfig = map[string]bool{"info/refs": true}

func (g *Guard) read() (map[string]guardedFile, error) {
	files := map[string]guardedFile{}
	for _, root := range g.roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
			if notConfig[g.name(p)] {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			switch {
			case d.IsDir():
				files[p] = guardedFile{mode: info.Mode()}
			case info.Mode()&fs.ModeSymlink != 0:
				target, err := os.Readlink(p)
				if err != nil {
					return err
				}
				files[p] = guardedFile{data: []byte(target), mode: info.Mode()}
			case info.Mode().IsRegular():
				data, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				files[p] = guardedFile{data: data, mode: info.Mode()}
			default:
				files[p] = guardedFile{mode: info.Mode()}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}

// Restore puts every guarded file back as it was copied and removes what
// was added, and returns the names of what had changed (relative to the
// git directory), sorted; none when nothing had.
func (g *Guard) Restore() ([]string, error) {
	now, err := g.read()
	if err != nil {
		return nil, err
	}
	var changed []string
	var added []string
	for p := range now {
		if _, ok := g.files[p]; !ok {
			added = append(added, p)
		}
	}
	// Deepest first, so that a directory is emptied before it is removed.
	sort.Sort(sort.Reverse(sort.StringSlice(added)))
	for _, p := range added {
		changed = append(changed, g.name(p))
		if err := os.RemoveAll(p); err != nil {
			return changed, err
		}
	}
	var restore []string
	for p, was := range g.files {
		cur, ok := now[p]
		if ok && cur.mode == was.mode && bytes.Equal(cur.data, was.data) {
			continue
		}
		restore = append(restore, p)
	}
	sort.Strings(restore) // parents before their files
	for _, p := range restore {
		was := g.files[p]
		changed = append(changed, g.name(p))
		if err := putBack(p, was); err != nil {
			return changed, err
		}
	}
	sort.Strings(changed)
	return dedupe(changed), nil
}

func putBack(p string, f guardedFile) error {
	switch {
	case f.mode.IsDir():
		if fi, err := os.Lstat(p); err == nil && !fi.IsDir() {
			os.Remove(p)
		}
		if err := os.MkdirAll(p, 0o777); err != nil {
			return err
		}
		return os.Chmod(p, f.mode.Perm())
	case f.mode&fs.ModeSymlink != 0:
		os.RemoveAll(p)
		return os.Symlink(string(f.data), p)
	case f.mode.IsRegular():
		if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
			os.RemoveAll(p)
		}
		tmp := p + ".chant-restore"
		if err := writeSynced(tmp, f.data); err != nil {
			return err
		}
		if err := os.Chmod(tmp, f.mode.Perm()); err != nil {
			return err
		}
		return os.Rename(tmp, p)
	}
	return nil
}

func (g *Guard) name(p string) string {
	if rel, err := filepath.Rel(g.base, p); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return p
}

func dedupe(list []string) []string {
	out := list[:0]
	for i, s := range list {
		if i == 0 || s != list[i-1] {
			out = append(out, s)
		}
	}
	return out
}
