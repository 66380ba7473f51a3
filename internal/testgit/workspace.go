package testgit

import (
	"os"
	"path/filepath"
	"testing"
)

// Workspace writes a chant workspace (a config and specs by ID) into a new
// temporary directory, not a git repository, and returns its root.
func Workspace(t testing.TB, specs map[string]string) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, ".chant", "specs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, ".chant", "config.md"), []byte("---\nproject: {name: t}\n---\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for id, src := range specs {
		if err := os.WriteFile(filepath.Join(root, ".chant", "specs", id+".md"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}
