package spec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/chant-run/chant/internal/safefs"
)

func TestBodyWithout(t *testing.T) {
	src := "---\ntype: code\n---\n# T\r\n\r\nDo it.\r\n\r\n## Agent Output\n\nold run\n\n```\n## Not a heading\n```\n\n## Notes\n\nkeep\n\n## agent output\n\nanother run\n# Next\n\nkept too\n"
	s, err := Parse("x.md", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got := s.BodyWithout("Agent Output", "Approval Discussion")
	want := "# T\n\nDo it.\n\n## Notes\n\nkeep\n\n# Next\n\nkept too\n"
	if got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

func TestReadInputsStaysInside(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o644)
	os.MkdirAll(filepath.Join(root, ".chant", "prompts"), 0o755)
	os.WriteFile(filepath.Join(root, ".chant", "config.md"), []byte("---\n---\n"), 0o644)
	os.MkdirAll(filepath.Join(root, "docs"), 0o755)
	os.WriteFile(filepath.Join(root, "docs", "a.md"), []byte("a"), 0o644)
	os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "docs", "leak.md"))
	os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, ".chant", "prompts", "linked.md"))
	w, err := OpenWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	if files, err := w.ReadInputs([]string{"docs/a.md", "none/*.md"}); err != nil || len(files) != 2 || string(files[0].Data) != "a" || !files[1].Missing {
		t.Fatalf("ReadInputs = %+v, %v", files, err)
	}
	if _, err := w.ReadInputs([]string{"docs/*.md"}); err == nil || !strings.Contains(err.Error(), "leads outside the repository") {
		t.Errorf("a link out of the repository: %v", err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "docs", "pipe.md"), 0o644); err == nil {
		if _, err := w.ReadInputs([]string{"docs/pipe.md"}); !errors.Is(err, safefs.ErrNotRegular) {
			t.Errorf("a FIFO: %v", err)
		}
	}
	if _, err := w.ReadPrompt("linked"); !errors.Is(err, safefs.ErrSymlink) {
		t.Errorf("a prompt that is a link: %v", err)
	}
	for _, bad := range []string{"../x", "a/b", ".hidden", "x..y", ""} {
		if _, err := w.ReadPrompt(bad); !errors.Is(err, ErrPrompt) {
			t.Errorf("ReadPrompt(%q) = %v", bad, err)
		}
	}
}
