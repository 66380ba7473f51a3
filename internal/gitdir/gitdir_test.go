package gitdir

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/chant-run/chant/internal/testgit"
)

func TestFindInMainAndLinkedWorktrees(t *testing.T) {
	main := testgit.Repo(t, map[string]string{"a/b/c.txt": "c\n"})
	main, _ = filepath.EvalSymlinks(main)
	d, err := Find(filepath.Join(main, "a", "b"))
	if err != nil || d.WorkTree != main || d.Git != filepath.Join(main, ".git") || d.Common != d.Git {
		t.Fatalf("Find in the main work tree = %+v, %v", d, err)
	}
	if d.StateDir() != filepath.Join(main, ".git", "chant") {
		t.Errorf("StateDir = %s", d.StateDir())
	}
	linked := filepath.Join(t.TempDir(), "linked")
	testgit.Git(t, main, "worktree", "add", "-q", "--detach", linked)
	linked, _ = filepath.EvalSymlinks(linked)
	d, err = Find(linked)
	if err != nil || d.WorkTree != linked || d.Common != filepath.Join(main, ".git") || filepath.Dir(d.Git) != filepath.Join(main, ".git", "worktrees") {
		t.Fatalf("Find in a linked worktree = %+v, %v", d, err)
	}
	if _, err := Find(t.TempDir()); !errors.Is(err, ErrNotFound) {
		t.Errorf("Find outside a repository = %v", err)
	}
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, ".git"), []byte("nonsense\n"), 0o644)
	if _, err := Find(bad); err == nil {
		t.Error("a .git file without gitdir: was accepted")
	}
}
