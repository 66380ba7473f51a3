package bookkeeping

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/testgit"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/doc"
)

func TestCommitAndRepair(t *testing.T) {
	root := testgit.Repo(t, map[string]string{
		".chant/config.md":  "---\nproject: {name: b}\n---\n",
		".chant/specs/a.md": "---\nstatus: failed\n---\n# A\n",
	})
	w, err := spec.OpenWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := gitrepo.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(w.SpecsDir, ".a.md.tmp-123")
	os.WriteFile(stale, []byte("half"), 0o644)

	// A refused edit writes and commits nothing.
	refuse := errors.New("no")
	if _, _, err := Commit(w, repo, "a", "nothing", time.Now(), func(*spec.Spec, *doc.Editor) error { return refuse }); !errors.Is(err, refuse) {
		t.Fatalf("refused edit: %v", err)
	}
	if n := testgit.Git(t, root, "rev-list", "--count", "HEAD"); n != "1" {
		t.Fatalf("%s commits after a refused edit", n)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Error("a stale temporary file survived the repair")
	}

	written, short, err := Commit(w, repo, "a", "chant(a): reset", time.Now(), func(_ *spec.Spec, e *doc.Editor) error {
		e.Set("status", spec.StatusPending)
		return nil
	})
	if err != nil || written.Status != spec.StatusPending {
		t.Fatalf("Commit = %v, %v", written, err)
	}
	msg := testgit.Git(t, root, "log", "-1", "--format=%h%n%B")
	if msg != short+"\nchant(a): reset" {
		t.Errorf("commit:\n%s", msg)
	}
	if own, err := repo.IsOwn(plumbing.NewHash(testgit.Git(t, root, "rev-parse", "HEAD"))); err != nil || !own {
		t.Errorf("chant does not know its own commit: %v %v", own, err)
	}
	if files := testgit.Git(t, root, "show", "--name-only", "--format=", "HEAD"); files != ".chant/specs/a.md" {
		t.Errorf("the commit touches %q", files)
	}
	if st := testgit.Git(t, root, "status", "--porcelain"); st != "" {
		t.Errorf("status after the commit (chant's state is in .git):\n%s", st)
	}
	// A file the user staged stays staged and out of chant's commit.
	os.WriteFile(filepath.Join(root, "mine.txt"), []byte("mine\n"), 0o644)
	testgit.Git(t, root, "add", "mine.txt")
	if _, _, err := Commit(w, repo, "a", "chant(a): again", time.Now(), func(_ *spec.Spec, e *doc.Editor) error {
		e.Set("status", spec.StatusFailed)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if files := testgit.Git(t, root, "show", "--name-only", "--format=", "HEAD"); files != ".chant/specs/a.md" {
		t.Errorf("the commit touches %q", files)
	}
	if st := testgit.Git(t, root, "status", "--porcelain"); st != "A  mine.txt" {
		t.Errorf("status: %q", st)
	}
}
