package gitrepo

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chant-run/chant/internal/testgit"
)

func newRepo(t *testing.T) *Repo {
	t.Helper()
	r, err := Open(testgit.Repo(t, map[string]string{"same.txt": "same\n", "edit.txt": "old\n", "gone.txt": "bye\n"}))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var gitCLI = testgit.Git

func TestChangedAndCommit(t *testing.T) {
	r := newRepo(t)
	os.WriteFile(filepath.Join(r.Root, "edit.txt"), []byte("new\n"), 0o644)
	os.WriteFile(filepath.Join(r.Root, "new.txt"), []byte("hi\n"), 0o644)
	os.Remove(filepath.Join(r.Root, "gone.txt"))
	for path, want := range map[string][2]bool{
		"same.txt": {false, true}, "edit.txt": {true, true}, "new.txt": {true, true},
		"gone.txt": {true, false}, "never.txt": {false, false},
	} {
		changed, exists, err := r.Changed(path)
		if err != nil || changed != want[0] || exists != want[1] {
			t.Errorf("Changed(%s) = %v, %v, %v; want %v", path, changed, exists, err, want)
		}
	}
	when := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	t.Setenv("GIT_AUTHOR_NAME", "Env Author")
	t.Setenv("GIT_AUTHOR_EMAIL", "env@example.com")
	hash, err := r.Commit([]string{"edit.txt", "new.txt", "gone.txt"}, "work\n", when)
	if err != nil {
		t.Fatal(err)
	}
	if got := gitCLI(t, r.Root, "show", "--name-status", "--format=%an <%ae> %aI", hash); got != "Env Author <env@example.com> 2026-05-06T07:08:09+00:00\n\nM\tedit.txt\nD\tgone.txt\nA\tnew.txt" {
		t.Errorf("commit:\n%s", got)
	}
	if st := gitCLI(t, r.Root, "status", "--porcelain"); st != "" {
		t.Errorf("status after commit:\n%s", st)
	}
	gitCLI(t, r.Root, "fsck", "--strict")
	if head, _ := r.Head(); head != hash || Short(hash) != hash[:7] {
		t.Errorf("Head = %s, want %s", head, hash)
	}
}

func TestExclude(t *testing.T) {
	r := newRepo(t)
	os.MkdirAll(filepath.Join(r.Root, ".chant", "logs"), 0o755)
	os.WriteFile(filepath.Join(r.Root, ".chant", ".lock"), nil, 0o644)
	os.WriteFile(filepath.Join(r.Root, ".chant", "logs", "a.log"), []byte("x"), 0o644)
	for i := 0; i < 2; i++ {
		if err := r.Exclude("/.chant/.lock", "/.chant/logs/"); err != nil {
			t.Fatal(err)
		}
	}
	if st := gitCLI(t, r.Root, "status", "--porcelain"); st != "" {
		t.Errorf("excluded files show in status:\n%s", st)
	}
	data, _ := os.ReadFile(filepath.Join(r.Root, ".git", "info", "exclude"))
	if strings.Count(string(data), "/.chant/.lock\n") != 1 {
		t.Errorf("exclude file:\n%s", data)
	}
}

func TestOpenOutsideRepository(t *testing.T) {
	if _, err := Open(t.TempDir()); !errors.Is(err, ErrNotRepository) {
		t.Fatalf("Open = %v", err)
	}
}

// A commit killed half-way can leave an empty branch ref and a torn index
// (go-git writes both in place); Recover restores the ref from the journal
// and rebuilds the index.
func TestRecoverAfterAKilledCommit(t *testing.T) {
	r := newRepo(t)
	head, _ := r.Head()
	os.WriteFile(filepath.Join(r.Root, "edit.txt"), []byte("new\n"), 0o644)
	if err := r.beginCommit(); err != nil { // as Commit does first
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(r.Root, ".git", "refs", "heads", "main"), nil, 0o644)
	os.WriteFile(filepath.Join(r.Root, ".git", "index"), []byte("DIRC\x00\x00"), 0o644)
	os.WriteFile(filepath.Join(r.Root, ".git", "objects", "pack", "tmp_obj_123"), []byte("x"), 0o644)

	fixed, err := r.Recover()
	if err != nil {
		t.Fatal(err)
	}
	if len(fixed) != 2 {
		t.Errorf("repairs: %q", fixed)
	}
	if got, _ := r.Head(); got != head {
		t.Fatalf("HEAD = %s after recovery, want %s", got, head)
	}
	if st := gitCLI(t, r.Root, "status", "--porcelain"); st != "M edit.txt" {
		t.Errorf("status after recovery: %q (the work tree must be untouched)", st)
	}
	gitCLI(t, r.Root, "fsck", "--strict")
	if _, err := os.Stat(filepath.Join(r.Root, ".git", "objects", "pack", "tmp_obj_123")); !os.IsNotExist(err) {
		t.Error("temporary object file left")
	}
	if fixed, err := r.Recover(); err != nil || len(fixed) != 0 {
		t.Errorf("second Recover: %q, %v", fixed, err)
	}
}
