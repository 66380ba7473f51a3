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
