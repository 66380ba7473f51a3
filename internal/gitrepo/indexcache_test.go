package gitrepo

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/chant-run/chant/internal/testgit"
)

// The index kept between reads is the file's as it is now: git staging a
// file (a new index, renamed into place) is seen at the next read, and a
// caller that takes the index to change it leaves nothing kept.
func TestIndexReadsFollowGit(t *testing.T) {
	dir := testgit.Repo(t, map[string]string{"a.txt": "one\n"})
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	first, err := r.IndexFiles([]string{"a.txt"})
	if err != nil || !first["a.txt"].Exists() {
		t.Fatalf("%v %v", first, err)
	}
	again, _ := r.readIndex(false)
	if again != r.index.ix {
		t.Error("an unchanged index was decoded again")
	}
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("two\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	testgit.Git(t, dir, "add", "a.txt")
	now, err := r.IndexFiles([]string{"a.txt"})
	if err != nil {
		t.Fatal(err)
	}
	if now["a.txt"] == first["a.txt"] || now["a.txt"].Hash != BlobHash([]byte("two\n")) {
		t.Errorf("after git add, the index says %v (before: %v)", now["a.txt"], first["a.txt"])
	}
	if _, err := r.readIndex(true); err != nil || r.index.ix != nil {
		t.Errorf("a taken index is still kept (%v)", err)
	}
}
