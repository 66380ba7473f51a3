package runner

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/chant-run/chant/fixture"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/safefs"
	"github.com/chant-run/chant/spec"
)

// WorkDir is where a workspace with a fixture gets its repositories.
const WorkDir = "work"

// Target returns the workspace whose specs run and the directory of the git
// repository they run against. For a plain workspace both are w itself.
// For a workspace that names a bundled fixture, it is the fixture's copy
// under .chant/work/<fixture>/ once made (exists reports whether it is); until
// then w, with the directory the copy will have.
func Target(w *spec.Workspace) (target *spec.Workspace, repoDir string, exists bool, err error) {
	if w.Config.Fixture == "" {
		return w, w.Root, true, nil
	}
	dir := FixtureDir(w)
	if _, err := os.Stat(filepath.Join(dir, ".chant", spec.ConfigFile)); err != nil {
		return w, dir, false, nil
	}
	t, err := spec.OpenWorkspace(dir)
	if err != nil {
		return nil, dir, true, err
	}
	return t, dir, true, nil
}

// FixtureDir is where the fixture of w is materialized.
func FixtureDir(w *spec.Workspace) string {
	return filepath.Join(w.ChantDir, WorkDir, w.Config.Fixture)
}

// Prepare returns the workspace to run, making the fixture's repository
// first if w names a fixture that has not been made yet (created is then
// true). The copy gets the bundled fixture's files as its first commit and
// w's pipeline (.chant/config.md without the fixture key, specs, prompts)
// as its second, and is a complete workspace of its own.
func Prepare(w *spec.Workspace, now time.Time) (target *spec.Workspace, created bool, err error) {
	t, dir, exists, err := Target(w)
	if err != nil || exists {
		return t, false, err
	}
	fx, err := fixture.Lookup(w.Config.Fixture)
	if err != nil {
		return nil, false, &spec.Error{Path: w.Config.Path, Msg: err.Error()}
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		// A copy that was cut off before its pipeline commit: start over.
		if err := os.RemoveAll(dir); err != nil {
			return nil, false, err
		}
	}
	if _, err := fx.Materialize(dir); err != nil {
		return nil, false, err
	}
	paths, err := copyPipeline(w, dir)
	if err != nil {
		return nil, false, err
	}
	repo, err := gitrepo.Open(dir)
	if err != nil {
		return nil, false, err
	}
	if err := commitFiles(repo, paths, fmt.Sprintf("chant: add the %s pipeline\n", w.Config.Fixture), now); err != nil {
		return nil, false, err
	}
	t, err = spec.OpenWorkspace(dir)
	return t, true, err
}

// copyPipeline copies w's .chant config, specs and prompts into dir and
// returns the copied paths, relative to dir. The config is written last:
// its presence marks a complete copy.
func copyPipeline(w *spec.Workspace, dir string) ([]string, error) {
	var paths []string
	for _, sub := range []string{"specs", "prompts"} {
		src := filepath.Join(w.ChantDir, sub)
		err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) && p == src {
				return filepath.SkipDir
			}
			if err != nil || d.IsDir() || filepath.Ext(p) != ".md" {
				return err
			}
			rel, _ := filepath.Rel(w.Root, p)
			paths = append(paths, filepath.ToSlash(rel))
			return copyFile(p, filepath.Join(dir, rel), nil)
		})
		if err != nil {
			return nil, fmt.Errorf("copy pipeline: %w", err)
		}
	}
	if _, err := os.Stat(filepath.Join(w.ChantDir, ".gitignore")); err == nil {
		paths = append(paths, ".chant/.gitignore")
		if err := copyFile(filepath.Join(w.ChantDir, ".gitignore"), filepath.Join(dir, ".chant", ".gitignore"), nil); err != nil {
			return nil, err
		}
	}
	paths = append(paths, ".chant/"+spec.ConfigFile)
	err := copyFile(filepath.Join(w.ChantDir, spec.ConfigFile), filepath.Join(dir, ".chant", spec.ConfigFile),
		func(src []byte) ([]byte, error) {
			e := spec.NewEditor(src)
			e.Delete("fixture")
			return e.Bytes()
		})
	return paths, err
}

func copyFile(src, dst string, transform func([]byte) ([]byte, error)) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if transform != nil {
		if data, err = transform(data); err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return spec.WriteFileAtomic(dst, data)
}

// commitFiles commits files already in the working tree, as they are.
func commitFiles(repo *gitrepo.Repo, paths []string, message string, now time.Time) error {
	head, err := repo.ReadHead()
	if err != nil {
		return err
	}
	var changes []gitrepo.Change
	for _, p := range paths {
		data, mode, err := safefs.Root{Dir: repo.Root}.ReadFile(p, 0)
		if err != nil {
			return err
		}
		changes = append(changes, gitrepo.Change{Path: p, Mode: mode, Data: data, Before: gitrepo.File{Mode: mode, Hash: gitrepo.BlobHash(data)}})
	}
	_, err = repo.Land(gitrepo.Landing{Onto: head, When: now, Commits: []gitrepo.CommitSpec{{Message: message, Changes: changes}}})
	return err
}

// repoRel is a path of the workspace (relative to its root) relative to
// the repository root.
func repoRel(repo *gitrepo.Repo, w *spec.Workspace, p string) string {
	rel, err := filepath.Rel(repo.Root, filepath.Join(w.Root, filepath.FromSlash(p)))
	if err != nil {
		return p
	}
	return filepath.ToSlash(rel)
}
