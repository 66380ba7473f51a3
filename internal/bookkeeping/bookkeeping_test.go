package bookkeeping

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/testgit"
	"github.com/chant-run/chant/spec"
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
	if _, _, err := Commit(w, repo, "a", "nothing", time.Now(), func(*spec.Spec, *spec.Editor) error { return refuse }); !errors.Is(err, refuse) {
		t.Fatalf("refused edit: %v", err)
	}
	if n := testgit.Git(t, root, "rev-list", "--count", "HEAD"); n != "1" {
		t.Fatalf("%s commits after a refused edit", n)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Error("a stale temporary file survived the repair")
	}

	written, short, err := Commit(w, repo, "a", "chant(a): reset", time.Now(), func(_ *spec.Spec, e *spec.Editor) error {
		e.Set("status", spec.StatusPending)
		return nil
	})
	if err != nil || written.Status != spec.StatusPending {
		t.Fatalf("Commit = %v, %v", written, err)
	}
	msg := testgit.Git(t, root, "log", "-1", "--format=%h%n%B")
	if !strings.HasPrefix(msg, short+"\nchant(a): reset\n\n"+gitrepo.BookkeepingTrailer) {
		t.Errorf("commit:\n%s", msg)
	}
	if files := testgit.Git(t, root, "show", "--name-only", "--format=", "HEAD"); files != ".chant/specs/a.md" {
		t.Errorf("the commit touches %q", files)
	}
	if st := testgit.Git(t, root, "status", "--porcelain"); st != "" {
		t.Errorf("status after the commit (locks must be excluded):\n%s", st)
	}
}
