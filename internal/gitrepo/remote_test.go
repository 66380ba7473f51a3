package gitrepo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chant-run/chant/internal/testgit"
)

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
	git := func(dir string, args ...string) string {
		t.Helper()
		return testgit.Git(t, dir, append([]string{"-c", "user.name=Test", "-c", "user.email=test@example.com"}, args...)...)
	}
	git(src, "repack", "-q", "-a", "-d") // the source's objects packed, as usual
	clone, err := Init(filepath.Join(t.TempDir(), "clone"))
	if err != nil {
		t.Fatal(err)
	}
	if err := clone.Fetch(src, "+refs/heads/main:refs/chant/bases/one"); err != nil {
		t.Fatal(err)
	}
	git(clone.Root, "fsck", "--strict", "--no-dangling")
	first := countLoose(t, filepath.Join(clone.CommonDir, "objects"))
	if first != 7 { // a commit, three trees, three blobs
		t.Errorf("the first fetch copied %d objects, want 7", first)
	}
	// One more commit: only its objects come.
	os.WriteFile(filepath.Join(src, "dir", "sub", "c"), []byte("c2\n"), 0o644)
	git(src, "commit", "-qam", "second")
	if err := clone.Fetch("file://"+src, "+refs/heads/main:refs/chant/bases/two"); err != nil {
		t.Fatal(err)
	}
	git(clone.Root, "fsck", "--strict", "--no-dangling")
	if n := countLoose(t, filepath.Join(clone.CommonDir, "objects")) - first; n != 5 { // commit, 3 trees, a blob
		t.Errorf("the second fetch copied %d objects, want 5", n)
	}
	if got, want := git(clone.Root, "rev-parse", "refs/chant/bases/two"), git(src, "rev-parse", "HEAD"); got != want {
		t.Errorf("refs/chant/bases/two = %s, want %s", got, want)
	}

	// A push of a new commit to a bare repository.
	bare := filepath.Join(t.TempDir(), "bare.git")
	git(src, "clone", "-q", "--bare", src, bare)
	os.WriteFile(filepath.Join(clone.Root, "new"), []byte("new\n"), 0o644)
	git(clone.Root, "checkout", "-q", "refs/chant/bases/two")
	git(clone.Root, "add", "new")
	git(clone.Root, "commit", "-qm", "result")
	git(clone.Root, "update-ref", "refs/chant/results/k", "HEAD")
	before := countLoose(t, filepath.Join(bare, "objects"))
	if err := clone.Push("file://"+bare, "+refs/chant/results/k:refs/chant/results/k"); err != nil {
		t.Fatal(err)
	}
	git(bare, "fsck", "--strict", "--no-dangling")
	if got, want := git(bare, "rev-parse", "refs/chant/results/k"), git(clone.Root, "rev-parse", "HEAD"); got != want {
		t.Errorf("the pushed reference = %s, want %s", got, want)
	}
	if n := countLoose(t, filepath.Join(bare, "objects")) - before; n != 3 { // commit, root tree, blob
		t.Errorf("the push wrote %d objects, want 3", n)
	}
	if err := clone.Fetch(src, "+refs/heads/nothing:refs/x"); err == nil || !strings.Contains(err.Error(), "no reference") {
		t.Errorf("a fetch of a missing reference: %v", err)
	}
}
