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
	"sort"
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
	return r.CommitAs(paths, message, when, nil)
}

// CommitAs is Commit with another author (the committer stays the
// repository's identity); nil means the repository's identity.
func (r *Repo) CommitAs(paths []string, message string, when time.Time, author *Person) (string, error) {
	wt, err := r.repo.Worktree()
	if err != nil {
		return "", err
	}
	if err := r.beginCommit(); err != nil {
		return "", fmt.Errorf("journal the commit: %w", err)
	}
	defer r.endCommit()
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
	authorSig := sig
	if author != nil {
		authorSig = &object.Signature{Name: author.Name, Email: author.Email, When: when}
	}
	hash, err := wt.Commit(message, &git.CommitOptions{Author: authorSig, Committer: sig})
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

// Snapshot is the content of each path that differs from HEAD in the work
// tree (modified, added, deleted or untracked, not ignored), as a blob hash;
// "" for a deleted path.
type Snapshot map[string]string

// Dirty takes a snapshot of the work tree's differences from HEAD.
func (r *Repo) Dirty() (Snapshot, error) {
	wt, err := r.repo.Worktree()
	if err != nil {
		return nil, err
	}
	st, err := wt.Status()
	if err != nil {
		return nil, fmt.Errorf("git status: %w", err)
	}
	snap := Snapshot{}
	for path, fs := range st {
		if fs.Worktree == git.Unmodified && fs.Staging == git.Unmodified {
			continue
		}
		snap[path] = r.blobHash(path)
	}
	return snap, nil
}

func (r *Repo) blobHash(path string) string {
	data, err := os.ReadFile(filepath.Join(r.Root, filepath.FromSlash(path)))
	if err != nil {
		return ""
	}
	return plumbing.ComputeHash(plumbing.BlobObject, data).String()
}

// ChangedSince returns the paths changed since a run started at commit base
// with the work tree as in before: those changed by commits made since
// base, and those now differing from HEAD that were not already dirty with
// the same content. Sorted.
func (r *Repo) ChangedSince(base string, before Snapshot) ([]string, error) {
	changed := map[string]bool{}
	head, err := r.Head()
	if err != nil {
		return nil, err
	}
	work, err := r.WorkCommitsSince(base)
	if err != nil {
		return nil, err
	}
	for _, h := range work {
		c, err := r.repo.CommitObject(plumbing.NewHash(h))
		if err != nil {
			return nil, err
		}
		to, err := c.Tree()
		if err != nil {
			return nil, err
		}
		from := &object.Tree{}
		if c.NumParents() > 0 {
			parent, err := c.Parent(0)
			if err != nil {
				return nil, err
			}
			if from, err = parent.Tree(); err != nil {
				return nil, err
			}
		}
		changes, err := from.Diff(to)
		if err != nil {
			return nil, err
		}
		for _, ch := range changes {
			for _, name := range []string{ch.From.Name, ch.To.Name} {
				if name != "" {
					changed[name] = true
				}
			}
		}
	}
	now, err := r.Dirty()
	if err != nil {
		return nil, err
	}
	for path, hash := range now {
		if old, was := before[path]; !was || old != hash {
			changed[path] = true
		}
	}
	// A path dirty before and since restored to HEAD's content changed too.
	for path, hash := range before {
		if _, still := now[path]; !still && head == base && hash != r.headHash(path) {
			changed[path] = true
		}
	}
	out := make([]string, 0, len(changed))
	for p := range changed {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}

func (r *Repo) headHash(path string) string {
	ref, err := r.repo.Head()
	if err != nil {
		return ""
	}
	c, err := r.repo.CommitObject(ref.Hash())
	if err != nil {
		return ""
	}
	f, err := c.File(path)
	if err != nil {
		return ""
	}
	return f.Hash.String()
}

// BookkeepingTrailer marks the commits chant makes for its own records
// (decisions, results, resets), as opposed to work.
const BookkeepingTrailer = "Chant-Bookkeeping: yes"

// Bookkeeping returns message with the bookkeeping trailer.
func Bookkeeping(message string) string {
	return strings.TrimRight(message, "\n") + "\n\n" + BookkeepingTrailer + "\n"
}

// WorkCommitsSince is CommitsSince without chant's bookkeeping commits
// (which other chant processes may make meanwhile).
func (r *Repo) WorkCommitsSince(base string) ([]string, error) {
	all, err := r.CommitsSince(base)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, h := range all {
		c, err := r.repo.CommitObject(plumbing.NewHash(h))
		if err != nil {
			return nil, err
		}
		if !strings.Contains(c.Message, "\n"+BookkeepingTrailer) {
			out = append(out, h)
		}
	}
	return out, nil
}

// CommitsSince returns the commits reachable from HEAD back to (not
// including) base, oldest first, following first parents.
func (r *Repo) CommitsSince(base string) ([]string, error) {
	head, err := r.Head()
	if err != nil || head == base || head == "" {
		return nil, err
	}
	var out []string
	for h := head; h != base; {
		c, err := r.repo.CommitObject(plumbing.NewHash(h))
		if err != nil {
			return nil, err
		}
		out = append(out, h)
		if c.NumParents() == 0 {
			if base != "" {
				return nil, fmt.Errorf("commit %s is not an ancestor of HEAD", Short(base))
			}
			break
		}
		h = c.ParentHashes[0].String()
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// Subject returns the first line of a commit's message.
func (r *Repo) Subject(hash string) (string, error) {
	c, err := r.repo.CommitObject(plumbing.NewHash(hash))
	if err != nil {
		return "", err
	}
	return firstLine(c.Message), nil
}

// Person is a commit author.
type Person struct{ Name, Email string }

// Author returns who wrote a commit, by full or abbreviated hash.
func (r *Repo) Author(hash string) (Person, error) {
	h, err := r.repo.ResolveRevision(plumbing.Revision(hash))
	if err != nil {
		return Person{}, fmt.Errorf("commit %s: %w", hash, err)
	}
	c, err := r.repo.CommitObject(*h)
	if err != nil {
		return Person{}, err
	}
	return Person{c.Author.Name, c.Author.Email}, nil
}

// People returns the authors and committers of the last limit commits on
// HEAD's history.
func (r *Repo) People(limit int) ([]Person, error) {
	ref, err := r.repo.Head()
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	iter, err := r.repo.Log(&git.LogOptions{From: ref.Hash()})
	if err != nil {
		return nil, err
	}
	defer iter.Close()
	seen := map[Person]bool{}
	var out []Person
	for i := 0; i < limit; i++ {
		c, err := iter.Next()
		if err != nil {
			break
		}
		for _, p := range []Person{{c.Author.Name, c.Author.Email}, {c.Committer.Name, c.Committer.Email}} {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out, nil
}
