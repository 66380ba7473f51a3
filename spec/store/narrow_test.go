package store

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/chant-run/chant/internal/specgen"
	"github.com/chant-run/chant/spec"
)

// A narrowed load holds, for random workspaces (specgen.Tangled:
// dependencies on absent specs, members by name and by key, drivers,
// specs in the archive and duplicates there, files that do not parse),
// the specs the named ones stand on: their Closure in it is the whole
// set's, problems and order included; and it reads no file beyond what
// it holds.
func TestNarrowedLoadHoldsTheClosure(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for round := range 40 {
		specs, archived := specgen.Tangled(rng)
		w := gitWorkspace(t, specs)
		arch := filepath.Join(w.ChantDir, spec.ArchiveDir, "2026-01-01")
		os.MkdirAll(arch, 0o755)
		for id, src := range archived {
			if err := os.WriteFile(filepath.Join(arch, id+".md"), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		whole, err := NewReloader(w).Load()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range whole.Specs {
			name := s.ID
			if rng.IntN(2) == 0 && len(name) > 1 {
				name = name[1:] // a partial ID, when it resolves
			}
			parsed := countParsed(t)
			r := NewReloader(w)
			r.Narrow([]string{name}, nil)
			part, err := r.Load()
			r.Close()
			if err != nil {
				t.Fatal(err)
			}
			got, want := describeClosure(part, name), describeClosure(whole, name)
			if got != want {
				t.Fatalf("round %d, %s: narrowed\n%s\nwant\n%s", round, name, got, want)
			}
			held := map[string]bool{}
			for _, x := range part.Specs {
				held[filepath.Base(x.Path)] = true
			}
			for _, p := range parsed() {
				if !held[p] {
					t.Errorf("round %d, %s: read %s, which it does not hold", round, name, p)
				}
			}
		}
	}
}

// describeClosure says what a run of the spec partial names would assess
// of set: which spec it is, its closure's specs in order and their
// problems.
func describeClosure(set *spec.Set, partial string) string {
	s, err := set.Resolve(partial)
	if err != nil {
		return "resolve: " + err.Error()
	}
	sub := set.Closure([]string{s.ID})
	var b strings.Builder
	for _, x := range sub.Order() {
		fmt.Fprintf(&b, "%s %s %s\n", x.ID, x.Path, x.Status)
	}
	for _, p := range sub.Problems() {
		fmt.Fprintf(&b, "problem %v\n", p)
	}
	return b.String()
}

// A narrowed load that parsed enough files to write the listing cache
// again keeps the entries of the files it did not read: the next listing
// parses none of them.
func TestNarrowedLoadKeepsTheCache(t *testing.T) {
	noRacyWindow(t)
	specs := map[string]string{"root": "---\ndepends_on: [s000, s001, s002]\n---\n# Root\n"}
	for i := range 2 * saveFraction {
		specs[fmt.Sprintf("s%03d", i)] = fmt.Sprintf("---\nstatus: pending\n---\n# Spec %d\n", i)
	}
	w := gitWorkspace(t, specs)
	parsed := countParsed(t)
	if _, err := List(w); err != nil {
		t.Fatal(err)
	}
	parsed()
	for _, id := range []string{"s000", "s001", "s002"} {
		if err := os.WriteFile(filepath.Join(w.SpecsDir, id+".md"), []byte("---\nstatus: completed\n---\n# Edited\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := NewReloader(w)
	r.Narrow([]string{"root"}, nil)
	set, err := r.Load()
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Specs) != 4 {
		t.Errorf("narrowed load holds %d specs, want root and its 3 dependencies", len(set.Specs))
	}
	if got := parsed(); fmt.Sprint(got) != "[s000.md s001.md s002.md]" {
		t.Errorf("narrowed load parsed %v, want the 3 edited files", got)
	}
	if _, err := List(w); err != nil {
		t.Fatal(err)
	}
	if got := parsed(); len(got) != 0 {
		t.Errorf("the listing after a narrowed load parsed %d files, want none (the cache lost them)", len(got))
	}
}

// A narrowed Reloader whose spec comes to refer to one it does not hold
// loads again: the new dependency is in the set.
func TestNarrowedReloaderFollowsNewReferences(t *testing.T) {
	watchEvenFew(t)
	w := newWorkspace(t, map[string]string{
		"a": "---\nstatus: pending\n---\n# A\n",
		"b": "---\nstatus: completed\n---\n# B\n",
		"c": "---\nstatus: completed\n---\n# C\n",
	})
	if out, err := exec.Command("git", "init", "-q", w.Root).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	r := NewReloader(w)
	defer r.Close()
	r.Narrow([]string{"a"}, []string{"c"})
	set, err := r.Load()
	if err != nil {
		t.Fatal(err)
	}
	if set.Get("a") == nil || set.Get("b") != nil || set.Get("c") == nil {
		t.Fatalf("narrowed to a (and c): holds %v", describeSet(set))
	}
	if err := os.WriteFile(filepath.Join(w.SpecsDir, "a.md"), []byte("---\nstatus: pending\ndepends_on: [b]\n---\n# A\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err = r.Load()
	if err != nil {
		t.Fatal(err)
	}
	if set.Get("b") == nil || len(set.Get("a").DependsOn) != 1 {
		t.Errorf("after a came to depend on b: holds %v", describeSet(set))
	}
}

// A narrowed Reloader follows events as a whole one does: where the last
// load listed enough files, even when the listing cache it left holds
// only the few it read.
func TestNarrowedReloaderWatchesAsTheListingWas(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the Reloader follows events on Linux only")
	}
	noRacyWindow(t)
	w := cacheWorkspace(t)
	listed := len(cacheSpecs) + 1
	watchEvenFew(t)
	watchMin = listed
	// The first, with no cache, cannot know the listing's size before it
	// lists; the cache it leaves holds 001 alone.
	first := NewReloader(w)
	first.Narrow([]string{"001"}, nil)
	if _, err := first.Load(); err != nil {
		t.Fatal(err)
	}
	first.Close()
	r := NewReloader(w)
	defer r.Close()
	r.Narrow([]string{"001"}, nil)
	if _, err := r.Load(); err != nil {
		t.Fatal(err)
	}
	if r.watch == nil {
		t.Errorf("no watch at a narrowed first load, though the last listing found %d files (watchMin %d)", listed, watchMin)
	}
}
