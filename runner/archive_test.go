package runner

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chant-run/chant/internal/gitrepo"
)

// A spec reset between its listing and the archive's lock is not archived.
func TestArchiveChecksTheSpecUnderTheLock(t *testing.T) {
	done := "---\nstatus: completed\ntarget_files: [d.txt]\n---\n# Done\n\n## Acceptance Criteria\n\n- [x] done\n"
	w := newRepo(t, map[string]string{"done": done})
	set, err := w.Load()
	if err != nil {
		t.Fatal(err)
	}
	repo, err := gitrepo.Open(w.Root)
	if err != nil {
		t.Fatal(err)
	}
	reset := strings.Replace(done, "completed", "pending", 1)
	if err := os.WriteFile(w.SpecPath("done"), []byte(reset), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := archiveLocked(w, repo, set.Specs, time.Now()); !errors.Is(err, ErrCannotArchive) {
		t.Fatalf("archived a spec no longer completed: %v", err)
	}
	if _, err := os.Stat(w.SpecPath("done")); err != nil {
		t.Errorf("the spec moved: %v", err)
	}
}
