// Package provenance records what a spec's phase was built on, and tells
// which of it has changed since: a completed spec whose recorded inputs
// differ from the branch now is stale. Everything is compared by git's
// content hashes, read from trees (and a spec's own text by its OwnHash,
// which the listing cache keeps), so no file is read to tell.
package provenance

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/builton"
	"github.com/chant-run/chant/spec/templates"
)

// None is what a record holds for a file that was not there.
const None = builton.None

// Blob is how a BuiltOn records a file: its blob hash, shortened.
func Blob(f gitrepo.File) string {
	if !f.Exists() {
		return None
	}
	return f.Hash.String()[:builton.ShortHash]
}

// BlobOf is Blob of a file's content.
func BlobOf(data []byte) string { return gitrepo.BlobHash(data).String()[:builton.ShortHash] }

// AgentHash is the hash of what decides which agent does a spec's work:
// the provider, the models and the command (not its timeout or sandbox,
// which do not change what it makes).
func AgentHash(cfg *spec.Config) string {
	b, _ := json.Marshal(map[string]string{ // maps marshal sorted
		"provider": cfg.Defaults.Provider, "model": cfg.Defaults.Model, "agent_model": cfg.Agent.Model,
		"command": cfg.Agent.Command,
	})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:builton.ShortHash]
}

// Tree reads the files of one commit's tree by workspace path, each once.
type Tree struct {
	Repo   *gitrepo.Repo
	Commit plumbing.Hash
	Paths  spec.RepoPaths
	tree   plumbing.Hash
	files  map[string]gitrepo.File            // by workspace path
	inDir  map[string]map[string]gitrepo.File // a directory's files by name, by repository path
	dirs   map[string]map[string]gitrepo.File // every file below a directory, by repository path (Match)
}

// NewTree reads commit's tree in repo, for workspace w.
func NewTree(w *spec.Workspace, repo *gitrepo.Repo, commit plumbing.Hash) (*Tree, error) {
	tree, err := repo.TreeOf(commit)
	if err != nil {
		return nil, err
	}
	return &Tree{Repo: repo, Commit: commit, Paths: w.InRepo(repo.Root), tree: tree,
		files: map[string]gitrepo.File{}, inDir: map[string]map[string]gitrepo.File{}, dirs: map[string]map[string]gitrepo.File{}}, nil
}

// File is what the workspace path p holds in the tree: looked up in its
// directory's files, read once for all the lookups there.
func (t *Tree) File(p string) (gitrepo.File, error) {
	if f, ok := t.files[p]; ok {
		return f, nil
	}
	rel := t.Paths.Of(p)
	dir, name := path.Split(rel)
	dir = strings.TrimSuffix(dir, "/")
	files, ok := t.inDir[dir]
	if !ok {
		var err error
		if files, err = t.Repo.FilesIn(t.tree, dir); err != nil {
			return gitrepo.File{}, err
		}
		t.inDir[dir] = files
	}
	f := files[name]
	t.files[p] = f
	return f, nil
}

// Blob is Blob of the file at workspace path p.
func (t *Tree) Blob(p string) (string, error) {
	f, err := t.File(p)
	return Blob(f), err
}

// Match lists the workspace paths a pattern (a path or a glob, as in
// context and informed_by) matches in the tree, sorted; a plain path is
// itself, whether it is there or not.
func (t *Tree) Match(pattern string) ([]string, error) {
	if !strings.ContainsAny(pattern, `*?[\`) {
		return []string{path.Clean(pattern)}, nil
	}
	dir := pattern
	for strings.ContainsAny(dir, `*?[\`) {
		dir = path.Dir(dir)
	}
	files, ok := t.dirs[dir]
	if !ok {
		var err error
		if files, err = t.filesUnder(t.Paths.Of(dir)); err != nil {
			return nil, err
		}
		t.dirs[dir] = files
	}
	prefix := t.Paths.Of(dir)
	if prefix == "." {
		prefix = ""
	}
	var out []string
	for p := range files {
		ws := path.Join(dir, strings.TrimPrefix(strings.TrimPrefix(p, prefix), "/"))
		if ok, _ := path.Match(pattern, ws); ok {
			out = append(out, ws)
		}
	}
	sort.Strings(out)
	return out, nil
}

// filesUnder lists the files below a repository path ("." the root).
func (t *Tree) filesUnder(rel string) (map[string]gitrepo.File, error) {
	if rel != "." {
		return t.Repo.FilesUnder(t.Commit, rel)
	}
	entries, err := t.Repo.Entries(t.Commit)
	files := make(map[string]gitrepo.File, len(entries))
	for _, e := range entries {
		files[e.Path] = gitrepo.File{Mode: e.Mode, Hash: e.Hash}
	}
	return files, err
}

// PromptOf is how a BuiltOn records a prompt template: its name and the
// blob of its text (nil: there is none).
func PromptOf(name string, template []byte) string {
	if template == nil {
		return name + " " + None
	}
	return name + " " + BlobOf(template)
}

// prompt is PromptOf the template name as the tree holds it (else as
// built in).
func (t *Tree) prompt(w *spec.Workspace, name string) (string, error) {
	f, err := t.File(w.Rel(w.PromptPath(name)))
	if err != nil || f.Exists() {
		return name + " " + Blob(f), err
	}
	builtin, _ := templates.Prompt(name)
	return PromptOf(name, builtin), nil
}

// fileFields are the spec's lists of input files, by key.
func fileFields(s *spec.Spec) [][2]any {
	return [][2]any{{"context", s.Context}, {"informed_by", s.InformedBy}, {"tracks", s.Tracks}, {"origin", s.Origin}}
}

func recorded(b *builton.Record, key string) builton.Blobs {
	switch key {
	case "context":
		return b.Context
	case "informed_by":
		return b.InformedBy
	case "tracks":
		return b.Tracks
	}
	return b.Origin
}

func setRecorded(b *builton.Record, key string, m map[string]string) {
	files := builton.FromMap(m)
	if len(files) == 0 {
		files = nil
	}
	switch key {
	case "context":
		b.Context = files
	case "informed_by":
		b.InformedBy = files
	case "tracks":
		b.Tracks = files
	default:
		b.Origin = files
	}
}
