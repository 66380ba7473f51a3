package gitrepo

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// go-git writes the index and branch refs in place (truncate, then write),
// so a process killed at the wrong instant leaves an empty ref or a torn
// index. Commit therefore journals the branch's previous commit before it
// starts, and Recover, run before any other git write, puts things right.

// journalFile, in the git directory, holds the commit in progress.
const journalFile = "chant-commit.journal"

type journal struct {
	Ref string `json:"ref"`
	Old string `json:"old"`
}

func (r *Repo) gitDir() string {
	if s, ok := r.repo.Storer.(*filesystem.Storage); ok {
		return s.Filesystem().Root()
	}
	return ""
}

// beginCommit journals where HEAD's branch points before a commit.
func (r *Repo) beginCommit() error {
	dir := r.gitDir()
	if dir == "" {
		return nil
	}
	ref, err := r.repo.Reference(plumbing.HEAD, false)
	if err != nil {
		return err
	}
	j := journal{Ref: ref.Target().String()}
	if head, err := r.Head(); err == nil {
		j.Old = head
	}
	data, _ := json.Marshal(j)
	return writeAtomic(filepath.Join(dir, journalFile), data)
}

func (r *Repo) endCommit() {
	if dir := r.gitDir(); dir != "" {
		os.Remove(filepath.Join(dir, journalFile))
	}
}

// Recover repairs what a commit killed half-way can leave: a branch ref
// that no longer names a commit is set back to the commit before, a torn
// index is rebuilt from HEAD (the work tree is not touched), and temporary
// object files are removed. The caller must hold the lock that serializes
// git writes. It reports what it repaired.
func (r *Repo) Recover() ([]string, error) {
	dir := r.gitDir()
	if dir == "" {
		return nil, nil
	}
	var fixed []string
	if data, err := os.ReadFile(filepath.Join(dir, journalFile)); err == nil {
		var j journal
		if json.Unmarshal(data, &j) == nil && j.Ref != "" {
			name := plumbing.ReferenceName(j.Ref)
			ref, err := r.repo.Reference(name, false)
			ok := err == nil
			if ok {
				_, err = r.repo.CommitObject(ref.Hash())
				ok = err == nil
			}
			if !ok {
				if j.Old == "" {
					os.Remove(filepath.Join(dir, filepath.FromSlash(j.Ref)))
				} else if err := r.repo.Storer.SetReference(plumbing.NewHashReference(name, plumbing.NewHash(j.Old))); err != nil {
					return fixed, fmt.Errorf("restore %s: %w", j.Ref, err)
				}
				fixed = append(fixed, fmt.Sprintf("%s restored to %s after an interrupted commit", j.Ref, Short(j.Old)))
			}
		}
		os.Remove(filepath.Join(dir, journalFile))
	}
	if _, err := r.repo.Storer.Index(); err != nil {
		head, herr := r.Head()
		wt, werr := r.repo.Worktree()
		if herr != nil || werr != nil {
			return fixed, errors.Join(err, herr, werr)
		}
		// The torn index is unreadable even to Reset: drop it, then rebuild.
		if err := os.Remove(filepath.Join(dir, "index")); err != nil && !os.IsNotExist(err) {
			return fixed, err
		}
		if head != "" {
			if err := wt.Reset(&git.ResetOptions{Mode: git.MixedReset, Commit: plumbing.NewHash(head)}); err != nil {
				return fixed, fmt.Errorf("rebuild the index: %w", err)
			}
		}
		fixed = append(fixed, "index rebuilt from HEAD after an interrupted write")
	}
	tmp, _ := filepath.Glob(filepath.Join(dir, "objects", "*", "tmp_obj_*"))
	more, _ := filepath.Glob(filepath.Join(dir, "objects", "tmp_obj_*"))
	for _, p := range append(tmp, more...) {
		if strings.Contains(filepath.Base(p), "tmp_obj_") {
			os.Remove(p)
		}
	}
	return fixed, nil
}

func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	return err
}
