package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/chant-run/chant/internal/agentstream"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/safefs"
	"github.com/chant-run/chant/internal/sandbox"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/doc"
)

// Agent does the work of one spec in the phase's worktree.
type Agent interface {
	Run(ctx context.Context, job *Job) (*Result, error)
}

// Job is one spec for an agent to work on. The agent works in Dir, a
// private worktree of the repository at the phase's base commit; nothing
// it does there reaches the user's branch or working tree unless chant
// verifies it and lands it.
type Job struct {
	Spec       *spec.Spec      // the spec as the phase read it: its contract
	Workspace  *spec.Workspace // the user's workspace (its config); agents never write through it
	Dir        string          // the phase worktree's root: the agent works here
	SpecFile   string          // the spec's copy in Dir: the agent may tick its boxes, nothing else
	PromptName string          // the prompt template the spec runs with
	Log        io.Writer       // the agent's own output, as it happens
	// Scratch is a directory of chant's, outside the repository's work
	// trees, for the agent's files (its prompt file); "" for the system's.
	Scratch string
	// Marker marks the agent's processes (procs.MarkerVar), so that chant
	// can kill whatever they leave behind.
	Marker string
	// Started is called with the process group of an agent that runs as a
	// process, as soon as it exists.
	Started func(pgid int)
	// Cage is the sandbox an agent that runs as a process runs in; nil
	// with sandbox: off.
	Cage *sandbox.Cage
	// Budget is what the agent may cost, as its CLI reports it (0: no
	// bound); BudgetFrom says where it was set, for messages.
	Budget     float64
	BudgetFrom string

	// Render renders the spec's prompt, from what the phase read before
	// the agent started (see Render).
	Render func() (string, error)
}

// Prompt renders the spec's prompt from what the phase read before the
// agent (see Render).
func (j *Job) Prompt() (string, error) {
	if j.Render == nil {
		return "", fmt.Errorf("%w: no prompt for %s", ErrPrompt, j.Spec.ID)
	}
	return j.Render()
}

// Result is what an agent reports. The runner verifies it; nothing here is
// taken on trust.
type Result struct {
	Output string // the agent's text, for the spec's Agent Output
	Model  string
	// Usage is what the agent's CLI reported it used (zero: nothing).
	Usage agentstream.Usage
	// Author, when set, is the author of the work commit chant makes (the
	// committer is the repository's identity).
	Author *gitrepo.Person
}

// ReplayAuthor authors the work the replay agent replays: the recorded
// agent's work, not the person running chant, who may then review it.
var ReplayAuthor = gitrepo.Person{Name: "chant replay agent", Email: "replay@chant.invalid"}

// ErrNoRecording means the replay agent has no recording for a spec.
var ErrNoRecording = errors.New("no recording")

// RecordingsDir is where a workspace's replay recordings are, and where
// --record writes them: replay.dir, which must be inside .chant (see
// spec.ReplayDirProblem), default .chant/recordings.
func RecordingsDir(w *spec.Workspace) string {
	dir := w.Config.Replay.Dir
	if dir == "" {
		dir = filepath.Join(".chant", "recordings")
	}
	return filepath.Join(w.Root, filepath.FromSlash(dir))
}

// For is the agent the config asks for (its problems are
// ConfigProblems'): the replay agent, or a command, its output streamed to
// stream (nil: not).
// record says the run records what the agent does, which the replay agent
// cannot.
func For(w *spec.Workspace, record bool, stream io.Writer) (Agent, error) {
	switch w.Config.Defaults.Provider {
	case "", "replay":
		if record {
			return nil, &spec.Error{Path: w.Config.Path, Msg: "--record needs a real agent (a preset such as claude, or command); the provider is replay"}
		}
		return ReplayFor(w)
	}
	return CommandFor(w, stream)
}

// Replay is the agent that replays recorded work: for each spec, a directory
// named by the spec ID holding
//
//	transcript.md   what the agent said (goes into ## Agent Output)
//	recording.yaml  checked: the acceptance criteria it ticked, by text
//	files/...       every file it wrote, as it left it
//
// It is deterministic and offline.
type Replay struct {
	Recordings fs.FS
	Source     string // where the recordings come from, for messages
}

// ReplayFor returns the replay agent a workspace's config asks for: its
// recordings are a directory inside .chant (default .chant/recordings).
func ReplayFor(w *spec.Workspace) (*Replay, error) {
	if msg := spec.ReplayDirProblem(w.Config.Replay.Dir); msg != "" {
		return nil, &spec.Error{Path: w.Config.Path, Msg: msg}
	}
	dir := RecordingsDir(w)
	return &Replay{Recordings: os.DirFS(dir), Source: w.Rel(dir)}, nil
}

// Recording is the recording.yaml of a replay recording: the criteria the
// agent checked.
type Recording struct {
	Checked []string `yaml:"checked,omitempty"`
}

// SpecProblem is a problem that belongs to one spec.
type SpecProblem struct {
	Spec    string
	Problem spec.Problem
}

// problems reads every recording for the specs of set, as lint does and
// before anything runs: each recording.yaml must parse, every file must be
// a regular file, and no file may be written outside the repository (by
// its path or through a symbolic link). Each problem names the recording
// file and belongs to its spec. A missing recording is not a problem here:
// it fails its phase when reached.
func (r *Replay) Problems(w *spec.Workspace, set *spec.Set) []SpecProblem {
	var out []SpecProblem
	root, err := filepath.EvalSymlinks(w.Root)
	if err != nil {
		root = w.Root
	}
	// One listing of the recordings, rather than a look for each spec.
	entries, err := fs.ReadDir(r.Recordings, ".")
	if err != nil {
		return nil
	}
	recorded := make(map[string]bool, len(entries))
	for _, e := range entries {
		recorded[e.Name()] = true
	}
	for _, s := range set.Specs {
		add := func(p, msg string, line int) {
			out = append(out, SpecProblem{s.ID, spec.Problem{Path: r.Source + "/" + p, Line: line, Col: 1, Severity: spec.SeverityError, Code: spec.CodeRecording, Message: msg}})
		}
		if !recorded[s.ID] {
			continue
		}
		fs.WalkDir(r.Recordings, s.ID, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && !d.Type().IsRegular() {
				add(p, "not a regular file; a recording holds only regular files", 1)
			}
			return nil
		})
		name := path.Join(s.ID, "recording.yaml")
		if data, err := fs.ReadFile(r.Recordings, name); err == nil {
			var rec Recording
			if err := yaml.Unmarshal(data, &rec); err != nil {
				ln, msg := 0, err.Error()
				if m := yamlLineRE().FindStringSubmatch(msg); m != nil {
					fmt.Sscan(m[1], &ln)
					msg = m[2]
				}
				add(name, "invalid recording: "+msg, ln)
			}
		}
		files := path.Join(s.ID, "files")
		fs.WalkDir(r.Recordings, files, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			rel := strings.TrimPrefix(p, files+"/")
			if !filepath.IsLocal(filepath.FromSlash(rel)) || safefs.Escapes(root, filepath.Join(root, filepath.FromSlash(rel))) {
				add(p, "the recording writes "+rel+", outside the repository", 1)
			}
			return nil
		})
	}
	return out
}

// yamlLineRE is compiled when first used, not at every start of chant.
var yamlLineRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`) })

// Run writes the recorded files into the phase worktree, ticks the
// recorded criteria in the spec's copy there, and returns the recorded
// transcript.
func (r *Replay) Run(ctx context.Context, job *Job) (*Result, error) {
	id := job.Spec.ID
	if _, err := fs.Stat(r.Recordings, id); err != nil {
		return nil, fmt.Errorf("%w for %s in %s", ErrNoRecording, id, r.Source)
	}
	var rec Recording
	if data, err := fs.ReadFile(r.Recordings, path.Join(id, "recording.yaml")); err == nil {
		if err := yaml.Unmarshal(data, &rec); err != nil {
			return nil, fmt.Errorf("recording %s/recording.yaml (%s): %w", id, r.Source, err)
		}
	}
	transcript, err := fs.ReadFile(r.Recordings, path.Join(id, "transcript.md"))
	if err != nil {
		return nil, fmt.Errorf("recording %s (%s): %w", id, r.Source, err)
	}

	tree := safefs.Root{Dir: job.Dir}
	res := &Result{Output: strings.TrimSpace(string(transcript)), Author: &ReplayAuthor}
	filesRoot := path.Join(id, "files")
	err = fs.WalkDir(r.Recordings, filesRoot, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == filesRoot {
			return fs.SkipDir
		}
		if err != nil || d.IsDir() {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel := strings.TrimPrefix(p, filesRoot+"/")
		if !filepath.IsLocal(filepath.FromSlash(rel)) {
			return fmt.Errorf("recording %s writes %s, outside the repository", id, rel)
		}
		data, err := fs.ReadFile(r.Recordings, p)
		if err != nil {
			return err
		}
		if err := tree.WriteFile(rel, data, safefs.Regular, false); err != nil {
			return err
		}
		fmt.Fprintf(job.Log, "wrote %s\n", rel)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("replay %s: %w", id, err)
	}
	// Tick what the recorded agent ticked, as it would have, in the spec's
	// copy. A criterion whose text has changed since the recording stays
	// unchecked, and verification says so.
	specRel, err := filepath.Rel(job.Dir, job.SpecFile)
	if err != nil {
		return nil, err
	}
	specRel = filepath.ToSlash(specRel)
	src, _, err := tree.ReadFile(specRel, 0)
	if err != nil {
		return nil, fmt.Errorf("replay %s: %w", id, err)
	}
	s, err := spec.Parse(specRel, src)
	if err != nil {
		return nil, fmt.Errorf("replay %s: %w", id, err)
	}
	e := doc.NewEditor(src)
	for _, text := range rec.Checked {
		for _, c := range s.Criteria() {
			if c.Text == text && !c.Checked {
				e.CheckBox(c.Offset)
			}
		}
	}
	out, err := e.Bytes()
	if err == nil {
		err = tree.WriteFile(specRel, out, safefs.Regular, false)
	}
	if err != nil {
		return nil, fmt.Errorf("replay %s: %w", id, err)
	}
	return res, nil
}
