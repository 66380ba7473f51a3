package spec

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chant-run/chant/internal/depgraph"
	"github.com/chant-run/chant/internal/words"
	"github.com/chant-run/chant/spec/doc"
	"gopkg.in/yaml.v3"
)

// Set is every spec of a workspace.
type Set struct {
	Specs   []*Spec // in natural ID order
	Invalid []error // files that could not be parsed, each naming its file
	byID    map[string]*Spec
	members map[string][]string // driver ID → member IDs from file names, in order

	orderOnce sync.Once
	order     []*Spec
	placed    int  // how many of order are in dependency order (the rest wait on a cycle)
	selfLoop  bool // a spec waits for itself (a cycle Order passes over)
}

// LoadDir parses every *.md file in dir. A file that does not parse is
// reported in Invalid and still listed (with what could be read), so one
// broken file never hides the others.
func LoadDir(dir string) (*Set, error) {
	paths, err := mdFiles(dir)
	if err != nil {
		return nil, err
	}
	return LoadFiles(paths, nil, nil, nil)
}

// LoadFiles parses files in parallel; those in archived are marked so, and
// display (if not nil) gives the path a spec and its errors show. Two files
// with the same ID are an error naming both; the first one read (active
// specs before archived ones) is the one used.
func LoadFiles(paths []string, archived map[string]bool, display func(string) string, cache Cache) (*Set, error) {
	results, err := ParseFiles(paths, archived, display, cache)
	if cache != nil {
		cache.Save() // its directories are closed whatever happened
	}
	if err != nil {
		return nil, err
	}
	return Assemble(results, nil), nil
}

// A Cache is what a load asks before it reads and parses each spec file,
// and tells after: package store's listing cache (of the read-only
// commands, on disk) and Reloader (of a run, in memory).
type Cache interface {
	// Lookup says what is known of the file at path (shown as name); a
	// spec it makes goes in spot, a zero Spec.
	Lookup(path, name string, spot *Spec) Known
	// Store records what parsing the file gave (k: what Lookup said), at
	// now.
	Store(path string, k Known, s *Spec, err error, now time.Time)
	// Save ends the load.
	Save()
}

// Known is what a Cache knows of a file: with Hit, the spec as it was
// (and its problems); Key is what the cache needs to store it again (nil:
// not to be stored).
type Known struct {
	Hit  bool
	Spec *Spec
	Err  error
	Key  any
}

// Parsed is what reading one spec file gave.
type Parsed struct {
	Spec *Spec
	Err  error // the file's problems (Spec holds what could be read)
}

// ParseFiles reads and parses files in parallel (through cache, if not
// nil), in the order of paths; an error is one of reading, not parsing.
func ParseFiles(paths []string, archived map[string]bool, display func(string) string, cache Cache) ([]Parsed, error) {
	p := &fileParse{paths: paths, archived: archived, display: display, cache: cache, now: time.Now(),
		out: make([]Parsed, len(paths)), io: make([]error, len(paths))}
	// This goroutine and one more for every filesPerWorker files, one per
	// processor at most: a few files take less than waking another thread.
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), (len(paths)+filesPerWorker-1)/filesPerWorker) - 1 {
		wg.Go(p.work)
	}
	p.work()
	wg.Wait()
	for _, err := range p.io {
		if err != nil {
			return nil, err
		}
	}
	return p.out, nil
}

const filesPerWorker = 32

// fileParse is one ParseFiles: its workers take the next path in turn.
type fileParse struct {
	paths    []string
	archived map[string]bool
	display  func(string) string
	cache    Cache
	now      time.Time
	next     atomic.Int64
	out      []Parsed
	io       []error
}

func (p *fileParse) work() {
	// Specs side by side in slabs: kept for the whole command among what
	// parsing leaves, one by one they would fragment the heap.
	var slab []Spec
	for i := int(p.next.Add(1) - 1); i < len(p.paths); i = int(p.next.Add(1) - 1) {
		if len(slab) == 0 {
			slab = make([]Spec, min(128, len(p.paths)-i))
		}
		p.out[i], p.io[i] = p.one(p.paths[i], &slab[0])
		slab = slab[1:]
	}
}

// one reads and parses the file at path into spot.
func (p *fileParse) one(path string, spot *Spec) (Parsed, error) {
	name := path
	if p.display != nil {
		name = p.display(name)
	}
	var known Known
	if p.cache != nil {
		if known = p.cache.Lookup(path, name, spot); known.Hit {
			known.Spec.Archived = p.archived[path]
			return Parsed{known.Spec, known.Err}, nil
		}
	}
	src, err := readSpecFile(path)
	var located *Error
	if errors.As(err, &located) {
		// Listed (so that lint and status name it) but unreadable.
		located.Path = name
		return Parsed{&Spec{ID: IDFromPath(name), Path: name, Fields: Fields{Type: "code", Status: StatusPending}, broken: true}, located}, nil
	}
	if err != nil {
		return Parsed{}, err
	}
	s, err := parseInto(spot, name, src)
	if known.Key != nil {
		p.cache.Store(path, known, s, err, p.now)
	}
	s.Archived = p.archived[path]
	return Parsed{s, err}, nil
}

// Assemble builds a Set of parsed files. With like, a set of the same
// IDs, the specs take its order rather than being sorted again.
func Assemble(results []Parsed, like *Set) *Set {
	set := &Set{byID: make(map[string]*Spec, len(results))}
	for _, r := range results {
		if first := set.byID[r.Spec.ID]; first != nil {
			set.Invalid = append(set.Invalid, &duplicateError{&Error{Path: r.Spec.Path, Line: 1, Col: 1,
				Msg: fmt.Sprintf("duplicate spec ID %s: also %s", r.Spec.ID, first.Path)}})
			continue
		}
		if r.Err != nil {
			set.Invalid = append(set.Invalid, r.Err)
		}
		set.add(r.Spec)
	}
	if like != nil && len(like.Specs) == len(set.Specs) {
		specs := make([]*Spec, 0, len(set.Specs))
		for _, s := range like.Specs {
			if s := set.byID[s.ID]; s != nil {
				specs = append(specs, s)
			}
		}
		if len(specs) == len(set.Specs) {
			set.Specs, set.members = specs, like.members
			return set
		}
	}
	set.sort()
	return set
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

// sort orders the specs and indexes drivers' members; it ends every
// construction of a Set.
func (set *Set) sort() {
	sort.Slice(set.Specs, func(i, j int) bool { return words.NaturalLess(set.Specs[i].ID, set.Specs[j].ID) })
	set.members = map[string][]string{}
	for _, s := range set.Specs {
		if d := DriverOf(s.ID); d != "" {
			set.members[d] = append(set.members[d], s.ID)
		}
	}
}

// Closure is the set of the specs ids stand on: each of them, what each
// depends on, names as members or follows (a member's driver and prior
// siblings), and so on, with the problems of their files (a duplicate of
// one of their IDs included). A spec's problems, dependencies, order and
// state within it are what they are in set, since all it refers to is in
// it: a run of named specs assesses only these.
func (set *Set) Closure(ids []string) *Set {
	in := map[string]bool{}
	todo := append([]string(nil), ids...)
	for len(todo) > 0 {
		id := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		s := set.byID[id]
		if s == nil || in[id] {
			continue
		}
		in[id] = true
		todo = append(append(todo, s.RefIDs()...), set.Edges(s)...)
	}
	sub := &Set{byID: make(map[string]*Spec, len(in))}
	paths := map[string]bool{}
	for _, s := range set.Specs {
		if in[s.ID] {
			sub.add(s)
			paths[s.Path] = true
		}
	}
	for _, err := range set.Invalid {
		var e *Error
		if !errors.As(err, &e) || paths[e.Path] || in[IDFromPath(e.Path)] {
			sub.Invalid = append(sub.Invalid, err)
		}
	}
	sub.sort()
	return sub
}

// Get returns the spec with exactly this ID, or nil.
func (set *Set) Get(id string) *Spec { return set.byID[id] }

// Validate returns every error-severity problem (see Problems) as Errors,
// each naming its file and line, or nil: what must be fixed before a run.
func (set *Set) Validate() error {
	var errs Errors
	for _, p := range set.Problems() {
		if p.Severity == SeverityError {
			errs = append(errs, &Error{Path: p.Path, Line: p.Line, Col: p.Col, Msg: p.Message})
		}
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

// Cycles returns each dependency cycle once, as a path that starts and ends
// at the same spec. What is reported of a cycle depends only on the specs
// in it (see depgraph.Cycles): a Closure reports what its set does.
func (set *Set) Cycles() [][]*Spec {
	if set.Order(); set.placed == len(set.Specs) && !set.selfLoop {
		return nil // every spec found its place: no cycle
	}
	var out [][]*Spec
	for _, cyc := range depgraph.Cycles(set.deps()) {
		specs := make([]*Spec, len(cyc))
		for i, j := range cyc {
			specs[i] = set.Specs[j]
		}
		out = append(out, specs)
	}
	return out
}

// Order returns the specs in dependency order: every spec after the specs
// it depends on, ties broken by natural ID order. Specs in a cycle come
// last, in ID order. It is computed once per set (a set does not change).
func (set *Set) Order() []*Spec {
	set.orderOnce.Do(func() { set.order = set.computeOrder() })
	return set.order
}

func (set *Set) computeOrder() []*Spec {
	order, placed, selfLoop := depgraph.Order(set.deps())
	out := make([]*Spec, len(order))
	for i, j := range order {
		out[i] = set.Specs[j]
	}
	set.placed, set.selfLoop = placed, selfLoop
	return out
}

// deps is the graph of Edges by position in Specs (natural ID order, which
// breaks ties), without edges to specs not in the set.
func (set *Set) deps() [][]int {
	pos := make(map[string]int, len(set.Specs))
	for i, s := range set.Specs {
		pos[s.ID] = i
	}
	deps := make([][]int, len(set.Specs))
	for i, s := range set.Specs {
		for _, dep := range set.Edges(s) {
			if j, ok := pos[dep]; ok {
				deps[i] = append(deps[i], j)
			}
		}
	}
	return deps
}

// Edges returns what s waits for: its dependencies (less its own driver:
// members run within their driver), the members of a driver before it,
// and, for a driver, its members.
func (set *Set) Edges(s *Spec) []string {
	driver := DriverOf(s.ID)
	var out []string
	for _, dep := range s.DependsOn {
		if dep != driver || set.byID[driver] == nil {
			out = append(out, dep)
		}
	}
	out = append(out, set.priorSiblings(s)...)
	out = append(out, set.MembersOf(s)...)
	return uniq(out)
}

// RefIDs are the specs s names (what it depends on, its members, its
// driver): with the members its driver's file name gives a driver (and so
// its prior siblings, see Edges), what Closure follows from s, whose IDs
// a listing's file names are enough to find (store's narrowed loads).
func (s *Spec) RefIDs() []string {
	return append(append(append([]string(nil), s.DependsOn...), s.Members...), DriverOf(s.ID))
}

// DriverOf returns the driver ID of a member ID ("x" for "x.2", "x.2" for
// "x.2.1"), or "" when id is not a member ID.
func DriverOf(id string) string {
	i := strings.LastIndexByte(id, '.')
	if i <= 0 || i == len(id)-1 || strings.Trim(id[i+1:], "0123456789") != "" {
		return ""
	}
	return id[:i]
}

// MembersOf returns the IDs of the members of s in order: the spec files
// named <id>.N.md, and any listed in its members: key.
func (set *Set) MembersOf(s *Spec) []string {
	if len(s.Members) == 0 {
		return set.members[s.ID]
	}
	return uniq(append(append([]string{}, set.members[s.ID]...), s.Members...))
}

// priorSiblings returns the members of the same driver numbered before s.
func (set *Set) priorSiblings(s *Spec) []string {
	driver := DriverOf(s.ID)
	if driver == "" || set.byID[driver] == nil {
		return nil
	}
	var out []string
	for _, id := range set.members[driver] {
		if words.NaturalLess(id, s.ID) {
			out = append(out, id)
		}
	}
	return out
}

func uniq(list []string) []string {
	out := make([]string, 0, len(list))
	for i, s := range list {
		if !slices.Contains(list[:i], s) {
			out = append(out, s)
		}
	}
	return out
}

// KeyLine returns the file line of a top-level frontmatter key, or 0.
func (s *Spec) KeyLine(key string) int {
	fm := s.node()
	if i := doc.FindKey(fm, key); i >= 0 {
		return fm.Content[i].Line + s.layout.YAMLOffset
	}
	return 0
}

// nodeDecodes counts node's decodes, for the tests that hold problems to
// one decode per spec.
var nodeDecodes atomic.Int64

// node returns the frontmatter's YAML mapping (nil without one), decoded
// again from the file's bytes: a spec does not keep it, since its tree of
// YAML nodes is several times the size of the file, and only problems and
// approvals need it.
func (s *Spec) node() *yaml.Node {
	if !s.layout.HasFM || s.broken {
		return nil
	}
	src := s.text()
	if fm := s.takeFrontmatter(); fm != nil {
		return fm
	}
	nodeDecodes.Add(1)
	if len(src) < s.layout.YAMLEnd {
		return nil
	}
	fm, err := doc.DecodeBlock(src[s.layout.YAMLStart:s.layout.YAMLEnd], s.layout)
	if err != nil {
		return nil
	}
	return fm
}

// duplicateError is a file whose spec ID another file has.
type duplicateError struct{ err *Error }

var errDuplicateID = errors.New("duplicate spec ID")

func (e *duplicateError) Error() string        { return e.err.Error() }
func (e *duplicateError) Is(target error) bool { return target == errDuplicateID }
func (e *duplicateError) Unwrap() error        { return e.err }
