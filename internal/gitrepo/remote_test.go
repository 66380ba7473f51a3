package gitrepo

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chant-run/chant/internal/testgit"
)

// gitAs runs git in dir with an identity to commit as.
func gitAs(t *testing.T, dir string, args ...string) string {
	t.Helper()
	return testgit.Git(t, dir, append([]string{"-c", "user.name=Test", "-c", "user.email=test@example.com"}, args...)...)
}

// fetched is a new repository at dir that fetched refspec from src, as git
// finds it: whole.
func fetched(t *testing.T, dir, src, refspec string) *Repo {
	t.Helper()
	clone, err := Init(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := clone.Fetch(src, refspec); err != nil {
		t.Fatal(err)
	}
	gitAs(t, clone.Root, "fsck", "--strict", "--no-dangling")
	return clone
}

// countLoose counts the loose objects of a repository's object store.
func countLoose(t *testing.T, objects string) int {
	t.Helper()
	n := 0
	dirs, _ := os.ReadDir(objects)
	for _, d := range dirs {
		if len(d.Name()) == 2 {
			files, _ := os.ReadDir(filepath.Join(objects, d.Name()))
			n += len(files)
		}
	}
	return n
}

// Between repositories on one machine a fetch and a push copy what the
// other side lacks, and nothing more: git finds both sides whole.
func TestFetchAndPushOnOneMachine(t *testing.T) {
	src := testgit.Repo(t, map[string]string{"a": "a\n", "dir/b": "b\n", "dir/sub/c": "c\n"})
	gitAs(t, src, "repack", "-q", "-a", "-d") // the source's objects packed, as usual
	clone := fetched(t, filepath.Join(t.TempDir(), "clone"), src, "+refs/heads/main:refs/chant/bases/one")
	first := countLoose(t, filepath.Join(clone.CommonDir, "objects"))
	if first != 7 { // a commit, three trees, three blobs
		t.Errorf("the first fetch copied %d objects, want 7", first)
	}
	// One more commit: only its objects come.
	os.WriteFile(filepath.Join(src, "dir", "sub", "c"), []byte("c2\n"), 0o644)
	gitAs(t, src, "commit", "-qam", "second")
	if err := clone.Fetch("file://"+src, "+refs/heads/main:refs/chant/bases/two"); err != nil {
		t.Fatal(err)
	}
	gitAs(t, clone.Root, "fsck", "--strict", "--no-dangling")
	if n := countLoose(t, filepath.Join(clone.CommonDir, "objects")) - first; n != 5 { // commit, 3 trees, a blob
		t.Errorf("the second fetch copied %d objects, want 5", n)
	}
	if got, want := gitAs(t, clone.Root, "rev-parse", "refs/chant/bases/two"), gitAs(t, src, "rev-parse", "HEAD"); got != want {
		t.Errorf("refs/chant/bases/two = %s, want %s", got, want)
	}

	// A push of a new commit to a bare repository.
	bare := filepath.Join(t.TempDir(), "bare.git")
	gitAs(t, src, "clone", "-q", "--bare", src, bare)
	os.WriteFile(filepath.Join(clone.Root, "new"), []byte("new\n"), 0o644)
	gitAs(t, clone.Root, "checkout", "-q", "refs/chant/bases/two")
	gitAs(t, clone.Root, "add", "new")
	gitAs(t, clone.Root, "commit", "-qm", "result")
	gitAs(t, clone.Root, "update-ref", "refs/chant/results/k", "HEAD")
	before := countLoose(t, filepath.Join(bare, "objects"))
	if err := clone.Push("file://"+bare, "+refs/chant/results/k:refs/chant/results/k"); err != nil {
		t.Fatal(err)
	}
	gitAs(t, bare, "fsck", "--strict", "--no-dangling")
	if got, want := gitAs(t, bare, "rev-parse", "refs/chant/results/k"), gitAs(t, clone.Root, "rev-parse", "HEAD"); got != want {
		t.Errorf("the pushed reference = %s, want %s", got, want)
	}
	if n := countLoose(t, filepath.Join(bare, "objects")) - before; n != 3 { // commit, root tree, blob
		t.Errorf("the push wrote %d objects, want 3", n)
	}
	if err := clone.Fetch(src, "+refs/heads/nothing:refs/x"); err == nil || !strings.Contains(err.Error(), "no reference") {
		t.Errorf("a fetch of a missing reference: %v", err)
	}
}

// A loose object of the other repository comes as a hard link to its file
// (no new file made); a packed one is copied. git finds both sides whole.
func TestFetchLinksLooseObjects(t *testing.T) {
	src := testgit.Repo(t, map[string]string{"a": "a\n"})
	gitAs(t, src, "repack", "-q", "-a", "-d")
	os.WriteFile(filepath.Join(src, "b"), []byte("b\n"), 0o644)
	gitAs(t, src, "add", "b")
	gitAs(t, src, "commit", "-qm", "second") // loose: commit, tree, blob b
	clone := fetched(t, filepath.Join(t.TempDir(), "clone"), src, "+refs/heads/main:refs/chant/bases/one")
	linked := 0
	for _, h := range strings.Fields(gitAs(t, src, "rev-list", "--objects", "--no-object-names", "HEAD")) {
		rel := filepath.Join("objects", h[:2], h[2:])
		got, err := os.Stat(filepath.Join(clone.CommonDir, rel))
		if err != nil {
			t.Fatalf("object %s not in the clone as a loose object: %v", h, err)
		}
		if was, err := os.Stat(filepath.Join(src, ".git", rel)); err == nil {
			if !os.SameFile(got, was) {
				t.Errorf("loose object %s copied, not linked", h)
			}
			linked++
		}
	}
	if linked != 3 {
		t.Errorf("%d objects linked, want 3 (the second commit's)", linked)
	}
}

// A repository removed and made anew at the same path is opened anew: what
// was opened before (its packs) is not taken for it, even when its pack
// directory's time is the same (as `cp -a` of a repository leaves it), and
// when its first commit is the same but packed otherwise.
func TestLocalRepositoryMadeAnewIsOpenedAnew(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	when := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	git := func(args ...string) string { t.Helper(); return gitAs(t, src, args...) }
	commit := func(name string) string {
		t.Helper()
		os.WriteFile(filepath.Join(src, name), []byte(name+"\n"), 0o644)
		git("add", name)
		git("commit", "-qm", name, "--date", when.Format(time.RFC3339))
		return git("rev-parse", "HEAD")
	}
	makeRepo := func(commits ...string) string {
		t.Helper()
		os.RemoveAll(src)
		os.MkdirAll(src, 0o777)
		git("init", "-q", "-b", "main")
		first := ""
		for _, c := range commits {
			if h := commit(c); first == "" {
				first = h
			}
		}
		git("update-ref", "refs/heads/first", first)
		git("repack", "-q", "-a", "-d")
		if err := os.Chtimes(filepath.Join(src, ".git", "objects", "pack"), when, when); err != nil {
			t.Fatal(err)
		}
		return first
	}
	t.Setenv("GIT_COMMITTER_DATE", when.Format(time.RFC3339))
	for i, commits := range [][]string{{"one"}, {"one", "two"}} {
		first := makeRepo(commits...)
		clone := fetched(t, filepath.Join(dir, fmt.Sprint("clone", i)), src, "+refs/heads/first:refs/chant/bases/b")
		if got := testgit.Git(t, clone.Root, "rev-parse", "refs/chant/bases/b"); got != first {
			t.Errorf("fetch %d: %s, want %s", i, got, first)
		}
	}
}
