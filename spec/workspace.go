package spec

import (
	"errors"
	"fmt"
	"github.com/chant-run/chant/spec/cost"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/gofrs/flock"
	"gopkg.in/yaml.v3"

	"github.com/chant-run/chant/internal/gitdir"
	"github.com/chant-run/chant/internal/safefs"
	"github.com/chant-run/chant/spec/doc"
)

// Workspace is a directory with a .chant folder: its config and its specs.
type Workspace struct {
	Root     string // absolute directory that holds .chant
	ChantDir string
	SpecsDir string
	Config   *Config
}

// Config is .chant/config.md.
type Config struct {
	Path    string
	Project struct {
		Name string `yaml:"name"`
	} `yaml:"project"`
	Defaults struct {
		Prompt   string `yaml:"prompt"`
		Provider string `yaml:"provider"`
		Model    string `yaml:"model"`
		// Parallel is how many specs a run may run at once (default 1;
		// chant run --parallel overrides it).
		Parallel int `yaml:"parallel"`
		// Budget bounds what an agent may cost a phase of a spec that
		// sets none.
		Budget *cost.Budget `yaml:"budget"`
	} `yaml:"defaults"`
	// Fixture, when named, is a repository of its own that the
	// workspace's specs run against (see runner.FixtureTarget).
	Fixture  Fixture `yaml:"fixture"`
	Approval struct {
		// Approvers may approve or reject gates (names or emails); anyone
		// may when empty.
		Approvers []string `yaml:"approvers"`
		// AllowSelfApproval lets the author of the work under review
		// approve it.
		AllowSelfApproval bool `yaml:"allow_self_approval"`
		// ExpiresAfter closes a gate left unanswered this long (a Go
		// duration such as 72h) after its dependencies completed.
		ExpiresAfter string `yaml:"expires_after"`
	} `yaml:"approval"`
	Agent struct {
		// Command is the shell command of the command provider; Timeout
		// bounds one run (a Go duration, default 30m); Model is the model
		// a preset CLI is told to use; Name names the agent in its
		// commits (the command provider's; presets have their own).
		Command string `yaml:"command"`
		Timeout string `yaml:"timeout"`
		Model   string `yaml:"model"`
		Name    string `yaml:"name"`
	} `yaml:"agent"`
	Replay struct {
		// Dir is a directory of recordings inside .chant (default
		// .chant/recordings).
		Dir string `yaml:"dir"`
	} `yaml:"replay"`
	Isolation struct {
		// Copy are globs of files (ignored ones, such as .env) copied from
		// the working tree into each phase's worktree; Setup are commands
		// run there before each phase's agent (such as npm ci).
		Copy  []string `yaml:"copy"`
		Setup []string `yaml:"setup"`
	} `yaml:"isolation"`
	// Sandbox is what a phase's processes may do (see SandboxConfig).
	Sandbox SandboxConfig `yaml:"sandbox"`
	// Engine is where phases run: "local" (the default: this machine) or
	// "temporal" (on chant workers, through the Temporal cluster that
	// Temporal names); chant run --engine overrides it.
	Engine   string `yaml:"engine"`
	Temporal struct {
		Address   string `yaml:"address"`    // host:port of the cluster's frontend
		Namespace string `yaml:"namespace"`  // default "default"
		TaskQueue string `yaml:"task_queue"` // default "chant"
		// Repo is where workers fetch the repository (a path, file://,
		// ssh or https URL); default this repository's path, for workers
		// on the same machine or file system.
		Repo string `yaml:"repo"`
		// Heartbeat is how long a worker may be silent before its phase
		// is retried on another (a Go duration; default 30s).
		Heartbeat string `yaml:"heartbeat"`
	} `yaml:"temporal"`

	root       *yaml.Node
	yamlOffset int
	src        []byte
}

// Source is the config file as it was read.
func (c *Config) Source() []byte { return c.src }

// ConfigFile is the config's path inside .chant.
const ConfigFile = "config.md"

// FindWorkspace returns the workspace at dir or its nearest parent that has
// a .chant/config.md.
func FindWorkspace(dir string) (*Workspace, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(filepath.Join(d, ".chant", ConfigFile)); err == nil {
			return OpenWorkspace(d)
		}
		if filepath.Dir(d) == d {
			return nil, fmt.Errorf("%w: no .chant/config.md in %s or any parent directory", ErrNoWorkspace, abs)
		}
	}
}

// OpenWorkspace opens the workspace whose .chant folder is in root.
func OpenWorkspace(root string) (*Workspace, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	w := &Workspace{Root: root, ChantDir: filepath.Join(root, ".chant")}
	w.SpecsDir = filepath.Join(w.ChantDir, "specs")
	cfgPath := filepath.Join(w.ChantDir, ConfigFile)
	src, err := safefs.ReadRegular(cfgPath, maxFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist", ErrNoWorkspace, cfgPath)
	}
	if err != nil {
		return nil, err
	}
	if w.Config, err = ParseConfig(w.Rel(cfgPath), src); err != nil {
		return nil, err
	}
	return w, nil
}

// ParseConfig parses config.md.
func ParseConfig(path string, src []byte) (*Config, error) {
	c := &Config{Path: path, src: append([]byte(nil), src...)}
	l, root, err := doc.Split(src)
	if err != nil {
		return nil, withPath(err, path)
	}
	c.root, c.yamlOffset = root, l.YAMLOffset
	if root != nil {
		if err := root.Decode(c); err != nil {
			msg := decodeMessage(err)
			ln, text := doc.SplitYAMLLine(msg)
			if ln == 0 {
				var te *yaml.TypeError
				if errors.As(err, &te) && len(te.Errors) > 0 {
					ln, text = doc.SplitYAMLLine(te.Errors[0])
				}
			}
			if ln > 0 {
				ln += l.YAMLOffset
			}
			return nil, &Error{Path: path, Line: ln, Msg: "invalid config: " + text}
		}
	}
	return c, nil
}

// KeyLine is the line of a config key (a path of nested keys, such as
// "agent", "timeout"), or of the deepest part of it present; 0 when none.
func (c *Config) KeyLine(path ...string) int {
	line := 0
	n := c.root
	for _, key := range path {
		i := doc.FindKey(n, key)
		if i < 0 {
			break
		}
		line = n.Content[i].Line + c.yamlOffset
		n = n.Content[i+1]
	}
	return line
}

// Rel returns path relative to the workspace root when it is inside it.
func (w *Workspace) Rel(path string) string {
	if r, err := filepath.Rel(w.Root, path); err == nil && filepath.IsLocal(r) {
		return r
	}
	return path
}

// ArchiveDir holds archived specs, in folders of any name.
const ArchiveDir = "archive"

// Load parses every spec of the workspace: .chant/specs/*.md, and
// .chant/archive/**/*.md as archived. Paths in the specs (and in their
// errors) are relative to the workspace root.
func (w *Workspace) Load() (*Set, error) {
	paths, archived, err := w.SpecFiles()
	if err != nil {
		return nil, err
	}
	return LoadFiles(paths, archived, w.Rel, nil)
}

// SpecFiles lists the spec files: .chant/specs/*.md, then those anywhere
// under .chant/archive (marked archived).
func (w *Workspace) SpecFiles() ([]string, map[string]bool, error) {
	paths, err := mdFiles(w.SpecsDir)
	if err != nil {
		return nil, nil, err
	}
	archived := map[string]bool{}
	err = filepath.WalkDir(filepath.Join(w.ChantDir, ArchiveDir), func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil || d.IsDir() || filepath.Ext(p) != ".md" {
			return err
		}
		archived[p] = true
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return paths, archived, nil
}

// mdFiles lists the *.md files in dir (none if dir does not exist), in
// order.
func mdFiles(dir string) ([]string, error) { return safefs.Files(dir, ".md") }

// SpecPath returns the file of the spec with this ID.
func (w *Workspace) SpecPath(id string) string {
	return filepath.Join(w.SpecsDir, id+".md")
}

// LogsDir, in .chant, holds each spec's agent and check output: local to
// one clone, never committed.
const LogsDir = "logs"

// RepoPatterns returns gitignore patterns, anchored at the git work tree
// root repoRoot, for the files chant keeps in the work tree that must
// never be committed.
func (w *Workspace) RepoPatterns(repoRoot string) []string {
	dir := "/.chant/"
	if rel, ok := w.InRepo(repoRoot).Inside(w.ChantDir); ok {
		dir = "/" + rel + "/"
	}
	return []string{dir + LogsDir + "/"}
}

// StateDir is where chant keeps the workspace's local state (locks,
// progress, journals): in the git directory of its work tree, where no
// checkout, commit or agent working in a worktree writes, and never in git
// status. Outside a git repository, .chant itself.
func (w *Workspace) StateDir() string {
	if dirs, err := gitdir.Find(w.Root); err == nil {
		return dirs.StateDir()
	}
	return w.ChantDir
}

// Lock takes the workspace's exclusive lock and returns its release. It
// serializes every change to the workspace's spec files and every git
// write, across processes. Each call uses its own flock instance, so it
// also excludes other goroutines; it is not reentrant. The lock file is
// never a data file and never deleted, and a symbolic link in its place is
// refused.
func (w *Workspace) Lock() (func(), error) {
	l, err := OpenLock(w.StateDir(), "lock")
	if err != nil {
		return nil, err
	}
	if err := l.Lock(); err != nil {
		return nil, fmt.Errorf("lock %s: %w", l.Path(), err)
	}
	return func() { l.Unlock() }, nil
}

// OpenLock returns a lock on the file name in dir (made if missing), which
// is opened without following a symbolic link.
func OpenLock(dir, name string) (*flock.Flock, error) {
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, err
	}
	return flock.New(filepath.Join(dir, name), flock.SetFlag(os.O_CREATE|os.O_RDWR|syscall.O_NOFOLLOW)), nil
}

// Update changes one spec file under the workspace lock: it re-reads and
// re-parses the file (so a change made meanwhile by another process is not
// lost), lets edit change it, and writes it back atomically. The caller must
// not hold the lock.
func (w *Workspace) Update(id string, edit func(s *Spec, e *doc.Editor) error) (*Spec, error) {
	unlock, err := w.Lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	return w.UpdateLocked(id, edit)
}

// UpdateLocked is Update for a caller that holds the workspace lock.
func (w *Workspace) UpdateLocked(id string, edit func(s *Spec, e *doc.Editor) error) (*Spec, error) {
	ed, err := w.EditLocked(id, edit)
	if err != nil {
		return nil, err
	}
	if string(ed.New) != string(ed.Old) {
		if err := safefs.WriteFileAtomic(ed.Path, ed.New); err != nil {
			return nil, err
		}
	}
	return ed.Spec, nil
}

// Edited is an edit of a spec file, made in memory and not yet written.
type Edited struct {
	Path     string // the file
	Old, New []byte
	Spec     *Spec // parsed from New
}

// EditLocked reads and parses the spec with this exact ID, lets edit
// change it, and returns the result without writing it; the edited file
// must parse. The caller holds the workspace lock.
func (w *Workspace) EditLocked(id string, edit func(s *Spec, e *doc.Editor) error) (*Edited, error) {
	path := w.SpecPath(id)
	src, err := readSpecFile(path)
	if err != nil {
		return nil, fmt.Errorf("spec %s: %w", id, err)
	}
	s, err := Parse(w.Rel(path), src)
	if err != nil {
		return nil, err
	}
	e := doc.NewEditor(src)
	if err := edit(s, e); err != nil {
		return nil, err
	}
	out, err := e.Bytes()
	if err != nil {
		return nil, fmt.Errorf("spec %s: %w", id, withPath(err, s.Path))
	}
	updated, err := Parse(s.Path, out)
	if err != nil {
		return nil, fmt.Errorf("spec %s: the edit would make the file invalid: %w", id, err)
	}
	return &Edited{Path: path, Old: src, New: out, Spec: updated}, nil
}
