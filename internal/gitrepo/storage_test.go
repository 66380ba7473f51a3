package gitrepo

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/chant-run/chant/internal/safefs"
	"github.com/chant-run/chant/internal/testgit"
)

// ResolveCommit names what git rev-parse REV^{commit} names, for the
// revisions chant records and a person types: hashes full and
// abbreviated (an odd number of digits too), HEAD, a branch, tags
// lightweight and annotated; and nothing for what names no commit.
func TestResolveCommitAgreesWithGit(t *testing.T) {
	dir := testgit.Repo(t, map[string]string{"a": "1\n"})
	testgit.Git(t, dir, "commit", "-q", "--allow-empty", "-m", "second")
	testgit.Git(t, dir, "branch", "side", "HEAD~1")
	testgit.Git(t, dir, "tag", "light", "HEAD~1")
	testgit.Git(t, dir, "tag", "-a", "-m", "annotated", "heavy", "HEAD~1")
	r := open(t, dir)
	full := testgit.Git(t, dir, "rev-parse", "HEAD")
	for _, rev := range []string{full, full[:7], full[:8], strings.ToUpper(full[:9]), "HEAD", "main", "side", "light", "heavy", "refs/heads/side", "tags/heavy"} {
		want := testgit.Git(t, dir, "rev-parse", rev+"^{commit}")
		if got, err := r.ResolveCommit(rev); err != nil || got.String() != want {
			t.Errorf("ResolveCommit(%q) = %s, %v; want %s", rev, got, err, want)
		}
	}
	tree := testgit.Git(t, dir, "rev-parse", "HEAD^{tree}")
	for _, rev := range []string{"", "nosuch", "zzzzzzz", tree, tree[:7], strings.Repeat("0", 40), full + "0"} {
		if got, err := r.ResolveCommit(rev); !errors.Is(err, plumbing.ErrReferenceNotFound) {
			t.Errorf("ResolveCommit(%q) = %s, %v; want no commit", rev, got, err)
		}
	}
}

// A repository whose format go-git does not read (another object format)
// is refused, as go-git's own open refuses it; a directory that is no
// repository is one.
func TestOpenRefusesWhatItCannotRead(t *testing.T) {
	dir := testgit.Repo(t, map[string]string{"a": "1\n"})
	linked := filepath.Join(t.TempDir(), "linked")
	testgit.Git(t, dir, "worktree", "add", "-q", "--detach", linked)
	testgit.Git(t, dir, "config", "core.repositoryformatversion", "1")
	testgit.Git(t, dir, "config", "extensions.objectformat", "sha256")
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "unknown extension: objectformat") {
		t.Errorf("Open of a sha256 repository: %v", err)
	}
	// A linked worktree's format is its common directory's.
	if _, err := Open(linked); err == nil || !strings.Contains(err.Error(), "unknown extension: objectformat") {
		t.Errorf("Open of a linked worktree of a sha256 repository: %v", err)
	}
	testgit.Git(t, dir, "config", "--unset", "extensions.objectformat")
	if _, err := Open(linked); err != nil {
		t.Errorf("Open of a linked worktree: %v", err)
	}
	testgit.Git(t, dir, "config", "extensions.noop-v1", "true")
	if _, err := Open(dir); err != nil {
		t.Errorf("Open with a no-op extension: %v", err)
	}
	empty := t.TempDir()
	if err := os.Mkdir(filepath.Join(empty, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(empty); !errors.Is(err, ErrNotRepository) {
		t.Errorf("Open of an empty .git: %v", err)
	}
}

// Init makes a repository git takes as its own (HEAD on master, a work
// tree), and leaves one there as it is.
func TestInitMakesWhatGitInitMakes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "clone")
	r, err := Init(dir)
	if err != nil {
		t.Fatal(err)
	}
	if h := head(t, r); h.Branch != "refs/heads/master" || !h.Commit.IsZero() {
		t.Errorf("a new repository's head: %+v", h)
	}
	if got := testgit.Git(t, dir, "rev-parse", "--is-bare-repository", "--show-toplevel"); got != "false\n"+dir {
		t.Errorf("git sees %q", got)
	}
	testgit.Git(t, dir, "commit", "-q", "--allow-empty", "-m", "one")
	if _, err := Init(dir); err != nil || testgit.Git(t, dir, "rev-list", "--count", "HEAD") != "1" {
		t.Errorf("Init again: %v", err)
	}
}

// A repository on another machine is reached through Network; without
// it, chant says what would reach it.
func TestFetchAndPushElsewhereGoThroughNetwork(t *testing.T) {
	r := open(t, testgit.Repo(t, map[string]string{"a": "1\n"}))
	old := Network
	t.Cleanup(func() { Network = old })
	Network = nil
	if err := r.Fetch("ssh://example.com/repo.git", "+refs/heads/x:refs/heads/x"); err == nil || !strings.Contains(err.Error(), "chant-temporal") {
		t.Errorf("Fetch with no Network: %v", err)
	}
	rec := &recordingNetwork{}
	Network = rec
	if err := r.Fetch("ssh://example.com/repo.git", "+refs/heads/x:refs/heads/x"); err != nil {
		t.Fatal(err)
	}
	if err := r.Push("https://example.com/repo.git", "+refs/heads/y:refs/heads/y"); err != nil {
		t.Fatal(err)
	}
	if err := r.Push("https://example.com/repo.git", "not a refspec"); err == nil {
		t.Error("Push of a bad refspec: no error")
	}
	if got := strings.Join(rec.calls, "; "); got != "fetch ssh://example.com/repo.git [+refs/heads/x:refs/heads/x]; push https://example.com/repo.git [+refs/heads/y:refs/heads/y]" {
		t.Errorf("Network was asked: %s", got)
	}
}

type recordingNetwork struct{ calls []string }

func (n *recordingNetwork) Fetch(r *Repo, url string, refspecs []string) error {
	n.calls = append(n.calls, "fetch "+url+" ["+strings.Join(refspecs, " ")+"]")
	return nil
}

func (n *recordingNetwork) Push(r *Repo, url string, refspecs []string) error {
	n.calls = append(n.calls, "push "+url+" ["+strings.Join(refspecs, " ")+"]")
	return nil
}

// The identity a repository's config gives is read from its common
// directory's config, in a linked worktree too.
func TestIdentityFromTheRepositorysConfig(t *testing.T) {
	for _, v := range []string{"GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL"} {
		t.Setenv(v, "") // restored after the test
		os.Unsetenv(v)
	}
	dir := testgit.Repo(t, map[string]string{"a": "1\n"})
	testgit.Git(t, dir, "config", "user.name", "Ada Lovelace")
	testgit.Git(t, dir, "config", "user.email", "ada@example.org")
	linked := filepath.Join(t.TempDir(), "linked")
	testgit.Git(t, dir, "worktree", "add", "-q", "--detach", linked)
	for _, d := range []string{dir, linked} {
		r, err := Open(d)
		if err != nil {
			t.Fatal(err)
		}
		if name, email := r.ConfiguredIdentity(); name != "Ada Lovelace" || email != "ada@example.org" {
			t.Errorf("%s: identity %q <%s>", d, name, email)
		}
	}
}

// HEAD and the branch it names are read without blocking: a FIFO where a
// ref should be is an error, not a read that waits for a writer forever.
func TestReadHeadRefusesAFIFO(t *testing.T) {
	dir := testgit.Repo(t, map[string]string{"a": "1\n"})
	r := open(t, dir)
	h := head(t, r)
	ref := filepath.Join(dir, ".git", filepath.FromSlash(h.Branch.String()))
	if err := os.Remove(ref); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(ref, 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	if _, err := r.ReadHead(); !errors.Is(err, safefs.ErrNotRegular) {
		t.Errorf("ReadHead with a FIFO for its branch: %v", err)
	}
}
