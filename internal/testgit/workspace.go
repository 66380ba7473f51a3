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
	files := map[string]string{".chant/config.md": "---\nproject: {name: t}\n---\n"}
	for id, src := range specs {
		files[".chant/specs/"+id+".md"] = src
	}
	writeFiles(t, root, files)
	if err := os.MkdirAll(filepath.Join(root, ".chant", "specs"), 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}
