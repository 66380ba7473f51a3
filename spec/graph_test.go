package spec

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chant-run/chant/internal/specgen"
)

func mustParse(t *testing.T, id, src string) *Spec {
	t.Helper()
	s, err := Parse(".chant/specs/"+id+".md", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func specWith(t *testing.T, id, status string, deps ...string) *Spec {
	fm := "---\nstatus: " + status + "\n"
	if len(deps) > 0 {
		fm += "depends_on: [" + strings.Join(deps, ", ") + "]\n"
	}
	return mustParse(t, id, fm+"---\n# "+id+"\n\n## Acceptance Criteria\n\n- [ ] done\n")
}

func TestOrder(t *testing.T) {
	set := NewSet(
		specWith(t, "d", StatusCompleted, "b"),
		specWith(t, "c", StatusPending, "a", "b"),
		specWith(t, "b", StatusCompleted),
		specWith(t, "a", StatusFailed),
		specWith(t, "e", StatusPending, "d"),
	)
	var order []string
	for _, s := range set.Order() {
		order = append(order, s.ID)
	}
	if got := strings.Join(order, " "); got != "a b c d e" {
		t.Errorf("order = %s", got)
	}
}

func TestOrderIsDependencyOrderNotIDOrder(t *testing.T) {
	set := NewSet(specWith(t, "1-first", StatusPending, "3-third"), specWith(t, "2-second", StatusPending), specWith(t, "3-third", StatusPending, "2-second"))
	var order []string
	for _, s := range set.Order() {
		order = append(order, s.ID)
	}
	if got := strings.Join(order, " "); got != "2-second 3-third 1-first" {
		t.Errorf("order = %s", got)
	}
}

func TestValidateNamesFiles(t *testing.T) {
	set := NewSet(specWith(t, "a", StatusPending, "b"), specWith(t, "b", StatusPending, "c"), specWith(t, "c", StatusPending, "a"),
		specWith(t, "d", StatusPending, "missing"))
	err := set.Validate()
	var list Errors
	if !errors.As(err, &list) || len(list) != 2 {
		t.Fatalf("Validate = %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		".chant/specs/d.md:3:14: depends_on: missing does not exist",
		".chant/specs/a.md:3:1: dependency cycle: a → b → c → a (.chant/specs/a.md, .chant/specs/b.md, .chant/specs/c.md)",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("Validate error lacks %q:\n%s", want, msg)
		}
	}
	self := NewSet(specWith(t, "s", StatusPending, "s"))
	if err := self.Validate(); err == nil || !strings.Contains(err.Error(), "dependency cycle: s → s") {
		t.Errorf("self-dependency: %v", err)
	}
}

func TestResolve(t *testing.T) {
	set := NewSet(specWith(t, "001-comprehension", StatusPending), specWith(t, "006-upstream-pr", StatusPending),
		specWith(t, "2026-01-22-001-x7m", StatusPending), specWith(t, "2026-01-22-002-abc", StatusPending), specWith(t, "pr", StatusPending))
	for in, want := range map[string]string{
		"006": "006-upstream-pr", "006-upstream-pr": "006-upstream-pr", "x7m": "2026-01-22-001-x7m",
		"upstream": "006-upstream-pr", "pr": "pr", "compre": "001-comprehension",
		"2026": "ambiguous: \"2026\" matches 2026-01-22-001-x7m, 2026-01-22-002-abc",
		"nope": "no spec matches \"nope\"", "": "no spec matches \"\"",
	} {
		s, err := set.Resolve(in)
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			got = s.ID
		}
		if got != want {
			t.Errorf("Resolve(%q) = %q, want %q", in, got, want)
		}
	}
	if _, err := set.Resolve("2026-01"); !errors.Is(err, ErrAmbiguous) {
		t.Errorf("ambiguous error is not ErrAmbiguous: %v", err)
	}
}

// TestCyclesOfRandomGraphs: Cycles finds a cycle exactly when there is
// one (a brute-force search says), self-dependencies and members'
// implied edges included, whatever Order found first.
func TestCyclesOfRandomGraphs(t *testing.T) {
	ids := []string{"a", "b", "c", "d", "d.1", "d.2", "e"}
	for seed := 0; seed < 2000; seed++ {
		rng := seed
		next := func(n int) int { rng = (rng*1103515245 + 12345) & 0x7fffffff; return rng % n }
		var specs []*Spec
		for _, id := range ids {
			var deps []string
			for k := next(3); k > 0; k-- {
				deps = append(deps, ids[next(len(ids))])
			}
			specs = append(specs, specWith(t, id, StatusPending, uniq(deps)...))
		}
		set := NewSet(specs...)
		// Brute force: a spec reaches itself through Edges.
		reaches := func(from string) bool {
			seen := map[string]bool{}
			stack := append([]string{}, set.Edges(set.Get(from))...)
			for len(stack) > 0 {
				id := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				if id == from {
					return true
				}
				if seen[id] || set.Get(id) == nil {
					continue
				}
				seen[id] = true
				stack = append(stack, set.Edges(set.Get(id))...)
			}
			return false
		}
		want := false
		for _, id := range ids {
			want = want || reaches(id)
		}
		if got := len(set.Cycles()) > 0; got != want {
			t.Fatalf("seed %d: cycles found %v, want %v", seed, got, want)
		}
	}
}

// A spec's problems are placed with one decode of its frontmatter, however
// many there are: each decoded it again (and scanned its whole list), so
// 4,000 unknown dependencies took 43 s.
func TestProblemsDecodeEachSpecOnce(t *testing.T) {
	const n = 2000
	var b strings.Builder
	b.WriteString("---\ndepends_on:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - missing-%04d\n", i)
	}
	b.WriteString("---\n# Many\n\n## Acceptance Criteria\n\n- [ ] x\n")
	s := mustParse(t, "many", b.String())
	set := NewSet(s)
	before := nodeDecodes.Load()
	problems := set.Problems()
	if d := nodeDecodes.Load() - before; d != 1 {
		t.Errorf("%d decodes of the frontmatter for %d problems, want 1", d, len(problems))
	}
	if len(problems) != n {
		t.Fatalf("%d problems, want %d", len(problems), n)
	}
	for i, p := range problems {
		if want := fmt.Sprintf("depends_on: missing-%04d does not exist", i); p.Message != want || p.Line != i+3 || p.Col != 5 {
			t.Fatalf("problem %d: %+v, want %q at line %d column 5", i, p, want, i+3)
		}
	}
}

// A listed spec (its text dropped) places its problems from one read and
// one decode of its file: the layout read again with the text is all it
// needs (a whole parse of it again was most of placing 10,000 listed
// specs' problems), and its frontmatter is not decoded a second time.
func TestListedSpecPlacesProblemsFromOneDecode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "late.md")
	text := "---\ntype: code\ndepends_on:\n  - missing-a\n  - missing-b\n---\n# Late\n\n## Acceptance Criteria\n\n- [ ] x\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	s := mustParse(t, "late", text)
	s.Listed(path)
	set := NewSet(s)
	before := nodeDecodes.Load()
	problems := set.Problems()
	if d := nodeDecodes.Load() - before; d != 0 {
		t.Errorf("the frontmatter decoded %d more times after the file was read", d)
	}
	if len(problems) != 2 || problems[0].Line != 4 || problems[0].Col != 5 || problems[1].Line != 5 {
		t.Fatalf("problems: %+v", problems)
	}
	// Taken by the placing, the decoded frontmatter is not shared: a
	// second look decodes it anew (Reviewed changes the one it gets).
	if got := set.Problems(); len(got) != 2 || got[1].Line != 5 {
		t.Fatalf("problems the second time: %+v", got)
	}
}

// TestClosureAgreesWithTheWholeSet: for random sets (specgen.Tangled:
// missing and cancelled dependencies, cycles, drivers and members, the
// archive and duplicate IDs, files that do not parse), the closure of each spec finds, for every
// spec in it, the problems and the order the whole set finds.
func TestClosureAgreesWithTheWholeSet(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for round := range 300 {
		specs, archived := specgen.Tangled(rng)
		var results []Parsed
		for _, id := range specgen.TangledIDs {
			if src, ok := specs[id]; ok {
				s, err := Parse(".chant/specs/"+id+".md", []byte(src))
				results = append(results, Parsed{s, err})
			}
			if src, ok := archived[id]; ok {
				d, err := Parse(".chant/archive/"+id+".md", []byte(src))
				d.Archived = true
				results = append(results, Parsed{d, err})
			}
		}
		set := Assemble(results, nil)
		for _, s := range set.Specs {
			sub := set.Closure([]string{s.ID})
			if sub.Get(s.ID) == nil {
				t.Fatalf("round %d: %s not in its own closure", round, s.ID)
			}
			in := map[string]bool{}
			for _, x := range sub.Specs {
				in[x.Path] = true
			}
			var want, got []string
			for _, p := range set.Problems() {
				if in[p.Path] || sub.Get(IDFromPath(p.Path)) != nil {
					want = append(want, fmt.Sprint(p))
				}
			}
			for _, p := range sub.Problems() {
				got = append(got, fmt.Sprint(p))
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("round %d, closure of %s: problems\n%s\nwant\n%s", round, s.ID, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			var order, subOrder []string
			for _, x := range set.Order() {
				if sub.Get(x.ID) != nil {
					order = append(order, x.ID)
				}
			}
			for _, x := range sub.Order() {
				subOrder = append(subOrder, x.ID)
			}
			if fmt.Sprint(order) != fmt.Sprint(subOrder) {
				t.Fatalf("round %d, closure of %s: order %v, want %v", round, s.ID, subOrder, order)
			}
		}
	}
}
