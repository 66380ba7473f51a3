// Package spec reads, validates and writes chant spec files: Markdown with
// YAML frontmatter in .chant/specs/. It also resolves IDs, builds the
// dependency graph and decides which specs are ready to run.
package spec

import (
	"github.com/chant-run/chant/spec/cost"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/chant-run/chant/spec/builton"
	"github.com/chant-run/chant/spec/doc"
	"gopkg.in/yaml.v3"
)

// Spec types and statuses, as Chant writes them.
const (
	StatusPending        = "pending"
	StatusInProgress     = "in_progress"
	StatusPaused         = "paused"
	StatusCompleted      = "completed"
	StatusFailed         = "failed"
	StatusNeedsAttention = "needs_attention"
	StatusBlocked        = "blocked"
	StatusCancelled      = "cancelled"

	ApprovalPending  = "pending"
	ApprovalApproved = "approved"
	ApprovalRejected = "rejected"

	ExpectPass = "pass"
	ExpectFail = "fail"
)

var (
	validTypes    = []string{"code", "task", "driver", "group", "documentation", "research"}
	validStatuses = []string{StatusPending, StatusInProgress, StatusPaused, StatusCompleted, StatusFailed,
		StatusNeedsAttention, StatusBlocked, StatusCancelled}
	validApprovals     = []string{ApprovalPending, ApprovalApproved, ApprovalRejected}
	validVerifications = []string{"passed", "partial", "failed"}
)

// Spec is one parsed spec file.
type Spec struct {
	ID   string
	Path string // path of the file, as it was read

	Fields

	// Archived specs live under .chant/archive/; they count as completed.
	Archived bool

	Title string

	criteriaOnce sync.Once
	criteria     []Criterion

	src    []byte
	layout doc.Layout
	broken bool       // the frontmatter could not be read at all
	fm     *yaml.Node // decoded by text() when it read the file, until node() takes it
	// abs is the file a listed spec reads its text from, when it is first
	// needed (src is nil until then).
	abs     string
	textMu  sync.Mutex
	own     string // OwnHash, once computed
	ownOnce sync.Once
}

// Fields are the frontmatter keys chant reads and acts on, each declared
// here once with its key: the parser fills them by key (a list of strings
// also from a single string), the listing cache keeps them whole, and a
// new field is read everywhere a spec is (see the README's Development
// section). Keys chant only keeps are in knownForeign.
type Fields struct {
	Type        string    `yaml:"type"`
	Status      string    `yaml:"status"`
	DependsOn   []string  `yaml:"depends_on"`
	Labels      []string  `yaml:"labels"`
	TargetFiles []string  `yaml:"target_files"`
	Context     []string  `yaml:"context"`
	InformedBy  []string  `yaml:"informed_by"`
	Commits     []string  `yaml:"commits"`
	Prompt      string    `yaml:"prompt"`
	Model       string    `yaml:"model"`
	CompletedAt string    `yaml:"completed_at"`
	Members     []string  `yaml:"members"`
	Approval    *Approval `yaml:"approval"`
	Checks      []Check   `yaml:"checks"`
	// Cost is what its phases' agents reported they used, summed.
	Cost *cost.Cost `yaml:"cost"`
	// Budget bounds what its agent may cost a phase.
	Budget *cost.Budget `yaml:"budget"`

	VerificationStatus string `yaml:"verification_status"`
	LastVerified       string `yaml:"last_verified"`
	// VerificationFailures say why the last phase failed (Chant's key).
	VerificationFailures []string `yaml:"verification_failures"`

	// Tracks and Origin are files a spec follows (Chant's keys): inputs,
	// as its context and informed_by are, though not given to its agent.
	Tracks []string `yaml:"tracks"`
	Origin []string `yaml:"origin"`
	// BuiltOn and Outputs are what its last phase was built on and made
	// (package builton); Accepted, who last said it stands as it is.
	BuiltOn  *builton.Built `yaml:"built_on"`
	Outputs  builton.Blobs  `yaml:"outputs"`
	Accepted *Acceptance    `yaml:"accepted"`
}

// fieldIndex maps each key of Fields to its field's index, read once from
// the declaration.
var fieldIndex = sync.OnceValue(func() map[string]int {
	t := reflect.TypeOf(Fields{})
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		key, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		m[key] = i
	}
	return m
})

// Approval is a spec's human gate.
type Approval struct {
	Required bool   `yaml:"required"`
	Status   string `yaml:"status"`
	By       string `yaml:"by"`
	At       string `yaml:"at"`
	// Hash and Commit bind an approval to what was reviewed: the gate
	// spec's review hash and the commit the repository was at.
	Hash   string `yaml:"hash,omitempty"`
	Commit string `yaml:"commit,omitempty"`
}

// Check is a command run in the repository root after the agent; Expect
// says whether it must pass or fail.
type Check struct {
	Run     string `yaml:"run"`
	Expect  string `yaml:"expect"`
	Timeout string `yaml:"timeout"`
}

// UnmarshalYAML accepts a check as a mapping or as a bare command string.
func (c *Check) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		c.Run, c.Expect = n.Value, ExpectPass
		return nil
	}
	type plain Check
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*c = Check(p)
	if c.Expect == "" {
		c.Expect = ExpectPass
	}
	return nil
}

// Criterion is one task item of the Acceptance Criteria section.
type Criterion struct {
	Text    string
	Checked bool
	Line    int // 1-based line in the file
	Offset  int // byte offset of "[" in the file
}

// Done reports whether the spec counts as completed for what depends on it:
// completed, or archived.
func (s *Spec) Done() bool { return s.Archived || s.Status == StatusCompleted }

// Gate reports whether the spec needs a human approval before it runs.
func (s *Spec) Gate() bool { return s.Approval != nil && s.Approval.Required }

// Approved reports whether a required approval has been granted.
func (s *Spec) Approved() bool {
	return s.Approval != nil && s.Approval.Status == ApprovalApproved
}

// Criteria returns the task items of the Acceptance Criteria section. The
// body is parsed for them on first use: listing specs needs only titles.
func (s *Spec) Criteria() []Criterion {
	s.criteriaOnce.Do(s.parseCriteria)
	return s.criteria
}

// Unchecked returns the acceptance criteria that are not checked.
func (s *Spec) Unchecked() []Criterion {
	var out []Criterion
	for _, c := range s.Criteria() {
		if !c.Checked {
			out = append(out, c)
		}
	}
	return out
}

// IDFromPath returns the spec ID for a file name: the base name without ".md".
func IDFromPath(path string) string {
	return strings.TrimSuffix(filepath.Base(path), ".md")
}

// stringList decodes a YAML scalar or sequence of scalars.
type stringList []string

func (l *stringList) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			*l = nil
			return nil
		}
		*l = []string{n.Value}
		return nil
	case yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		for _, item := range n.Content {
			if item.Kind != yaml.ScalarNode {
				return &nodeError{item, "expected a string, found a " + kindName(item)}
			}
			out = append(out, item.Value)
		}
		*l = out
		return nil
	}
	return &nodeError{n, "expected a string or a list of strings, found a " + kindName(n)}
}

// nodeError is a decoding problem at a YAML node, so that it can be
// reported at the node's own line and column.
type nodeError struct {
	node *yaml.Node
	msg  string
}

func (e *nodeError) Error() string { return e.msg }

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	}
	return "value"
}

// splitText lays out a spec file's text, its frontmatter decoded; an error
// means the file cannot be read as a spec at all (broken).
func splitText(path string, src []byte) (doc.Layout, *yaml.Node, error) {
	if !utf8.Valid(src) {
		return doc.Layout{}, nil, &Error{Path: path, Line: invalidUTF8Line(src), Col: 1, Msg: "file is not valid UTF-8"}
	}
	l, fm, err := doc.Split(src)
	return l, fm, withPath(err, path)
}

// takeFrontmatter is the frontmatter text() decoded, if it did, given
// once: its taker may change it (Reviewed drops keys).
func (s *Spec) takeFrontmatter() (fm *yaml.Node) {
	s.textMu.Lock()
	defer s.textMu.Unlock()
	fm, s.fm = s.fm, nil
	return fm
}

// Body returns the Markdown after the frontmatter.
func (s *Spec) Body() []byte { return s.text()[s.layout.BodyStart:] }

// Bytes returns the file's content as parsed.
func (s *Spec) Bytes() []byte { return s.text() }

// text returns the file's content. A listed spec reads it now, and its
// layout with it (its fields stay as listed: a listing is one moment's).
func (s *Spec) text() []byte {
	s.textMu.Lock()
	defer s.textMu.Unlock()
	if s.src == nil && s.abs != "" {
		data, err := readSpecFile(s.abs)
		if err != nil || data == nil {
			data = []byte{}
		}
		s.src = data
		// The file may have changed since it was listed: offsets into
		// the text must be the text's own (its layout; a whole parse was
		// most of placing a listed spec's problems).
		s.layout, s.fm, err = splitText(s.Path, data)
		s.broken = err != nil
	}
	if s.src == nil {
		return []byte{}
	}
	return s.src
}
