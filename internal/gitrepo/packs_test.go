package gitrepo

import (
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/chant-run/chant/internal/testgit"
)

// A pack another process adds after chant first looked (a worker's push,
// git gc) is found: go-git alone lists the packs once, and the object
// stays "not in the repository" for the rest of the process.
func TestObjectsInPacksAddedLater(t *testing.T) {
	dir := testgit.Repo(t, map[string]string{"a": "a\n"})
	git := func(args ...string) string {
		t.Helper()
		return testgit.Git(t, dir, append([]string{"-c", "user.name=Test", "-c", "user.email=test@example.com"}, args...)...)
	}
	git("repack", "-q", "-a", "-d")
	r := open(t, dir)
	if !r.HasObject(plumbing.NewHash(git("rev-parse", "HEAD"))) {
		t.Fatal("the first commit is not found")
	}
	git("commit", "-q", "--allow-empty", "-m", "second")
	git("repack", "-q", "-d") // a new pack, the loose objects gone
	second := plumbing.NewHash(git("rev-parse", "HEAD"))
	if !r.HasObject(second) {
		t.Fatal("a commit in a pack added later is not found")
	}
	if _, err := r.repo.CommitObject(second); err != nil {
		t.Fatalf("its commit cannot be read: %v", err)
	}
	if r.HasObject(plumbing.NewHash(strings.Repeat("ab", 20))) {
		t.Fatal("an object that is nowhere is found")
	}
}
