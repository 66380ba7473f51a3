package store

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chant-run/chant/internal/safefs"
	"github.com/chant-run/chant/internal/testgit"
	"github.com/chant-run/chant/spec"
)

// cacheSpecs are files of every shape a listing meets: valid, gated,
// with checks, invalid in several ways at once, without frontmatter,
// after a BOM, unterminated, archived.
var cacheSpecs = map[string]string{
	"001": "---\ntype: code\nstatus: completed\ntarget_files: [a.go]\ncommits: [abc1234]\ncompleted_at: 2026-01-02T03:04:05Z\n---\n# One\n\nSome text.\n\n## Acceptance Criteria\n\n- [x] done\n- [ ] not done\n",
	"002": "---\ntype: task\nstatus: pending\ndepends_on: [001]\napproval:\n  required: true\n  status: rejected\n  by: ann\n  at: 2026-01-01\nchecks:\n  - run: go test ./...\n    expect: fail\n    timeout: 1m\nlabels: [x, y]\n---\n# Two\n\n## Acceptance Criteria\n\n- [ ] a `code` criterion\n",
	"003": "---\ntype: bogus\nstatus: nope\ndepends_on: [404]\ntarget_files: [../out.go]\n---\nno title here\n",
	"004": "just a body, no frontmatter\n",
	"005": "\ufeff---\nstatus: failed\nverification_failures: [check 1 failed]\n---\n# Five\n",
	"006": "---\nstatus: pending\n# never closed\n",
	"007": "---\nstatus: [not, a, string]\nunknown_key: 1\n---\n# Seven\n",
}

// cacheWorkspace makes a git repository with cacheSpecs, and one archived
// spec, every file old enough to be cached.
func cacheWorkspace(t *testing.T) *spec.Workspace {
	t.Helper()
	w := gitWorkspace(t, cacheSpecs)
	arch := filepath.Join(w.ChantDir, spec.ArchiveDir, "2026-01-01")
	if err := os.MkdirAll(arch, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(arch, "000.md"), []byte("---\nstatus: completed\ndepends_on: [gone]\n---\n# Zero\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return w
}

// noRacyWindow caches files however recent (ctime cannot be set back).
func noRacyWindow(t *testing.T) {
	old := racyWindow
	racyWindow = 0
	t.Cleanup(func() { racyWindow = old })
}

// countParsed records which files listings parse.
func countParsed(t *testing.T) func() []string {
	var mu sync.Mutex
	var parsed []string
	parsedHook = func(p string) {
		mu.Lock()
		parsed = append(parsed, filepath.Base(p))
		mu.Unlock()
	}
	t.Cleanup(func() { parsedHook = nil })
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := parsed
		parsed = nil
		sort.Strings(out)
		return out
	}
}

// describeSet renders everything a command can learn from a set.
func describeSet(set *spec.Set) string {
	var b strings.Builder
	for _, s := range set.Specs {
		fmt.Fprintf(&b, "%s %s type=%s status=%s deps=%q labels=%q targets=%q ctx=%q informed=%q commits=%q members=%q failures=%q prompt=%q model=%q completed=%q vs=%q lv=%q title=%q archived=%v\n",
			s.ID, s.Path, s.Type, s.Status, s.DependsOn, s.Labels, s.TargetFiles, s.Context, s.InformedBy, s.Commits,
			s.Members, s.VerificationFailures, s.Prompt, s.Model, s.CompletedAt, s.VerificationStatus, s.LastVerified, s.Title, s.Archived)
		if s.Approval != nil {
			fmt.Fprintf(&b, "  approval %+v\n", *s.Approval)
		}
		fmt.Fprintf(&b, "  checks %+v\n  criteria %+v\n  unchecked %d\n", s.Checks, s.Criteria(), len(s.Unchecked()))
		fmt.Fprintf(&b, "  body %q\n  bytes %q\n", s.Body(), s.Bytes())
		for _, k := range []string{"status", "depends_on", "target_files", "approval"} {
			fmt.Fprintf(&b, "  line %s %d\n", k, s.KeyLine(k))
		}
	}
	for _, err := range set.Invalid {
		fmt.Fprintf(&b, "invalid: %v\n", err)
	}
	for _, p := range set.Problems() {
		fmt.Fprintf(&b, "problem: %+v\n", p)
	}
	return b.String()
}

func TestListAgreesWithLoad(t *testing.T) {
	noRacyWindow(t)
	w := cacheWorkspace(t)
	parsed := countParsed(t)
	loaded, err := w.Load()
	if err != nil {
		t.Fatal(err)
	}
	want := describeSet(loaded)
	parsed() // Load never counts: it does not use the cache
	for i, what := range []string{"first listing", "from the cache"} {
		listed, err := List(w)
		if err != nil {
			t.Fatal(err)
		}
		if got := describeSet(listed); got != want {
			t.Errorf("%s differs from Load:\n--- List\n%s\n--- Load\n%s", what, got, want)
		}
		n := len(parsed())
		if i == 0 && n != len(cacheSpecs)+1 {
			t.Errorf("first listing parsed %d files, want all %d", n, len(cacheSpecs)+1)
		}
		if i == 1 && n != 0 {
			t.Errorf("second listing parsed %d files, want none", n)
		}
	}
}

func TestListSeesEveryChange(t *testing.T) {
	noRacyWindow(t)
	w := cacheWorkspace(t)
	parsed := countParsed(t)
	list := func() *spec.Set {
		t.Helper()
		set, err := List(w)
		if err != nil {
			t.Fatal(err)
		}
		return set
	}
	list()
	parsed()

	// Same size, other content: the stat data (ctime) still tells.
	p := filepath.Join(w.SpecsDir, "001.md")
	data, _ := os.ReadFile(p)
	edited := bytes.Replace(data, []byte("status: completed"), []byte("status: cancelled"), 1)
	if len(edited) != len(data) {
		t.Fatal("edit changed the size")
	}
	fi, _ := os.Stat(p)
	if err := os.WriteFile(p, edited, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(p, fi.ModTime(), fi.ModTime()) // as a tool that keeps mtimes would
	if got := list().Get("001").Status; got != spec.StatusCancelled {
		t.Errorf("edited spec listed with status %q", got)
	}
	if got := parsed(); fmt.Sprint(got) != "[001.md]" {
		t.Errorf("after one edit, parsed %v", got)
	}

	// Deleted, added, replaced by a link.
	os.Remove(filepath.Join(w.SpecsDir, "004.md"))
	os.WriteFile(filepath.Join(w.SpecsDir, "008.md"), []byte("---\nstatus: pending\n---\n# Eight\n"), 0o644)
	os.Remove(filepath.Join(w.SpecsDir, "005.md"))
	os.Symlink("001.md", filepath.Join(w.SpecsDir, "005.md"))
	set := list()
	if set.Get("004") != nil || set.Get("008") == nil || set.Get("008").Title != "Eight" {
		t.Errorf("deleted or added spec missed: 004=%v 008=%v", set.Get("004"), set.Get("008"))
	}
	if s := set.Get("005"); s == nil || s.Title == "Five" || s.Title == "One" {
		t.Errorf("a link in a spec's place must be listed as broken, not as its old or linked content: %+v", s)
	}
	loaded, _ := w.Load()
	if describeSet(set) != describeSet(loaded) {
		t.Errorf("after changes, List and Load differ:\n%s\n---\n%s", describeSet(set), describeSet(loaded))
	}
}

func TestListRereadsRecentFiles(t *testing.T) {
	// The real racy window: a file written just now is never cached, so
	// a second change within the same tick cannot go unseen.
	w := cacheWorkspace(t)
	parsed := countParsed(t)
	for range 2 {
		if _, err := List(w); err != nil {
			t.Fatal(err)
		}
		if got := len(parsed()); got != len(cacheSpecs)+1 {
			t.Errorf("files written within %v parsed %d times of %d", racyWindow, got, len(cacheSpecs)+1)
		}
	}
	// Once old enough, they are.
	noRacyWindow(t)
	List(w)
	parsed()
	List(w)
	if got := parsed(); len(got) != 0 {
		t.Errorf("old files parsed again: %v", got)
	}
}

func TestListCacheDiscarded(t *testing.T) {
	noRacyWindow(t)
	cases := map[string]func(t *testing.T, w *spec.Workspace, cache string){
		"other chant build": func(t *testing.T, w *spec.Workspace, cache string) {
			old := executableID
			executableID = func() string { return "another build" }
			t.Cleanup(func() { executableID = old })
		},
		"garbage": func(t *testing.T, w *spec.Workspace, cache string) {
			os.WriteFile(cache, []byte("\x00\x01garbage"), 0o644)
		},
		"truncated": func(t *testing.T, w *spec.Workspace, cache string) {
			data, _ := os.ReadFile(cache)
			os.WriteFile(cache, data[:len(data)/2], 0o644)
		},
		"symbolic link": func(t *testing.T, w *spec.Workspace, cache string) {
			elsewhere := filepath.Join(t.TempDir(), "specs")
			os.Rename(cache, elsewhere)
			os.Symlink(elsewhere, cache)
			t.Cleanup(func() {
				fi, err := os.Lstat(cache)
				if err != nil || !fi.Mode().IsRegular() {
					t.Errorf("the link was not replaced by chant's own file: %v %v", fi, err)
				}
			})
		},
	}
	for name, spoil := range cases {
		t.Run(name, func(t *testing.T) {
			w := cacheWorkspace(t)
			parsed := countParsed(t)
			if _, err := List(w); err != nil {
				t.Fatal(err)
			}
			parsed()
			cache := filepath.Join(w.StateDir(), "cache", "specs")
			if _, err := os.Stat(cache); err != nil {
				t.Fatalf("no cache written: %v", err)
			}
			spoil(t, w, cache)
			set, err := List(w)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(parsed()); got != len(cacheSpecs)+1 {
				t.Errorf("with the cache spoiled, parsed %d files, want all", got)
			}
			loaded, _ := w.Load()
			if describeSet(set) != describeSet(loaded) {
				t.Error("List and Load differ")
			}
		})
	}
}

func TestListWithoutGitKeepsNoCache(t *testing.T) {
	w := newWorkspace(t, cacheSpecs)
	if _, err := List(w); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(w.ChantDir, "cache")); !os.IsNotExist(err) {
		t.Errorf("a cache was written into .chant: %v", err)
	}
	_ = time.Now
}

func TestReloaderReadsOnlyWhatChanged(t *testing.T) {
	for _, follow := range []bool{true, false} {
		t.Run(fmt.Sprintf("follow=%v", follow), func(t *testing.T) {
			old := followFiles
			followFiles = follow
			t.Cleanup(func() { followFiles = old })
			watchEvenFew(t)
			reloaderReadsOnlyWhatChanged(t, follow)
		})
	}
}

func reloaderReadsOnlyWhatChanged(t *testing.T, follow bool) {
	noRacyWindow(t)
	w := cacheWorkspace(t)
	parsed := countParsed(t)
	r := NewReloader(w)
	defer r.Close()
	first, err := r.Load()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(parsed()); n != len(cacheSpecs)+1 {
		t.Fatalf("first load parsed %d files, want all %d", n, len(cacheSpecs)+1)
	}
	if again, _ := r.Load(); follow && again != first {
		t.Error("with nothing changed, a new set")
	}
	// Edit one spec as chant does (a new file renamed over the old).
	p := filepath.Join(w.SpecsDir, "002.md")
	data, _ := os.ReadFile(p)
	if err := safefs.WriteFileAtomic(p, bytes.Replace(data, []byte("status: pending"), []byte("status: in_progress"), 1)); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(w.SpecsDir, "004.md"))
	second, err := r.Load()
	if err != nil {
		t.Fatal(err)
	}
	if got := parsed(); fmt.Sprint(got) != "[002.md]" {
		t.Errorf("second load parsed %v, want only the edited file", got)
	}
	if second.Get("002").Status != spec.StatusInProgress || second.Get("004") != nil {
		t.Errorf("second load missed a change: 002 %q, 004 %v", second.Get("002").Status, second.Get("004"))
	}
	if second.Get("001") != first.Get("001") {
		t.Error("an unchanged spec was not reused")
	}
	loaded, _ := w.Load()
	if describeSet(second) != describeSet(loaded) {
		t.Errorf("Reloader and Load differ:\n%s\n---\n%s", describeSet(second), describeSet(loaded))
	}
	// An edit in place, as an editor may make it.
	if err := os.WriteFile(filepath.Join(w.SpecsDir, "001.md"), []byte("---\nstatus: failed\n---\n# One again\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if third, _ := r.Load(); third.Get("001").Title != "One again" {
		t.Errorf("an edit in place was missed: %q", third.Get("001").Title)
	}
	parsed()
	// A file changed within the racy window: stat data cannot tell that
	// it is unchanged, so it is read again every time; events can.
	racyWindow = time.Hour
	os.WriteFile(filepath.Join(w.SpecsDir, "009.md"), []byte("---\nstatus: pending\n---\n# Nine\n"), 0o644)
	r.Load()
	parsed()
	r.Load()
	want := "[009.md]"
	if follow {
		want = "[]"
	}
	if got := parsed(); fmt.Sprint(got) != want {
		t.Errorf("with every file recent, parsed %v; want %s", got, want)
	}
}

// A run's first load takes what the last listing kept, reading only what
// changed since, and leaves the cache for the next listing: one phase in a
// workspace of many specs does not parse them all.
func TestReloaderStartsFromTheListingCache(t *testing.T) {
	noRacyWindow(t)
	w := cacheWorkspace(t)
	parsed := countParsed(t)
	if _, err := List(w); err != nil {
		t.Fatal(err)
	}
	parsed()
	p := filepath.Join(w.SpecsDir, "002.md")
	data, _ := os.ReadFile(p)
	if err := safefs.WriteFileAtomic(p, bytes.Replace(data, []byte("status: pending"), []byte("status: in_progress"), 1)); err != nil {
		t.Fatal(err)
	}
	r := NewReloader(w)
	defer r.Close()
	set, err := r.Load()
	if err != nil {
		t.Fatal(err)
	}
	if got := parsed(); fmt.Sprint(got) != "[002.md]" {
		t.Errorf("a run's first load after a listing parsed %v, want only the file changed since", got)
	}
	loaded, _ := w.Load()
	if describeSet(set) != describeSet(loaded) {
		t.Errorf("Reloader from the cache and Load differ:\n%s\n---\n%s", describeSet(set), describeSet(loaded))
	}
	// What the run's load read is in the cache for the next listing.
	if _, err := List(w); err != nil {
		t.Fatal(err)
	}
	if got := parsed(); len(got) != 0 {
		t.Errorf("the listing after a run parsed %v, want none", got)
	}
	// Without a listing before it, a run's first load parses every file
	// and leaves the cache.
	os.RemoveAll(filepath.Join(w.StateDir(), "cache"))
	r2 := NewReloader(w)
	defer r2.Close()
	if _, err := r2.Load(); err != nil {
		t.Fatal(err)
	}
	if n := len(parsed()); n != len(cacheSpecs)+1 {
		t.Errorf("a first load without a cache parsed %d files, want all %d", n, len(cacheSpecs)+1)
	}
	if _, err := List(w); err != nil {
		t.Fatal(err)
	}
	if got := parsed(); len(got) != 0 {
		t.Errorf("the listing after a run without a cache parsed %v, want none", got)
	}
}

// TestReloaderFollowsEveryChange makes random changes of every kind to a
// workspace (edits in place and by rename, new and removed files, files
// turned into directories and links, archive directories made and
// removed, the specs directory moved away and back) and checks after each
// that a Reloader gives what a fresh load gives.
func TestReloaderFollowsEveryChange(t *testing.T) {
	noRacyWindow(t)
	watchEvenFew(t)
	w := cacheWorkspace(t)
	r := NewReloader(w)
	defer r.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	name := func() string { return fmt.Sprintf("%03d.md", rng.IntN(12)) }
	body := func() string {
		return fmt.Sprintf("---\nstatus: %s\ndepends_on: [%03d]\n---\n# T%d\n", []string{"pending", "completed", "bogus"}[rng.IntN(3)], rng.IntN(12), rng.IntN(1000))
	}
	arch := filepath.Join(w.ChantDir, spec.ArchiveDir)
	ops := []func() string{
		func() string {
			p := filepath.Join(w.SpecsDir, name())
			os.WriteFile(p, []byte(body()), 0o644)
			return "write " + p
		},
		func() string {
			p := filepath.Join(w.SpecsDir, name())
			safefs.WriteFileAtomic(p, []byte(body()))
			return "replace " + p
		},
		func() string { p := filepath.Join(w.SpecsDir, name()); os.RemoveAll(p); return "remove " + p },
		func() string {
			a, b := filepath.Join(w.SpecsDir, name()), filepath.Join(w.SpecsDir, name())
			os.Rename(a, b)
			return "rename " + a + " " + b
		},
		func() string {
			p := filepath.Join(w.SpecsDir, name())
			os.RemoveAll(p)
			os.Mkdir(p, 0o755)
			return "dir " + p
		},
		func() string {
			p := filepath.Join(w.SpecsDir, name())
			os.RemoveAll(p)
			os.Symlink("001.md", p)
			return "link " + p
		},
		func() string {
			d := filepath.Join(arch, fmt.Sprintf("2026-0%d", rng.IntN(3)+1))
			os.MkdirAll(d, 0o755)
			os.WriteFile(filepath.Join(d, name()), []byte(body()), 0o644)
			return "archive " + d
		},
		func() string { os.RemoveAll(arch); return "remove the archive" },
		func() string {
			os.Rename(w.SpecsDir, w.SpecsDir+".away")
			os.Rename(w.SpecsDir+".away", w.SpecsDir)
			return "specs moved away and back"
		},
		func() string {
			p := filepath.Join(w.SpecsDir, name())
			os.Chmod(p, 0o000)
			return "unreadable " + p
		},
		func() string {
			p := filepath.Join(w.SpecsDir, name())
			os.Chmod(p, 0o644)
			return "readable " + p
		},
	}
	ops = append(ops, ops[0], ops[1], ops[0], ops[1]) // edits most often, as in a run
	var done []string
	for i := 0; i < 400; i++ {
		for n := rng.IntN(3) + 1; n > 0; n-- {
			done = append(done, ops[rng.IntN(len(ops))]())
		}
		got, err := r.Load()
		want, werr := w.Load()
		if (err == nil) != (werr == nil) {
			t.Fatalf("after %v: Reloader: %v, Load: %v", done, err, werr)
		}
		if err != nil {
			continue
		}
		if describeSet(got) != describeSet(want) || fmt.Sprint(got.Invalid) != fmt.Sprint(want.Invalid) {
			t.Fatalf("after %v: Reloader and Load differ:\n%s%v\n---\n%s%v", done, describeSet(got), got.Invalid, describeSet(want), want.Invalid)
		}
		done = done[:0]
	}
}

// newWorkspace makes a workspace (no repository) with specs by ID.
func newWorkspace(t *testing.T, specs map[string]string) *spec.Workspace {
	t.Helper()
	w, err := spec.OpenWorkspace(testgit.Workspace(t, specs))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// gitWorkspace is newWorkspace in a git repository, where the listing
// cache is kept.
func gitWorkspace(t *testing.T, specs map[string]string) *spec.Workspace {
	t.Helper()
	w := newWorkspace(t, specs)
	if out, err := exec.Command("git", "init", "-q", w.Root).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	return w
}

// The cache is written again only once enough of its files had to be
// parsed: a command that changed one spec of many (a run) does not write
// the whole cache for it, and the next listing parses that file again.
func TestListCacheWrittenOnceEnoughChanged(t *testing.T) {
	noRacyWindow(t)
	specs := map[string]string{}
	for i := range 2 * saveFraction {
		specs[fmt.Sprintf("s%03d", i)] = fmt.Sprintf("---\nstatus: pending\n---\n# Spec %d\n", i)
	}
	w := gitWorkspace(t, specs)
	parsed := countParsed(t)
	cache := filepath.Join(w.StateDir(), "cache", "specs")
	if _, err := List(w); err != nil {
		t.Fatal(err)
	}
	first, err := os.Stat(cache)
	if err != nil {
		t.Fatalf("the first listing wrote no cache: %v", err)
	}
	parsed()
	edit := func(ids ...string) {
		for _, id := range ids {
			p := filepath.Join(w.SpecsDir, id+".md")
			if err := safefs.WriteFileAtomic(p, []byte("---\nstatus: completed\n---\n# Edited "+id+"\n")); err != nil {
				t.Fatal(err)
			}
		}
	}
	edit("s000")
	for i := range 2 {
		set, err := List(w)
		if err != nil {
			t.Fatal(err)
		}
		if got := parsed(); fmt.Sprint(got) != "[s000.md]" {
			t.Errorf("listing %d after one edit parsed %v, want the edited file", i, got)
		}
		if set.Get("s000").Title != "Edited s000" {
			t.Errorf("listing %d missed the edit: %q", i, set.Get("s000").Title)
		}
		if now, _ := os.Stat(cache); !os.SameFile(first, now) {
			t.Fatalf("listing %d wrote the whole cache again for one file of %d", i, len(specs))
		}
	}
	edit("s001", "s002")
	if _, err := List(w); err != nil {
		t.Fatal(err)
	}
	if now, _ := os.Stat(cache); os.SameFile(first, now) {
		t.Errorf("with 3 files of %d parsed again, the cache was not written", len(specs))
	}
	List(w)
	if got := parsed(); len(got) != 3 {
		t.Errorf("after the cache was written, a listing parsed %v, want the 3 edited files once, then none", got)
	}
}

// A Reloader follows the directories' events only where the specs are
// many enough for it to pay (watchMin): as its own last listing found, or,
// at its first load, as the listing cache says.
func TestReloaderWatchesOnlyManySpecs(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the Reloader follows events on Linux only")
	}
	noRacyWindow(t)
	w := cacheWorkspace(t)
	listed := len(cacheSpecs) + 1
	watchEvenFew(t)
	watchMin = listed + 1
	r := NewReloader(w)
	defer r.Close()
	if _, err := r.Load(); err != nil {
		t.Fatal(err)
	}
	if r.watch != nil {
		t.Fatalf("a watch over %d specs, fewer than %d", listed, watchMin)
	}
	watchMin = listed
	if _, err := r.Load(); err != nil {
		t.Fatal(err)
	}
	if r.watch == nil {
		t.Fatalf("no watch once the last listing found %d specs", listed)
	}
	fresh := NewReloader(w)
	defer fresh.Close()
	if _, err := fresh.Load(); err != nil {
		t.Fatal(err)
	}
	if fresh.watch == nil {
		t.Fatal("no watch at a first load, with the listing cache's specs enough")
	}
}

// watchEvenFew makes Reloaders follow events however few the specs, for
// the test.
func watchEvenFew(t *testing.T) {
	old := watchMin
	watchMin = 0
	t.Cleanup(func() { watchMin = old })
}
