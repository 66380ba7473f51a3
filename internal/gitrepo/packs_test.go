package gitrepo

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"

	"github.com/chant-run/chant/internal/testgit"
)

// A pack another process adds after chant first looked (a worker's push,
// git gc) is found: go-git alone lists the packs once, and the object
// stays "not in the repository" for the rest of the process.
func TestObjectsInPacksAddedLater(t *testing.T) {
	dir := testgit.Repo(t, map[string]string{"a": "a\n"})
	git := func(args ...string) string { t.Helper(); return gitAs(t, dir, args...) }
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

// Writing objects leaves the pack directory as it was: a change there
// tells every process reading the repository that its packs changed (go-git's
// writer made its temporary files there). git reads what was written.
func TestWritesLeaveThePackDirectory(t *testing.T) {
	dir := testgit.Repo(t, map[string]string{"a": "a\n"})
	r := open(t, dir)
	pack := filepath.Join(r.CommonDir, "objects", "pack")
	before := stampOf(pack)
	blob, err := r.WriteBlob([]byte("b\n"))
	if err != nil {
		t.Fatal(err)
	}
	tree, err := r.EditTree(plumbing.ZeroHash, []TreeEdit{{Path: "b", File: File{Mode: uint32(filemode.Regular), Hash: blob}}})
	if err != nil {
		t.Fatal(err)
	}
	commit, err := r.NewCommit(tree, nil, "b\n", nil, time.Unix(1e9, 0))
	if err != nil {
		t.Fatal(err)
	}
	empty, err := r.NewCommit(plumbing.ZeroHash, []plumbing.Hash{commit}, "empty\n", nil, time.Unix(1e9, 0))
	if err != nil {
		t.Fatal(err)
	}
	if stampOf(pack) != before {
		t.Error("writing objects changed the pack directory")
	}
	if got := testgit.Git(t, dir, "show", "-s", "--format=%s", empty.String()); got != "empty" {
		t.Errorf("git reads the commit's subject as %q", got)
	}
	if got := testgit.Git(t, dir, "show", commit.String()+":b"); got != "b" {
		t.Errorf("git reads b as %q", got)
	}
	testgit.Git(t, dir, "fsck", "--strict", "--no-dangling", "--no-reflogs", empty.String())
}

// Every object of a repository git packed (with deltas, a reverse index
// or none) reads as git stores it: its content hashes to its name, its
// size and type are git's; and a repack that removes the pack chant read
// from is followed.
func TestEveryPackedObjectReadsAsGitHasIt(t *testing.T) {
	for _, rev := range []bool{true, false} {
		t.Run(fmt.Sprint("rev=", rev), func(t *testing.T) {
			dir := testgit.Repo(t, map[string]string{"a": "a\n"})
			git := func(args ...string) string { t.Helper(); return gitAs(t, dir, args...) }
			var text strings.Builder
			for i := range 30 {
				fmt.Fprintf(&text, "line %d of a file that changes a little each time\n", i)
				if err := os.WriteFile(filepath.Join(dir, "big.txt"), []byte(strings.Repeat(text.String(), 20)), 0o644); err != nil {
					t.Fatal(err)
				}
				git("add", "-A")
				git("commit", "-qm", fmt.Sprint("version ", i))
			}
			git("-c", fmt.Sprint("pack.writeReverseIndex=", rev), "repack", "-adfq")
			r := open(t, dir)
			readAll := func() {
				t.Helper()
				n := 0
				for _, line := range strings.Split(git("cat-file", "--batch-check", "--batch-all-objects"), "\n") {
					f := strings.Fields(line) // name type size
					h := plumbing.NewHash(f[0])
					typ, _ := plumbing.ParseObjectType(f[1])
					obj, err := r.repo.Storer.EncodedObject(plumbing.AnyObject, h)
					if err != nil {
						t.Fatalf("%s: %v", line, err)
					}
					rd, _ := obj.Reader()
					content, _ := io.ReadAll(rd)
					rd.Close()
					if obj.Type() != typ || fmt.Sprint(len(content)) != f[2] || plumbing.ComputeHash(typ, content) != h {
						t.Fatalf("%s read as %s of %d bytes", line, obj.Type(), len(content))
					}
					if size, err := r.repo.Storer.(*objectStore).EncodedObjectSize(h); err != nil || fmt.Sprint(size) != f[2] {
						t.Fatalf("%s: size %d, %v", line, size, err)
					}
					if _, err := r.repo.Storer.EncodedObject(plumbing.BlobObject, h); (err == nil) != (typ == plumbing.BlobObject) {
						t.Fatalf("%s asked for as a blob: %v", line, err)
					}
					n++
				}
				if n < 90 {
					t.Fatalf("%d objects", n)
				}
			}
			readAll()
			git("commit", "-q", "--allow-empty", "-m", "more")
			git("repack", "-adfq") // the pack read from is gone
			readAll()
			if r.HasObject(plumbing.NewHash(strings.Repeat("ab", 20))) {
				t.Fatal("an object that is nowhere is found")
			}
		})
	}
}
