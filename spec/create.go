package spec

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/chant-run/chant/internal/safefs"
	"gopkg.in/yaml.v3"
)

// ErrExists means a spec with that ID exists already.
var ErrExists = errors.New("exists already")

// Types are the spec types Chant knows.
func Types() []string { return append([]string(nil), validTypes...) }

// NewID returns an ID for a spec added at now, as Chant makes them:
// <date>-<sequence>-<suffix>, the sequence the next base-36 number among
// the specs of that date in set (archived ones included), the suffix three
// random base-36 characters: 2026-01-22-001-x7m.
func NewID(set *Set, now time.Time) string {
	date := now.Format("2006-01-02")
	next := int64(1)
	for _, s := range set.Specs {
		rest, ok := strings.CutPrefix(s.ID, date+"-")
		if !ok || len(rest) < 3 {
			continue
		}
		if n, err := strconv.ParseInt(rest[:3], 36, 64); err == nil && n >= next {
			next = n + 1
		}
	}
	seq := strconv.FormatInt(next, 36)
	for len(seq) < 3 {
		seq = "0" + seq
	}
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	suffix := make([]byte, 3)
	for i := range suffix {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(digits))))
		suffix[i] = digits[n.Int64()]
	}
	return date + "-" + seq + "-" + string(suffix)
}

// Draft is a new spec.
type Draft struct {
	ID        string
	Title     string
	Type      string // "" is code
	DependsOn []string
	Targets   []string
	Criteria  []string
	Labels    []string
	Checks    []Check // run after the agent; Expect "" is pass
	Gate      bool    // needs a person's approval before it runs
}

// Check reports what is wrong with a draft for set: an ID that is taken
// or not a file name, an unknown type, a dependency that does not exist,
// a target leaving the repository, an empty title.
func (d Draft) Check(set *Set) error {
	var problems []string
	switch {
	case strings.TrimSpace(d.Title) == "":
		problems = append(problems, "the title is empty")
	case strings.ContainsAny(d.Title, "\r\n"):
		problems = append(problems, "the title is more than one line")
	}
	if d.ID == "" || strings.ContainsAny(d.ID, `/\`) || strings.HasPrefix(d.ID, ".") || strings.IndexFunc(d.ID, unicode.IsControl) >= 0 || strings.IndexFunc(d.ID, unicode.IsSpace) >= 0 {
		problems = append(problems, fmt.Sprintf("%q is not a spec ID (a file name without spaces)", d.ID))
	} else if set.Get(d.ID) != nil {
		problems = append(problems, fmt.Sprintf("a spec %s %s", d.ID, ErrExists))
	}
	if d.Type != "" && !slices.Contains(validTypes, d.Type) {
		problems = append(problems, fmt.Sprintf("type %q is not one of %s", d.Type, strings.Join(validTypes, ", ")))
	}
	for _, dep := range d.DependsOn {
		if set.Get(dep) == nil {
			problems = append(problems, fmt.Sprintf("depends on %s, which does not exist", dep))
		}
	}
	for _, t := range d.Targets {
		if filepath.IsAbs(t) || !filepath.IsLocal(filepath.Clean(t)) {
			problems = append(problems, fmt.Sprintf("target %s leaves the repository", t))
		}
	}
	for _, c := range d.Checks {
		switch {
		case strings.TrimSpace(c.Run) == "":
			problems = append(problems, "a check has no command")
		case strings.ContainsAny(c.Run, "\r\n"):
			problems = append(problems, fmt.Sprintf("check %q is more than one line", c.Run))
		case c.Expect != "" && c.Expect != ExpectPass && c.Expect != ExpectFail:
			problems = append(problems, fmt.Sprintf("check %q: expect %q is not pass or fail", c.Run, c.Expect))
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// Bytes is the draft as a spec file.
func (d Draft) Bytes() []byte {
	fm := &yaml.Node{Kind: yaml.MappingNode}
	add := func(key string, value *yaml.Node) {
		fm.Content = append(fm.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, value)
	}
	scalar := func(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }
	list := func(vs []string) *yaml.Node {
		n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, v := range vs {
			n.Content = append(n.Content, scalar(v))
		}
		return n
	}
	typ := d.Type
	if typ == "" {
		typ = "code"
	}
	add("type", scalar(typ))
	add("status", scalar(StatusPending))
	if len(d.DependsOn) > 0 {
		add("depends_on", list(d.DependsOn))
	}
	if len(d.Labels) > 0 {
		add("labels", list(d.Labels))
	}
	if len(d.Targets) > 0 {
		add("target_files", list(d.Targets))
	}
	if len(d.Checks) > 0 {
		checks := &yaml.Node{Kind: yaml.SequenceNode}
		for _, c := range d.Checks {
			if c.Expect == ExpectFail {
				checks.Content = append(checks.Content, &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
					scalar("run"), scalar(c.Run), scalar("expect"), scalar(ExpectFail),
				}})
				continue
			}
			checks.Content = append(checks.Content, scalar(c.Run))
		}
		add("checks", checks)
	}
	if d.Gate {
		add("approval", &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
			scalar("required"), {Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"},
			scalar("status"), scalar(ApprovalPending),
		}})
	}
	var front bytes.Buffer
	enc := yaml.NewEncoder(&front)
	enc.SetIndent(2)
	enc.Encode(fm)
	enc.Close()
	var b strings.Builder
	b.WriteString("---\n")
	b.Write(front.Bytes())
	b.WriteString("---\n# " + strings.TrimSpace(d.Title) + "\n\n## Acceptance Criteria\n\n")
	if len(d.Criteria) == 0 {
		// Said without a box: an agent that ticks boxes by replacing text
		// would tick the comment, and fail for changing its spec.
		b.WriteString("<!-- One task item per criterion: a dash, a space, [ ], a space, then what must hold -->\n")
	}
	for _, c := range d.Criteria {
		b.WriteString("- [ ] " + strings.TrimSpace(c) + "\n")
	}
	return []byte(b.String())
}

// Create writes a new spec file for d, under the workspace lock, never
// over an existing one, checked against the specs load gives (Load when
// nil; package store's List through its cache). It returns the file's
// path.
func (w *Workspace) Create(d Draft, load func(*Workspace) (*Set, error)) (string, error) {
	if load == nil {
		load = (*Workspace).Load
	}
	unlock, err := w.Lock()
	if err != nil {
		return "", err
	}
	defer unlock()
	set, err := load(w)
	if err != nil {
		return "", err
	}
	if err := d.Check(set); err != nil {
		return "", err
	}
	data := d.Bytes()
	if _, err := Parse(d.ID+".md", data); err != nil {
		return "", fmt.Errorf("the new spec would not parse: %w", err)
	}
	if err := os.MkdirAll(w.SpecsDir, 0o777); err != nil {
		return "", err
	}
	path := w.SpecPath(d.ID)
	tmp := filepath.Join(w.SpecsDir, "."+d.ID+".md"+safefs.TempMarker+"new")
	if err := safefs.WriteFileAtomic(tmp, data); err != nil {
		return "", err
	}
	defer os.Remove(tmp)
	// A hard link fails if the name is taken: never over an existing spec.
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("spec %s %w", d.ID, ErrExists)
		}
		return "", err
	}
	return path, nil
}
