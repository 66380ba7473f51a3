package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Set is every spec of a workspace.
type Set struct {
	Specs   []*Spec // in natural ID order
	Invalid []error // files that could not be parsed, each naming its file
	byID    map[string]*Spec
}

// LoadDir parses every *.md file in dir. A file that does not parse is
// reported in Invalid and still listed (with what could be read), so one
// broken file never hides the others.
func LoadDir(dir string) (*Set, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil {
		return nil, err
	}
	set := &Set{byID: map[string]*Spec{}}
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		s, err := Parse(p, src)
		if err != nil {
			set.Invalid = append(set.Invalid, err)
		}
		set.add(s)
	}
	set.sort()
	return set, nil
}

// NewSet builds a Set from parsed specs.
func NewSet(specs ...*Spec) *Set {
	set := &Set{byID: map[string]*Spec{}}
	for _, s := range specs {
		set.add(s)
	}
	set.sort()
	return set
}

func (set *Set) add(s *Spec) {
	set.Specs = append(set.Specs, s)
	set.byID[s.ID] = s
}

func (set *Set) sort() {
	sort.Slice(set.Specs, func(i, j int) bool { return NaturalLess(set.Specs[i].ID, set.Specs[j].ID) })
}

// Get returns the spec with exactly this ID, or nil.
func (set *Set) Get(id string) *Spec { return set.byID[id] }

// Validate checks what no single file can: that every dependency exists and
// that there is no cycle. Each problem names the spec file and line.
func (set *Set) Validate() error {
	var errs Errors
	errs = append(errs, set.Invalid...)
	for _, s := range set.Specs {
		for _, dep := range s.DependsOn {
			if set.byID[dep] == nil {
				errs = append(errs, &Error{Path: s.Path, Line: s.keyLine("depends_on"),
					Msg: fmt.Sprintf("depends_on: %s does not exist", dep)})
			}
		}
	}
	for _, cycle := range set.cycles() {
		names := make([]string, len(cycle))
		for i, s := range cycle {
			names[i] = s.ID
		}
		errs = append(errs, &Error{Path: cycle[0].Path, Line: cycle[0].keyLine("depends_on"),
			Msg: "dependency cycle: " + strings.Join(names, " → ") + " (" + cyclePaths(cycle) + ")"})
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

func cyclePaths(cycle []*Spec) string {
	seen := map[string]bool{}
	var paths []string
	for _, s := range cycle {
		if !seen[s.Path] {
			seen[s.Path] = true
			paths = append(paths, s.Path)
		}
	}
	return strings.Join(paths, ", ")
}

// cycles returns each dependency cycle once, as a path that starts and ends
// at the same spec.
func (set *Set) cycles() [][]*Spec {
	const (
		unvisited = iota
		onStack
		done
	)
	state := map[string]int{}
	var stack []*Spec
	var out [][]*Spec
	var visit func(s *Spec)
	visit = func(s *Spec) {
		state[s.ID] = onStack
		stack = append(stack, s)
		for _, dep := range s.DependsOn {
			d := set.byID[dep]
			if d == nil {
				continue
			}
			switch state[d.ID] {
			case unvisited:
				visit(d)
			case onStack:
				i := len(stack) - 1
				for stack[i] != d {
					i--
				}
				// Print in the direction of "runs before": d ... s → d.
				cyc := []*Spec{}
				for j := i; j < len(stack); j++ {
					cyc = append(cyc, stack[j])
				}
				out = append(out, append(cyc, d))
			}
		}
		stack = stack[:len(stack)-1]
		state[s.ID] = done
	}
	for _, s := range set.Specs {
		if state[s.ID] == unvisited {
			visit(s)
		}
	}
	return out
}

// Order returns the specs in dependency order: every spec after the specs
// it depends on, ties broken by natural ID order. Specs in a cycle come
// last, in ID order.
func (set *Set) Order() []*Spec {
	indeg := map[string]int{}
	dependents := map[string][]*Spec{}
	for _, s := range set.Specs {
		for _, dep := range uniq(s.DependsOn) {
			if set.byID[dep] != nil && dep != s.ID {
				indeg[s.ID]++
				dependents[dep] = append(dependents[dep], s)
			}
		}
	}
	var ready, out []*Spec
	for _, s := range set.Specs {
		if indeg[s.ID] == 0 {
			ready = append(ready, s)
		}
	}
	placed := map[string]bool{}
	for len(ready) > 0 {
		sort.Slice(ready, func(i, j int) bool { return NaturalLess(ready[i].ID, ready[j].ID) })
		s := ready[0]
		ready = ready[1:]
		out = append(out, s)
		placed[s.ID] = true
		for _, d := range dependents[s.ID] {
			if indeg[d.ID]--; indeg[d.ID] == 0 {
				ready = append(ready, d)
			}
		}
	}
	for _, s := range set.Specs {
		if !placed[s.ID] {
			out = append(out, s)
		}
	}
	return out
}

func uniq(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// keyLine returns the file line of a top-level frontmatter key, or 0.
func (s *Spec) keyLine(key string) int {
	if i := findKey(s.fm, key); i >= 0 {
		return s.fm.Content[i].Line + s.layout.yamlOffset
	}
	return 0
}
