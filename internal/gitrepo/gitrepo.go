// Package gitrepo is the small part of git that chant needs, on go-git:
// who is committing, what changed since HEAD, and commits of known paths.
//
// go-git does not honour git's index.lock, so callers serialize every write
// through this package with the workspace lock.
package gitrepo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// ErrNotRepository means the directory is not inside a git work tree.
var ErrNotRepository = errors.New("not a git repository")

// Repo is a git work tree.
type Repo struct {
	Root string // absolute path of the work tree
	repo *git.Repository
}

// Open opens the git work tree that contains dir.
func Open(dir string) (*Repo, error) {
	r, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return nil, fmt.Errorf("%w: %s", ErrNotRepository, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("open git repository at %s: %w", dir, err)
	}
	wt, err := r.Worktree()
	if err != nil {
		return nil, fmt.Errorf("open git repository at %s: %w", dir, err)
	}
	return &Repo{Root: wt.Filesystem.Root(), repo: r}, nil
}

// Identity is who commits: GIT_AUTHOR_NAME/GIT_AUTHOR_EMAIL when set (go-git
// ignores them, git does not), else user.name/user.email from the
// repository's, global or system config, else "chant".
func (r *Repo) Identity() (name, email string) {
	if cfg, err := r.repo.ConfigScoped(config.SystemScope); err == nil {
		name, email = cfg.User.Name, cfg.User.Email
	}
	if v := os.Getenv("GIT_AUTHOR_NAME"); v != "" {
		name = v
	}
	if v := os.Getenv("GIT_AUTHOR_EMAIL"); v != "" {
		email = v
	}
	if name == "" {
		name = "chant"
	}
	if email == "" {
		email = "chant@localhost"
	}
	return name, email
}

// Head returns the full hash of HEAD, or "" in a repository with no commit.
func (r *Repo) Head() (string, error) {
	ref, err := r.repo.Head()
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return ref.Hash().String(), nil
}

// Changed reports, for a path relative to the work tree root, whether the
// file on disk differs from HEAD (created, modified or deleted) and whether
// it exists on disk.
func (r *Repo) Changed(path string) (changed, exists bool, err error) {
	data, rerr := os.ReadFile(filepath.Join(r.Root, filepath.FromSlash(path)))
	exists = rerr == nil
	if rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		return false, false, rerr
	}
	var inHead *object.File
	if ref, err := r.repo.Head(); err == nil {
		commit, err := r.repo.CommitObject(ref.Hash())
		if err != nil {
			return false, exists, err
		}
		inHead, err = commit.File(filepath.ToSlash(path))
		if err != nil && !errors.Is(err, object.ErrFileNotFound) {
			return false, exists, err
		}
	}
	switch {
	case inHead == nil:
		return exists, exists, nil
	case !exists:
		return true, false, nil
	}
	return plumbing.ComputeHash(plumbing.BlobObject, data) != inHead.Hash, true, nil
}

// Commit stages exactly paths (relative to the root; a deleted path is
// staged as a removal) and commits them with message, as the repository's
// identity at time when. It returns the new commit's full hash.
func (r *Repo) Commit(paths []string, message string, when time.Time) (string, error) {
	wt, err := r.repo.Worktree()
	if err != nil {
		return "", err
	}
	for _, p := range paths {
		p = filepath.ToSlash(p)
		if _, err := os.Lstat(filepath.Join(r.Root, filepath.FromSlash(p))); errors.Is(err, os.ErrNotExist) {
			if _, err := wt.Remove(p); err != nil {
				return "", fmt.Errorf("stage removal of %s: %w", p, err)
			}
			continue
		}
		// SkipStatus: a full status scan per path is slow on big trees.
		if err := wt.AddWithOptions(&git.AddOptions{Path: p, SkipStatus: true}); err != nil {
			return "", fmt.Errorf("stage %s: %w", p, err)
		}
	}
	name, email := r.Identity()
	sig := &object.Signature{Name: name, Email: email, When: when}
	hash, err := wt.Commit(message, &git.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		return "", fmt.Errorf("commit %q: %w", firstLine(message), err)
	}
	return hash.String(), nil
}

// Exclude makes git ignore patterns (gitignore syntax, relative to the work
// tree root) in this clone only, through .git/info/exclude, which is never
// committed. Patterns already there are not added again.
func (r *Repo) Exclude(patterns ...string) error {
	fsStore, ok := r.repo.Storer.(*filesystem.Storage)
	if !ok {
		return nil // in-memory storage: nothing to ignore
	}
	path := filepath.Join(fsStore.Filesystem().Root(), "info", "exclude")
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	have := map[string]bool{}
	for _, line := range strings.Split(string(old), "\n") {
		have[strings.TrimSpace(line)] = true
	}
	out := string(old)
	for _, p := range patterns {
		if !have[p] {
			if out != "" && !strings.HasSuffix(out, "\n") {
				out += "\n"
			}
			out += p + "\n"
		}
	}
	if out == string(old) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(out), 0o644)
}

// Short returns the abbreviated form of a commit hash.
func Short(hash string) string {
	if len(hash) > 7 {
		return hash[:7]
	}
	return hash
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}
