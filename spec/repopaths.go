package spec

import (
	"path/filepath"
	"strings"
)

// RepoPaths converts between the paths of a workspace and those of the git
// repository it lies in: the one place that does. A workspace path is
// relative to the workspace root, a repository path to the repository
// root; both use forward slashes, as specs and git name files.
type RepoPaths struct {
	RepoRoot string // the repository root, absolute
	wsRoot   string
	wsRel    string // the workspace root as a repository path ("." at the root)
}

// InRepo returns the conversions between w's paths and those of the
// repository at repoRoot, which contains it.
func (w *Workspace) InRepo(repoRoot string) RepoPaths {
	p := RepoPaths{RepoRoot: repoRoot, wsRoot: w.Root}
	p.wsRel = p.Abs(w.Root)
	return p
}

// Inside is an absolute path as a repository path; ok is false when it
// lies outside the repository.
func (p RepoPaths) Inside(abs string) (rel string, ok bool) {
	r, err := filepath.Rel(p.RepoRoot, abs)
	if err != nil || !filepath.IsLocal(r) && r != "." {
		return filepath.ToSlash(abs), false
	}
	return filepath.ToSlash(r), true
}

// Abs is an absolute path as a repository path (as is when it lies
// outside the repository).
func (p RepoPaths) Abs(abs string) string {
	rel, _ := p.Inside(abs)
	return rel
}

// Of is a workspace path as a repository path.
func (p RepoPaths) Of(wsPath string) string {
	if p.wsRel == "." {
		return filepath.ToSlash(filepath.Clean(filepath.FromSlash(wsPath)))
	}
	return p.Abs(filepath.Join(p.wsRoot, filepath.FromSlash(wsPath)))
}

// Workspace is a repository path as the workspace names it (as is when it
// lies outside the workspace).
func (p RepoPaths) Workspace(repoPath string) string {
	if p.wsRel == "." {
		return repoPath
	}
	if rest, ok := strings.CutPrefix(repoPath, p.wsRel+"/"); ok {
		return rest
	}
	return repoPath
}

// Root is the workspace root as a repository path ("." when they are one).
func (p RepoPaths) Root() string { return p.wsRel }
