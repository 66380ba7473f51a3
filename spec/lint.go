package spec

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/chant-run/chant/internal/safefs"
	"github.com/chant-run/chant/spec/doc"
	"gopkg.in/yaml.v3"
)

// Severities of lint problems.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// Problem is one thing lint found, at a place in a file.
type Problem struct {
	Path     string `json:"path"`
	Line     int    `json:"line"`
	Col      int    `json:"col"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Code     string `json:"code"` // what kind of problem (ProblemCodes)
}

// Problem codes: every kind of problem chant reports. An error of any kind
// makes its spec invalid (it does not run), or, for the config's and the
// agent's, stops every run.
const (
	CodeParse               = "parse"                // the file cannot be read as a spec: YAML, values, types, encoding
	CodeDuplicateID         = "duplicate-id"         // two files with one ID
	CodeFileName            = "file-name"            // control characters in a spec's file name
	CodePromptName          = "prompt-name"          // a prompt: that is a path, not a name
	CodeMissingDependency   = "missing-dependency"   // depends_on names no spec
	CodeCancelledDependency = "cancelled-dependency" // depends_on names a cancelled spec
	CodeDriverDependency    = "driver-dependency"    // a member depends on its own driver (warning)
	CodeMissingMember       = "missing-member"       // members: names no spec
	CodeApproval            = "approval"             // approved without by and at
	CodeOwnFile             = "own-file"             // a spec targets its own file
	CodeOutside             = "outside"              // a path leaves the repository
	CodeThroughLink         = "through-link"         // a path leaves the repository through a symbolic link
	CodeNoTitle             = "no-title"             // no # Title
	CodeNoCriteria          = "no-criteria"          // no acceptance criteria (warning)
	CodeNothingToVerify     = "nothing-to-verify"    // no criteria, targets or checks: a run would prove nothing
	CodeCycle               = "cycle"                // a dependency cycle
	CodeConfig              = "config"               // a config value chant cannot use
	CodeUnknownKey          = "unknown-key"          // a config key neither chant nor Chant knows (warning)
	CodeAgent               = "agent"                // the agent config: unknown provider, no command, bad timeout
	CodeNoAgent             = "no-agent"             // no provider set: the replay agent runs (warning)
	CodeNotGit              = "not-git"              // the workspace is not in a git repository
	CodePrompt              = "prompt"               // a prompt template missing or unreadable
	CodePlaceholder         = "placeholder"          // a prompt template's unknown placeholder
	CodeRecording           = "recording"            // a replay recording chant cannot use
)

// ProblemCodes are every problem code, with whether its problems are
// errors (warnings otherwise).
var ProblemCodes = map[string]bool{
	CodeParse: true, CodeDuplicateID: true, CodeFileName: true, CodePromptName: true, CodeMissingDependency: true,
	CodeCancelledDependency: true, CodeDriverDependency: false, CodeMissingMember: true, CodeApproval: true,
	CodeOwnFile: true, CodeOutside: true, CodeThroughLink: true, CodeNoTitle: true, CodeNoCriteria: false, CodeNothingToVerify: true,
	CodeCycle: true, CodeConfig: true, CodeUnknownKey: false, CodeAgent: true, CodeNoAgent: false, CodeNotGit: true,
	CodePrompt: true, CodePlaceholder: true, CodeRecording: true,
}

func (p Problem) String() string {
	return fmt.Sprintf("%s:%d:%d: %s: %s", doc.DisplayPath(p.Path), max(p.Line, 1), max(p.Col, 1), p.Severity, p.Message)
}

// Problems checks every spec of the set: what could not be parsed, unknown,
// cancelled and cyclic dependencies, duplicate IDs, approvals without who
// and when, paths that leave the repository, missing titles (errors), and
// empty acceptance criteria or members that depend on their own driver
// (warnings). They come sorted by file and line.
func (set *Set) Problems() []Problem {
	var out []Problem
	add := func(err error, severity, code string) {
		var list Errors
		if errors.As(err, &list) {
			for _, e := range list {
				out = append(out, problemOf(e, severity, code))
			}
			return
		}
		out = append(out, problemOf(err, severity, code))
	}
	for _, e := range set.Invalid {
		code := CodeParse
		if errors.Is(e, errDuplicateID) {
			code = CodeDuplicateID
		}
		add(e, SeverityError, code)
	}
	for _, s := range set.Specs {
		set.specProblems(s, add)
	}
	for _, cycle := range set.Cycles() {
		names := make([]string, len(cycle))
		for i, s := range cycle {
			names[i] = s.ID
		}
		add(cycle[0].errAt("depends_on", "", "dependency cycle: %s (%s)", strings.Join(names, " → "), cyclePaths(cycle)), SeverityError, CodeCycle)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Line < out[j].Line
	})
	return out
}

// specProblems adds the problems of one spec of the set.
func (set *Set) specProblems(s *Spec, add func(err error, severity, code string)) {
	if strings.IndexFunc(s.ID, unicode.IsControl) >= 0 {
		add(&Error{Path: s.Path, Line: 1, Col: 1, Msg: fmt.Sprintf("the file name has control characters (spec ID %q): rename the file", s.ID)}, SeverityError, CodeFileName)
	}
	if s.broken {
		return // its frontmatter could not be read: the parse error says why
	}
	at := s.sites()
	if s.Prompt != "" && !ValidPromptName(s.Prompt) {
		add(at.errAt("prompt", s.Prompt, "prompt: %q is not a prompt name (letters, digits, '.', '-', '_'; the template is .chant/prompts/<name>.md)", s.Prompt), SeverityError, CodePromptName)
	}
	set.referenceProblems(s, at, add)
	if a := s.Approval; a != nil && a.Status == ApprovalApproved && (a.By == "" || a.At == "") {
		add(at.errAt("approval", "", "approval: approved without by and at"), SeverityError, CodeApproval)
	}
	for _, t := range s.TargetFiles {
		if filepath.ToSlash(filepath.Clean(t)) == filepath.ToSlash(s.Path) {
			add(at.errAt("target_files", t, "target_files: %s is the spec's own file, which only chant writes", t), SeverityError, CodeOwnFile)
		}
	}
	for _, key := range []string{"target_files", "informed_by", "context"} {
		for _, p := range s.pathList(key) {
			if filepath.IsAbs(p) || strings.HasPrefix(p, "/") || !filepath.IsLocal(filepath.Clean(p)) {
				add(at.errAt(key, p, "%s: %s leaves the repository", key, p), SeverityError, CodeOutside)
			}
		}
	}
	if s.Title == "" {
		add(&Error{Path: s.Path, Line: s.layout.CloseLine + 1, Col: 1, Msg: "no title: the body has no level-1 heading (# Title)"}, SeverityError, CodeNoTitle)
	}
	switch {
	case len(s.Criteria()) == 0 && len(s.TargetFiles) == 0 && len(s.Checks) == 0 && !s.Archived && s.Status != StatusCompleted && s.Status != StatusCancelled:
		add(&Error{Path: s.Path, Line: s.layout.CloseLine + 1, Col: 1, Msg: "nothing to verify: no acceptance criteria, target_files or checks; " +
			"an agent's run of it could not be told from one that did nothing"}, SeverityError, CodeNothingToVerify)
	case len(s.Criteria()) == 0 && !s.Archived:
		add(&Error{Path: s.Path, Line: s.layout.CloseLine + 1, Col: 1, Msg: "no acceptance criteria: add a task list under ## Acceptance Criteria"}, SeverityWarning, CodeNoCriteria)
	}
}

// referenceProblems adds the problems of what s names of the set: its
// dependencies and members.
func (set *Set) referenceProblems(s *Spec, at *siteFinder, add func(err error, severity, code string)) {
	for _, dep := range s.DependsOn {
		switch d := set.byID[dep]; {
		case d == nil:
			add(at.errAt("depends_on", dep, "depends_on: %s does not exist", dep), SeverityError, CodeMissingDependency)
		case d.Status == StatusCancelled && !d.Archived:
			add(at.errAt("depends_on", dep, "depends_on: %s is cancelled, so %s can never run", dep, s.ID), SeverityError, CodeCancelledDependency)
		case dep == DriverOf(s.ID):
			add(at.errAt("depends_on", dep, "depends_on: %s is this member's own driver; members run within their driver", dep), SeverityWarning, CodeDriverDependency)
		}
	}
	for _, m := range s.Members {
		if set.byID[m] == nil {
			add(at.errAt("members", m, "members: %s does not exist", m), SeverityError, CodeMissingMember)
		}
	}
}

func problemOf(err error, severity, code string) Problem {
	var e *Error
	if errors.As(err, &e) {
		return Problem{Path: e.Path, Line: e.Line, Col: e.Col, Severity: severity, Code: code, Message: e.Msg}
	}
	return Problem{Severity: severity, Code: code, Message: err.Error()}
}

// errAt is an Error at the list item value under key (or at key when value
// is "" or not found). For many errors in one spec, use sites.
func (s *Spec) errAt(key, value, format string, args ...any) *Error {
	return s.sites().errAt(key, value, format, args...)
}

// siteFinder places errors in one spec's file: its frontmatter is decoded
// once, when the first error needs it, and each key's list is indexed by
// value once, so that a spec with thousands of problems costs what one
// with a few does, per problem.
type siteFinder struct {
	s       *Spec
	decoded bool
	fm      *yaml.Node
	items   map[string]map[string]*yaml.Node // key → scalar value → its first item
}

func (s *Spec) sites() *siteFinder { return &siteFinder{s: s} }

func (f *siteFinder) errAt(key, value, format string, args ...any) *Error {
	s := f.s
	e := &Error{Path: s.Path, Col: 1, Msg: fmt.Sprintf(format, args...)}
	if !f.decoded {
		f.decoded, f.fm = true, s.node()
	}
	i := doc.FindKey(f.fm, key)
	if i < 0 {
		return e
	}
	k, v := f.fm.Content[i], f.fm.Content[i+1]
	e.Line, e.Col = k.Line+s.layout.YAMLOffset, k.Column
	if value == "" {
		return e
	}
	items, ok := f.items[key]
	if !ok {
		items = map[string]*yaml.Node{}
		nodes := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			nodes = v.Content
		}
		for _, n := range nodes {
			if _, seen := items[n.Value]; n.Kind == yaml.ScalarNode && !seen {
				items[n.Value] = n
			}
		}
		if f.items == nil {
			f.items = map[string]map[string]*yaml.Node{}
		}
		f.items[key] = items
	}
	if n := items[value]; n != nil {
		e.Line, e.Col = n.Line+s.layout.YAMLOffset, n.Column
	}
	return e
}

func (s *Spec) pathList(key string) []string {
	switch key {
	case "target_files":
		return s.TargetFiles
	case "informed_by":
		return s.InformedBy
	case "context":
		return s.Context
	}
	return nil
}

// configKeys are the keys a config mapping may have: each with the keys
// of its own mapping, or nil when anything may be below it.
type configKeys map[string]configKeys

// knownConfig are the config.md keys chant uses, and Chant's (v0.23), which
// chant keeps but does not use: Chant's own repository has a top-level
// silent, its examples spec_defaults.
var knownConfig = configKeys{
	"project": {"name": nil, "prefix": nil, "silent": nil},
	"defaults": {"prompt": nil, "provider": nil, "model": nil, "parallel": nil, "budget": {"usd": nil}, "branch": nil, "branch_prefix": nil, "split_model": nil,
		"main_branch": nil, "create_branch": nil, "rotation_strategy": nil, "prompt_extensions": nil},
	"agent":     {"command": nil, "timeout": nil, "model": nil, "name": nil},
	"approval":  {"approvers": nil, "allow_self_approval": nil, "expires_after": nil, "rejection_action": nil, "require_approval_for_agent_work": nil},
	"isolation": {"copy": nil, "setup": nil},
	"sandbox":   {"network": nil, "writable": nil},
	"replay":    {"dir": nil},
	"fixture":   {"name": nil, "make": nil},
	"engine":    nil,
	"temporal":  {"address": nil, "namespace": nil, "task_queue": nil, "repo": nil, "heartbeat": nil},
	// Chant's, whatever is below them.
	"providers": nil, "parallel": nil, "repos": nil, "enterprise": nil, "validation": nil, "site": nil,
	"lint": nil, "watch": nil, "schema": nil, "models": nil, "git": nil, "spec_defaults": nil, "silent": nil,
}

// Engines: where phases run.
const (
	EngineLocal    = "local"
	EngineTemporal = "temporal"
)

// ValidPromptName reports whether name names a prompt template: a file
// name in .chant/prompts, never a path.
func ValidPromptName(name string) bool {
	if name == "" || name[0] == '.' || len(name) > 200 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return !strings.Contains(name, "..")
}

// chantOwnDirs are the parts of .chant that chant itself reads or writes:
// no configured directory may be one of them.
var chantOwnDirs = []string{"specs", "archive", "prompts", "logs", "work", "context", "research", "templates", "store", ConfigFile}

// ReplayDirProblem says why replay.dir is not acceptable, or "": it must
// be a directory of its own inside .chant (run --record replaces the
// recordings in it).
func ReplayDirProblem(dir string) string {
	if dir == "" {
		return ""
	}
	clean := filepath.ToSlash(filepath.Clean(dir))
	rest, ok := strings.CutPrefix(clean, ".chant/")
	if filepath.IsAbs(dir) || !ok || rest == "" {
		return fmt.Sprintf("replay.dir: %q must be a directory inside .chant, such as .chant/recordings", dir)
	}
	if first, _, _ := strings.Cut(rest, "/"); slices.Contains(chantOwnDirs, first) {
		return fmt.Sprintf("replay.dir: %q is chant's own .chant/%s; use a directory of its own, such as .chant/recordings", dir, first)
	}
	return ""
}

// MaxParallel is the most specs a run may run at once.
const MaxParallel = 64

// position is the line and column in config.md of the value at the key
// path, or of its deepest key there is (0, 0: none).
func (c *Config) position(path ...string) (line, col int) {
	n := c.root
	if n == nil {
		return 0, 0
	}
	for _, key := range path {
		i := doc.FindKey(n, key)
		if i < 0 {
			return 0, 0
		}
		if n.Content[i+1].Kind != yaml.MappingNode {
			return n.Content[i+1].Line + c.yamlOffset, n.Content[i+1].Column
		}
		n = n.Content[i+1]
	}
	return n.Line + c.yamlOffset, n.Column
}

// ConfigProblems checks config.md: a prompt name that is a path, a
// replay.dir outside .chant and isolation.copy globs leaving the
// repository are errors; unknown top-level keys are warnings.
func ConfigProblems(c *Config) []Problem {
	var out []Problem
	if c.root == nil {
		return nil
	}
	errorAt := func(msg string, path ...string) {
		line, col := c.position(path...)
		out = append(out, Problem{Path: c.Path, Line: line, Col: col, Severity: SeverityError, Code: CodeConfig, Message: msg})
	}
	if p := c.Defaults.Prompt; p != "" && !ValidPromptName(p) {
		errorAt(fmt.Sprintf("defaults.prompt: %q is not a prompt name (letters, digits, '.', '-', '_'; the template is .chant/prompts/<name>.md)", p), "defaults", "prompt")
	}
	if msg := ReplayDirProblem(c.Replay.Dir); msg != "" {
		errorAt(msg, "replay", "dir")
	}
	if e, ok := c.FixtureError().(*Error); ok {
		errorAt(e.Msg, "fixture")
	}
	if b := c.Defaults.Budget; b != nil && !(b.USD > 0) {
		errorAt(fmt.Sprintf("defaults.budget.usd: %v is not an amount of dollars above 0", b.USD), "defaults", "budget")
	}
	if n := c.Defaults.Parallel; n < 0 || n > MaxParallel {
		errorAt(fmt.Sprintf("defaults.parallel: %d is not a number of specs to run at once (1 to %d)", n, MaxParallel), "defaults", "parallel")
	}
	switch c.Engine {
	case "", EngineLocal, EngineTemporal:
	default:
		errorAt(fmt.Sprintf("engine: %q is not an engine (%s or %s)", c.Engine, EngineLocal, EngineTemporal), "engine")
	}
	if h := c.Temporal.Heartbeat; h != "" {
		if d, err := time.ParseDuration(h); err != nil || d < time.Second {
			errorAt(fmt.Sprintf("temporal.heartbeat: %q is not a duration of a second or more (such as 30s)", h), "temporal", "heartbeat")
		}
	}
	sandboxProblems(c, errorAt)
	for _, g := range c.Isolation.Copy {
		if filepath.IsAbs(g) || !filepath.IsLocal(filepath.Clean(g)) {
			errorAt(fmt.Sprintf("isolation.copy: %q leaves the repository", g), "isolation", "copy")
		} else if _, err := filepath.Match(g, ""); err != nil {
			errorAt(fmt.Sprintf("isolation.copy: %q is not a glob: %v", g, err), "isolation", "copy")
		}
	}
	var walk func(n *yaml.Node, keys configKeys, prefix string)
	walk = func(n *yaml.Node, keys configKeys, prefix string) {
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			sub, known := keys[k.Value]
			switch {
			case !known:
				out = append(out, Problem{Path: c.Path, Line: k.Line + c.yamlOffset, Col: k.Column, Severity: SeverityWarning, Code: CodeUnknownKey,
					Message: fmt.Sprintf("unknown config key %s%s (kept, but neither chant nor Chant uses it)", prefix, k.Value)})
			case sub != nil:
				walk(v, sub, prefix+k.Value+".")
			}
		}
	}
	walk(c.root, knownConfig, "")
	return out
}

// PathProblems checks, on disk, that no target_files, informed_by or
// context path reaches outside the workspace through a symbolic link.
func (w *Workspace) PathProblems(set *Set) []Problem {
	var out []Problem
	root, err := filepath.EvalSymlinks(w.Root)
	if err != nil {
		root = w.Root
	}
	within := safefs.NewConfinement(root)
	for _, s := range set.Specs {
		at := s.sites()
		for _, key := range []string{"target_files", "informed_by", "context"} {
			for _, p := range s.pathList(key) {
				if !filepath.IsLocal(filepath.Clean(p)) {
					continue // reported by Problems
				}
				if within.Escapes(filepath.Join(root, filepath.FromSlash(p))) {
					e := at.errAt(key, p, "%s: %s leads outside the repository through a symbolic link", key, p)
					out = append(out, problemOf(e, SeverityError, CodeThroughLink))
				}
			}
		}
	}
	return out
}
