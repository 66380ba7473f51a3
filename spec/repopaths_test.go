package spec

import (
	"path/filepath"
	"testing"
)

func TestRepoPaths(t *testing.T) {
	repo := t.TempDir()
	at := func(ws string) RepoPaths { return (&Workspace{Root: filepath.Join(repo, ws)}).InRepo(repo) }
	root, sub := at(""), at("tools/app")
	if root.Root() != "." || sub.Root() != "tools/app" {
		t.Fatalf("roots %q, %q", root.Root(), sub.Root())
	}
	for _, c := range []struct {
		p            RepoPaths
		ws, repoPath string
	}{
		{root, "src/a.go", "src/a.go"},
		{root, "./src//a.go", "src/a.go"},
		{sub, "src/a.go", "tools/app/src/a.go"},
		{sub, ".chant/specs/x.md", "tools/app/.chant/specs/x.md"},
	} {
		if got := c.p.Of(c.ws); got != c.repoPath {
			t.Errorf("Of(%q) = %q, want %q", c.ws, got, c.repoPath)
		}
	}
	if got := sub.Workspace("tools/app/src/a.go"); got != "src/a.go" {
		t.Errorf("Workspace = %q", got)
	}
	if got := sub.Workspace("README.md"); got != "README.md" {
		t.Errorf("Workspace of a path outside = %q", got)
	}
	if got, ok := sub.Inside(filepath.Join(repo, "tools", "x")); !ok || got != "tools/x" {
		t.Errorf("Abs = %q, %v", got, ok)
	}
	if _, ok := sub.Inside(filepath.Dir(repo)); ok {
		t.Error("a path outside the repository converted")
	}
}
