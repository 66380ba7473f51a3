// Package gitrepo is the part of git that chant needs, on go-git's object
// storage: objects, trees and commits built from known content (never from
// an index), branch updates by compare-and-swap under git's own lock files,
// and landings that put a phase's commits on the user's branch and exactly
// their paths into the user's working tree and index (land.go).
//
// It works in linked worktrees (git worktree add): objects and refs go to
// the common git directory, HEAD and the index stay the worktree's own.
package gitrepo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/chant-run/chant/internal/fault"
	"github.com/chant-run/chant/internal/gitdir"
	"github.com/chant-run/chant/internal/safefs"
)

// ErrNotRepository means the directory is not inside a git work tree.
var ErrNotRepository = fault.New(fault.Input, "not a git repository")

// Repo is a git work tree.
type Repo struct {
	Root      string // absolute path of the work tree
	GitDir    string // the work tree's own git directory (HEAD, index)
	CommonDir string // the shared git directory (objects, refs, config)
	repo      *repository
	// swept: this process has removed the temporary object files a killed
	// one left (a scan of every loose object directory: once is enough).
	swept atomic.Bool
	trees treeCache
	index indexCache
}

// Open opens the git work tree that contains dir.
func Open(dir string) (*Repo, error) {
	dirs, err := gitdir.Find(dir)
	if errors.Is(err, gitdir.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNotRepository, dir)
	}
	if err != nil {
		return nil, err
	}
	r, err := openStorage(dirs.Git, dirs.Common)
	if errors.Is(err, ErrNotRepository) {
		return nil, fmt.Errorf("%w: %s", ErrNotRepository, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("open git repository at %s: %w", dirs.WorkTree, err)
	}
	return &Repo{Root: dirs.WorkTree, GitDir: dirs.Git, CommonDir: dirs.Common, repo: r}, nil
}

// StateDir is where chant keeps this work tree's local state: locks,
// progress, journals. It is inside the work tree's git directory, so never
// in git status and never written by a checkout.
func (r *Repo) StateDir() string { return gitdir.Dirs{Git: r.GitDir}.StateDir() }

// Identity is who commits: GIT_AUTHOR_NAME/GIT_AUTHOR_EMAIL when set (go-git
// ignores them, git does not), else user.name/user.email from the
// repository's, global or system config, else "chant".
func (r *Repo) Identity() (name, email string) {
	name, email = r.ConfiguredIdentity()
	if name == "" {
		name = "chant"
	}
	if email == "" {
		email = "chant@localhost"
	}
	return name, email
}

// ConfiguredIdentity is Identity without its fallbacks: "" for what
// neither the environment nor git's config says.
func (r *Repo) ConfiguredIdentity() (name, email string) {
	name, email = r.repo.identity()
	if v := os.Getenv("GIT_AUTHOR_NAME"); v != "" {
		name = v
	}
	if v := os.Getenv("GIT_AUTHOR_EMAIL"); v != "" {
		email = v
	}
	return name, email
}

// Person is a commit author.
type Person struct{ Name, Email string }

// Head is where the work tree's HEAD is: on a branch, or detached.
type Head struct {
	Branch plumbing.ReferenceName // "" when HEAD is detached
	Commit plumbing.Hash          // zero on a branch with no commit yet
}

// String names the head for messages: the branch, or "detached HEAD".
func (h Head) String() string {
	if h.Branch == "" {
		return "detached HEAD"
	}
	return h.Branch.Short()
}

// ReadHead reads HEAD and the commit it is at.
func (r *Repo) ReadHead() (Head, error) {
	data, err := safefs.ReadRegular(filepath.Join(r.GitDir, "HEAD"), maxRefFile)
	if err != nil {
		return Head{}, fmt.Errorf("read HEAD: %w", err)
	}
	line := strings.TrimSpace(string(data))
	if target, ok := strings.CutPrefix(line, "ref: "); ok {
		h := Head{Branch: plumbing.ReferenceName(strings.TrimSpace(target))}
		hash, ok, err := r.readRef(h.Branch)
		if err != nil {
			return Head{}, err
		}
		if ok {
			h.Commit = hash
		}
		return h, nil
	}
	if !plumbing.IsHash(line) {
		return Head{}, fmt.Errorf("HEAD holds %q, neither a ref nor a commit", line)
	}
	return Head{Commit: plumbing.NewHash(line)}, nil
}

// Head returns the full hash of HEAD, or "" in a repository with no commit.
func (r *Repo) Head() (string, error) {
	h, err := r.ReadHead()
	if err != nil || h.Commit.IsZero() {
		return "", err
	}
	return h.Commit.String(), nil
}

// Short returns the abbreviated form of a commit hash.
func Short(hash string) string {
	if len(hash) > 7 {
		return hash[:7]
	}
	return hash
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Subject returns the first line of a commit's message.
func (r *Repo) Subject(hash string) (string, error) {
	c, err := r.repo.CommitObject(plumbing.NewHash(hash))
	if err != nil {
		return "", err
	}
	return firstLine(c.Message), nil
}

// Author returns who wrote a commit, by full or abbreviated hash.
func (r *Repo) Author(hash string) (Person, error) {
	h, err := r.ResolveCommit(hash)
	if err != nil {
		return Person{}, err
	}
	c, err := r.repo.CommitObject(h)
	if err != nil {
		return Person{}, err
	}
	return Person{c.Author.Name, c.Author.Email}, nil
}

// FirstParents returns the commits from head back to (not including)
// base, newest first, following first parents; ok is false when base is
// not on that line.
func (r *Repo) FirstParents(head, base plumbing.Hash, limit int) (commits []plumbing.Hash, ok bool, err error) {
	for h := head; h != base; {
		if h.IsZero() || len(commits) >= limit {
			return commits, false, nil
		}
		c, err := r.repo.CommitObject(h)
		if err != nil {
			return nil, false, err
		}
		commits = append(commits, h)
		if c.NumParents() == 0 {
			return commits, base.IsZero(), nil
		}
		h = c.ParentHashes[0]
	}
	return commits, true, nil
}

// signature is who commits, at when.
func (r *Repo) signature(when time.Time) object.Signature {
	name, email := r.Identity()
	return object.Signature{Name: name, Email: email, When: when}
}

// ResolveCommit returns the commit a full or abbreviated hash, or a
// reference (HEAD, a branch, a tag), names: as git rev-parse would, an
// object before a reference, a tag's commit for a tag.
func (r *Repo) ResolveCommit(rev string) (plumbing.Hash, error) {
	if h, ok := r.repo.resolve(rev); ok {
		return h, nil
	}
	return plumbing.ZeroHash, fmt.Errorf("commit %s: %w", rev, plumbing.ErrReferenceNotFound)
}
