package gitrepo

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/chant-run/chant/internal/failpoint"
	"github.com/chant-run/chant/internal/testgit"
)

var when = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func open(t *testing.T, dir string) *Repo {
	t.Helper()
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func head(t *testing.T, r *Repo) Head {
	t.Helper()
	h, err := r.ReadHead()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func work(t *testing.T, r *Repo, path string) File {
	t.Helper()
	f, err := r.WorkFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// change sets path to content, expecting what the working tree holds now.
func change(t *testing.T, r *Repo, path, content string, mode uint32) Change {
	return Change{Path: path, Mode: mode, Data: []byte(content), Before: work(t, r, path)}
}

func TestLandCommitsExactlyItsPaths(t *testing.T) {
	dir := testgit.Repo(t, map[string]string{"a.txt": "a\n", "b.txt": "b\n", "d/e.txt": "e\n"})
	// The user's own work in progress: a staged file and an edited one.
	os.WriteFile(filepath.Join(dir, "staged.txt"), []byte("mine\n"), 0o644)
	testgit.Git(t, dir, "add", "staged.txt")
	os.WriteFile(filepath.Join(dir, "b.txt"), []byte("b, edited\n"), 0o644)

	r := open(t, dir)
	onto := head(t, r)
	hashes, err := r.Land(Landing{Onto: onto, When: when, Commits: []CommitSpec{
		{Message: "work\n", Author: &Person{"Agent", "agent@x"}, Changes: []Change{
			change(t, r, "a.txt", "a, changed\n", 0o100644),
			change(t, r, "new/dir/f.txt", "new\n", 0o100644),
			{Path: "d/e.txt", Before: work(t, r, "d/e.txt")}, // deleted
		}},
		{Message: "record\n", Changes: []Change{change(t, r, "a.txt", "a, recorded\n", 0o100755)}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(hashes) != 2 || testgit.Git(t, dir, "rev-parse", "HEAD") != hashes[1].String() {
		t.Fatalf("hashes %v, HEAD %s", hashes, testgit.Git(t, dir, "rev-parse", "HEAD"))
	}
	if got := testgit.Git(t, dir, "show", "--name-status", "--format=%an|%s", hashes[0].String()); got != "Agent|work\n\nM\ta.txt\nD\td/e.txt\nA\tnew/dir/f.txt" {
		t.Errorf("work commit:\n%s", got)
	}
	if got := testgit.Git(t, dir, "log", "-1", "--format=%ad", "--date=iso-strict"); !strings.HasPrefix(got, "2026-03-04T05:06:07") {
		t.Errorf("commit date %s", got)
	}
	if got := testgit.Git(t, dir, "ls-tree", "HEAD", "a.txt"); !strings.HasPrefix(got, "100755 blob") {
		t.Errorf("a.txt in HEAD: %s", got)
	}
	// The user's staged file is still staged, their edit still theirs,
	// and chant's paths are clean.
	if got := testgit.Git(t, dir, "status", "--porcelain"); got != "M b.txt\nA  staged.txt" {
		t.Errorf("git status:\n%s", got)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "a.txt")); string(got) != "a, recorded\n" {
		t.Errorf("a.txt is %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "d")); !os.IsNotExist(err) {
		t.Errorf("the emptied directory d is still there")
	}
	testgit.Git(t, dir, "fsck", "--strict")
	// Reflog, as git would have written it.
	if got := testgit.Git(t, dir, "reflog", "-1", "--format=%gs"); got != "chant: record" {
		t.Errorf("reflog: %q", got)
	}
}

func TestLandRefusesWhatMovedUnderIt(t *testing.T) {
	dir := testgit.Repo(t, map[string]string{"a.txt": "a\n"})
	r := open(t, dir)
	onto := head(t, r)
	c := change(t, r, "a.txt", "x\n", 0o100644)

	// The user edits the file meanwhile: refused, nothing changes.
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("user\n"), 0o644)
	_, err := r.Land(Landing{Onto: onto, When: when, Commits: []CommitSpec{{Message: "m", Changes: []Change{c}}}})
	var wt *WorkTreeError
	if !errors.As(err, &wt) || strings.Join(wt.Paths, ",") != "a.txt" {
		t.Fatalf("Land = %v, want a WorkTreeError for a.txt", err)
	}
	if head(t, r) != onto {
		t.Fatal("the branch moved")
	}
	testgit.Git(t, dir, "checkout", "a.txt")

	// Someone commits: refused, naming the commit.
	os.WriteFile(filepath.Join(dir, "other"), []byte("o\n"), 0o644)
	testgit.Git(t, dir, "add", "other")
	testgit.Git(t, dir, "-c", "user.name=U", "-c", "user.email=u@x", "commit", "-qm", "someone else")
	_, err = r.Land(Landing{Onto: onto, When: when, Commits: []CommitSpec{{Message: "m", Changes: []Change{c}}}})
	var moved *BranchMovedError
	if !errors.As(err, &moved) || moved.Subject != "someone else" {
		t.Fatalf("Land = %v, want a BranchMovedError naming the commit", err)
	}

	// chant's own commit meanwhile (another chant command) is fine.
	onto = head(t, r)
	if _, err := r.Land(Landing{Onto: onto, When: when, Commits: []CommitSpec{{Message: "decision", Changes: []Change{change(t, r, "g.md", "approved\n", 0o100644)}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Land(Landing{Onto: onto, When: when, Commits: []CommitSpec{{Message: "work", Changes: []Change{change(t, r, "a.txt", "x\n", 0o100644)}}}}); err != nil {
		t.Fatalf("landing after chant's own commit: %v", err)
	}
	if got := testgit.Git(t, dir, "log", "--format=%s", "-3"); got != "work\ndecision\nsomeone else" {
		t.Errorf("log:\n%s", got)
	}

	// A switch to another branch is refused.
	onto = head(t, r)
	testgit.Git(t, dir, "checkout", "-qb", "other")
	_, err = r.Land(Landing{Onto: onto, When: when, Commits: []CommitSpec{{Message: "m", Changes: []Change{change(t, r, "z", "z\n", 0o100644)}}}})
	if !errors.As(err, &moved) || moved.Head.Branch == moved.Want.Branch {
		t.Fatalf("Land on a switched branch = %v", err)
	}
}

func TestLandInALinkedWorktreeAndOnUnusualHeads(t *testing.T) {
	main := testgit.Repo(t, map[string]string{"a.txt": "a\n"})
	wt := filepath.Join(t.TempDir(), "wt")
	testgit.Git(t, main, "worktree", "add", "-q", "-b", "feature", wt)
	r := open(t, wt)
	if r.GitDir == r.CommonDir || r.Root != wt {
		t.Fatalf("dirs: %+v", r)
	}
	if _, err := r.Land(Landing{Onto: head(t, r), When: when, Commits: []CommitSpec{{Message: "in the worktree", Changes: []Change{
		change(t, r, "a.txt", "b\n", 0o100644)}}}}); err != nil {
		t.Fatal(err)
	}
	// The main repository sees it; nothing went to a private store.
	if got := testgit.Git(t, main, "log", "-1", "--format=%s", "feature"); got != "in the worktree" {
		t.Errorf("feature from the main work tree: %q", got)
	}
	if st := testgit.Git(t, wt, "status", "--porcelain"); st != "" {
		t.Errorf("worktree status: %s", st)
	}
	testgit.Git(t, main, "fsck", "--strict")

	// Detached HEAD.
	testgit.Git(t, main, "checkout", "-q", "--detach")
	rm := open(t, main)
	h := head(t, rm)
	if h.Branch != "" {
		t.Fatalf("not detached: %+v", h)
	}
	if _, err := rm.Land(Landing{Onto: h, When: when, Commits: []CommitSpec{{Message: "detached", Changes: []Change{
		{Path: "link", Mode: 0o120000, Data: []byte("a.txt")}}}}}); err != nil {
		t.Fatal(err)
	}
	if got := testgit.Git(t, main, "log", "-1", "--format=%s"); got != "detached" {
		t.Errorf("HEAD: %s", got)
	}
	if target, _ := os.Readlink(filepath.Join(main, "link")); target != "a.txt" {
		t.Errorf("link -> %q", target)
	}
	if st := testgit.Git(t, main, "status", "--porcelain"); st != "" {
		t.Errorf("status: %s", st)
	}

	// A branch with no commit yet.
	empty := t.TempDir()
	testgit.Git(t, empty, "init", "-q", "-b", "main")
	re := open(t, empty)
	if _, err := re.Land(Landing{Onto: head(t, re), When: when, Commits: []CommitSpec{{Message: "first", Changes: []Change{
		{Path: "f", Mode: 0o100644, Data: []byte("f\n")}}}}}); err != nil {
		t.Fatal(err)
	}
	if got := testgit.Git(t, empty, "log", "--format=%s"); got != "first" {
		t.Errorf("log: %q", got)
	}
	if st := testgit.Git(t, empty, "status", "--porcelain"); st != "" {
		t.Errorf("status: %s", st)
	}
}

type crash struct{}

// landUntil runs a landing that "crashes" (stops dead, leaving what a
// SIGKILL would) at the failpoint.
func landUntil(t *testing.T, r *Repo, point string, l Landing) {
	t.Helper()
	failpoint.Crash = func(name string) {
		if name == point {
			panic(crash{})
		}
	}
	defer func() {
		failpoint.Crash = nil
		if v := recover(); v != nil {
			if _, ok := v.(crash); !ok {
				panic(v)
			}
			return
		}
		t.Fatalf("the landing never reached %s", point)
	}()
	r.Land(l)
}

// A landing killed at any point has either not happened or, after
// Recover, happened entirely: the branch, the file and the index agree.
func TestLandingKilledAtEachPoint(t *testing.T) {
	for _, tc := range []struct {
		point    string
		happened bool
	}{
		{"land-before-ref", false},
		{"land-after-ref", true},
		{"land-after-files", true},
	} {
		t.Run(tc.point, func(t *testing.T) {
			dir := testgit.Repo(t, map[string]string{"a.txt": "a\n"})
			r := open(t, dir)
			before := head(t, r)
			landUntil(t, r, tc.point, Landing{Onto: before, When: when, Commits: []CommitSpec{{Message: "m", Changes: []Change{
				change(t, r, "a.txt", "landed\n", 0o100644)}}}})
			fixed, err := open(t, dir).Recover()
			if err != nil {
				t.Fatal(err)
			}
			content, _ := os.ReadFile(filepath.Join(dir, "a.txt"))
			moved := head(t, r) != before
			if moved != tc.happened || (string(content) == "landed\n") != tc.happened {
				t.Fatalf("after recovery: branch moved %v, a.txt %q (fixed %q)", moved, content, fixed)
			}
			if st := testgit.Git(t, dir, "status", "--porcelain"); st != "" {
				t.Errorf("git status after recovery: %s (fixed %q)", st, fixed)
			}
			for _, lock := range []string{"index.lock", "refs/heads/main.lock"} {
				if _, err := os.Stat(filepath.Join(dir, ".git", lock)); err == nil {
					t.Errorf("%s left behind", lock)
				}
			}
			testgit.Git(t, dir, "fsck", "--strict")
			// And chant can land again.
			if _, err := r.Land(Landing{Onto: head(t, r), When: when, Commits: []CommitSpec{{Message: "again", Changes: []Change{
				change(t, r, "b.txt", "b\n", 0o100644)}}}}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestLandWaitsForGitsLocks(t *testing.T) {
	dir := testgit.Repo(t, map[string]string{"a.txt": "a\n"})
	r := open(t, dir)
	defer func(p time.Duration) { lockPatience = p }(lockPatience)
	lockPatience = 100 * time.Millisecond
	lock := filepath.Join(dir, ".git", "refs", "heads", "main.lock")
	os.WriteFile(lock, nil, 0o644) // a git command in progress
	_, err := r.Land(Landing{Onto: head(t, r), When: when, Commits: []CommitSpec{{Message: "m", Changes: []Change{change(t, r, "a.txt", "x\n", 0o100644)}}}})
	if !errors.Is(err, ErrRefLocked) {
		t.Fatalf("Land = %v, want ErrRefLocked", err)
	}
	if _, err := os.Stat(lock); err != nil {
		t.Fatal("git's lock was removed")
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "a.txt")); string(got) != "a\n" {
		t.Fatalf("a.txt written: %q", got)
	}
}

// EditTree makes the trees git makes, in git's order (a file "a.b" sorts
// before a directory "a", which sorts as "a/").
func TestEditTreeAgreesWithGit(t *testing.T) {
	dir := testgit.Repo(t, map[string]string{"a/x": "1\n", "a.b": "2\n", "a-b/y": "3\n", "keep/k": "k\n", "gone/g": "g\n"})
	r := open(t, dir)
	h := head(t, r)
	base, _ := r.TreeOf(h.Commit)
	blob, _ := r.WriteBlob([]byte("new\n"))
	got, err := r.EditTree(base, []TreeEdit{
		{Path: "a/z/deep", File: File{0o100644, blob}},
		{Path: "a0", File: File{0o100755, blob}},
		{Path: "gone/g"},
		// A file becomes a directory, a directory a file.
		{Path: "a.b"},
		{Path: "a.b/c", File: File{0o100644, blob}},
		{Path: "keep/k"},
		{Path: "keep", File: File{0o100644, blob}},
	})
	if err != nil {
		t.Fatal(err)
	}
	testgit.Git(t, dir, "update-index", "--add", "--cacheinfo", "100644,"+blob.String()+",a/z/deep")
	testgit.Git(t, dir, "update-index", "--add", "--cacheinfo", "100755,"+blob.String()+",a0")
	testgit.Git(t, dir, "update-index", "--force-remove", "gone/g", "a.b", "keep/k")
	testgit.Git(t, dir, "update-index", "--add", "--cacheinfo", "100644,"+blob.String()+",a.b/c")
	testgit.Git(t, dir, "update-index", "--add", "--cacheinfo", "100644,"+blob.String()+",keep")
	if want := testgit.Git(t, dir, "write-tree"); got.String() != want {
		t.Fatalf("EditTree = %s, git write-tree = %s", got, want)
	}
	testgit.Git(t, dir, "fsck", "--strict", "--no-dangling")
	// Read back from a fresh Repo (nothing cached) and from this one.
	for _, rr := range []*Repo{r, open(t, dir)} {
		for path, want := range map[string]File{"a/z/deep": {0o100644, blob}, "a0": {0o100755, blob}, "a.b/c": {0o100644, blob},
			"keep": {0o100644, blob}, "keep/k": {}, "a": {}, "a.b": {}, "gone/g": {}, "a/x/no": {}, "nothing": {}} {
			if got, err := rr.fileInTree(got, path); err != nil || got != want {
				t.Errorf("%s in the edited tree: %v, %v; want %v", path, got, err, want)
			}
		}
	}
	entries, err := r.Entries(h.Commit)
	if err != nil || len(entries) != 5 || entries[0].Path != "a-b/y" {
		t.Fatalf("Entries: %v %v", entries, err)
	}
	diff, err := r.Diff(h.Commit, plumbing.ZeroHash)
	if err != nil || len(diff) != 5 || diff[0].To.Exists() {
		t.Fatalf("Diff: %v %v", diff, err)
	}
}

func TestGuardPutsGitConfigBack(t *testing.T) {
	dir := testgit.Repo(t, map[string]string{"a.txt": "a\n"})
	r := open(t, dir)
	config, _ := os.ReadFile(filepath.Join(dir, ".git", "config"))
	g, err := r.Guard()
	if err != nil {
		t.Fatal(err)
	}
	testgit.Git(t, dir, "config", "core.fsmonitor", "touch /tmp/pwned")
	testgit.Git(t, dir, "config", "core.hooksPath", "/tmp/hooks")
	os.WriteFile(filepath.Join(dir, ".git", "hooks", "post-commit"), []byte("#!/bin/sh\necho pwned\n"), 0o755)
	os.WriteFile(filepath.Join(dir, ".git", "info", "attributes"), []byte("* filter=evil\n"), 0o644)
	changed, err := g.Restore()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(changed, ","); got != "config,hooks/post-commit,info/attributes" {
		t.Errorf("changed: %s", got)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, ".git", "config")); string(now) != string(config) {
		t.Errorf("config not restored:\n%s", now)
	}
	for _, p := range []string{"hooks/post-commit", "info/attributes"} {
		if _, err := os.Stat(filepath.Join(dir, ".git", p)); err == nil {
			t.Errorf("%s still there", p)
		}
	}
	if changed, _ := g.Restore(); len(changed) != 0 {
		t.Errorf("nothing changed, yet: %v", changed)
	}
}

// What git writes of itself in info/ (update-server-info, which a
// repack run by the user's git gc --auto calls, writes info/refs) is no
// configuration: a phase is not failed for it, nor is it put back.
func TestGuardLeavesGitsOwnInfoAlone(t *testing.T) {
	dir := testgit.Repo(t, map[string]string{"a.txt": "a\n"})
	r := open(t, dir)
	g, err := r.Guard()
	if err != nil {
		t.Fatal(err)
	}
	testgit.Git(t, dir, "update-server-info")
	changed, err := g.Restore()
	if err != nil || len(changed) != 0 {
		t.Errorf("update-server-info taken for a change of configuration: %v %v", changed, err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".git", "info", "refs")); err != nil {
		t.Errorf("info/refs was removed: %v", err)
	}
}

// A directory of files is edited from the index this process read when
// the index holds exactly its tree, hash for hash (so its object need not
// be read: here it is gone); when the index holds other content for it,
// from the tree itself.
func TestEditTreeTakesADirectoryFromTheIndex(t *testing.T) {
	files := map[string]string{"top": "t\n", "specs/a.md": "a\n", "specs/b.md": "b\n", "specs/c.md": "c\n"}
	dir := testgit.Repo(t, files)
	r := open(t, dir)
	base, err := r.TreeOf(head(t, r).Commit)
	if err != nil {
		t.Fatal(err)
	}
	specs := plumbing.NewHash(testgit.Git(t, dir, "rev-parse", "HEAD:specs"))
	blob, _ := r.WriteBlob([]byte("new\n"))
	edit := []TreeEdit{{Path: "specs/b.md", File: File{0o100644, blob}}}
	want, err := open(t, dir).EditTree(base, edit)
	if err != nil {
		t.Fatal(err)
	}
	// The specs tree's object gone: only the index can give its entries.
	obj := filepath.Join(dir, ".git", "objects", specs.String()[:2], specs.String()[2:])
	if err := os.Remove(obj); err != nil {
		t.Fatal(err)
	}
	if _, err := r.IndexFiles([]string{"top"}); err != nil { // as a phase's look at its targets reads it
		t.Fatal(err)
	}
	if got, err := r.EditTree(base, edit); err != nil || got != want {
		t.Errorf("EditTree from the index = %s, %v; want %s", got, err, want)
	}
	// The index holding other content for specs/: read from the tree,
	// which is gone.
	other := open(t, dir)
	testgit.Git(t, dir, "update-index", "--add", "--cacheinfo", "100644,"+blob.String()+",specs/c.md")
	if _, err := other.IndexFiles([]string{"top"}); err != nil {
		t.Fatal(err)
	}
	if got, err := other.EditTree(base, edit); err == nil {
		t.Errorf("EditTree with a staged change took the index's entries: %s", got)
	}
}

// Recover removes the temporary object files killed writers left, once
// an hour (it lists every directory of the object store), and never one
// that a live writer may still be writing.
func TestRecoverSweepsTempObjectsHourly(t *testing.T) {
	dir := testgit.Repo(t, map[string]string{"a": "a\n"})
	objects := filepath.Join(dir, ".git", "objects")
	temp := func(name string, age time.Duration) string {
		t.Helper()
		p := filepath.Join(objects, "ab", name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		when := time.Now().Add(-age)
		os.Chtimes(p, when, when)
		return p
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	old, live := temp("tmp_obj_old", 2*time.Minute), temp("tmp_obj_live", 0)
	if _, err := open(t, dir).Recover(); err != nil {
		t.Fatal(err)
	}
	if exists(old) || !exists(live) {
		t.Fatalf("after the first sweep: the old one there %v, the live one %v", exists(old), exists(live))
	}
	again := temp("tmp_obj_again", 2*time.Minute)
	open(t, dir).Recover()
	if !exists(again) {
		t.Fatal("swept again within the hour")
	}
	stamp := filepath.Join(dir, ".git", "chant", "swept")
	hourAgo := time.Now().Add(-sweepEvery - time.Minute)
	os.Chtimes(stamp, hourAgo, hourAgo)
	open(t, dir).Recover()
	if exists(again) {
		t.Fatal("not swept an hour later")
	}
}
