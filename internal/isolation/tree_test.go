package isolation

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/testgit"
)

// setup makes a repository of files and syncs a tree of it, leaving
// omitted out.
func setup(t *testing.T, files map[string]string, omitted ...string) (*gitrepo.Repo, *Tree, plumbing.Hash) {
	t.Helper()
	t.Setenv(DirEnv, t.TempDir())
	dir := testgit.Repo(t, files)
	repo, err := gitrepo.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := Open(repo, "phase")
	if err != nil {
		t.Fatal(err)
	}
	tree.Omitted = omitted
	head, _ := repo.ReadHead()
	if err := tree.Sync(head.Commit); err != nil {
		t.Fatal(err)
	}
	return repo, tree, head.Commit
}

func describe(changes []Change) string {
	var out []string
	for _, c := range changes {
		switch {
		case !c.Was.Exists():
			out = append(out, fmt.Sprintf("A %s %o", c.Path, c.Now.Mode))
		case !c.Now.Exists():
			out = append(out, "D "+c.Path)
		default:
			out = append(out, fmt.Sprintf("M %s %o", c.Path, c.Now.Mode))
		}
	}
	return strings.Join(out, "\n")
}

func write(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

var files = map[string]string{
	"README":            "readme\n",
	"src/a.go":          "package a\n",
	"src/b.go":          "package b\n",
	"src/deep/c.go":     "package c\n",
	"docs/x.md":         "x\n",
	"run.sh":            "#!/bin/sh\n",
	".gitignore":        "build/\n*.log\n.chant/logs/\n",
	"src/.gitignore":    "gen_*\n",
	".chant/specs/s.md": "spec\n",
}

func TestCheckoutIsARepositoryOfItsOwn(t *testing.T) {
	repo, tree, head := setup(t, files)
	if got, _ := os.ReadFile(filepath.Join(tree.Dir, "src", "deep", "c.go")); string(got) != "package c\n" {
		t.Fatalf("c.go: %q", got)
	}
	// git works in the tree, on the user's objects, and finds the tree
	// itself as its top level and common directory (not the user's).
	if h := testgit.Git(t, tree.Dir, "rev-parse", "HEAD"); h != head.String() {
		t.Errorf("HEAD in the tree: %s, want %s", h, head)
	}
	if common := testgit.Git(t, tree.Dir, "rev-parse", "--path-format=absolute", "--git-common-dir"); common != filepath.Join(tree.Dir, ".git") {
		t.Errorf("git-common-dir in the tree: %s", common)
	}
	if st := testgit.Git(t, tree.Dir, "status", "--porcelain"); st != "" {
		t.Errorf("status in the tree:\n%s", st)
	}
	testgit.Git(t, tree.Dir, "fsck", "--strict")
	testgit.Git(t, repo.Root, "fsck", "--strict")
	if list := testgit.Git(t, repo.Root, "worktree", "list", "--porcelain"); strings.Contains(list, tree.Dir) {
		t.Errorf("the tree is a worktree of the user's repository:\n%s", list)
	}
	if changes, err := tree.Scan(); err != nil || len(changes) != 0 {
		t.Fatalf("a fresh tree differs: %s %v", describe(changes), err)
	}
}

func TestGitInTheTreeStaysThere(t *testing.T) {
	repo, tree, head := setup(t, files)
	userRefs := testgit.Git(t, repo.Root, "for-each-ref")
	userConfig, _ := os.ReadFile(filepath.Join(repo.CommonDir, "config"))
	git := func(args ...string) { testgit.Git(t, tree.Dir, args...) }
	write(t, tree.Dir, "src/a.go", "package a // agent\n")
	git("-c", "user.name=A", "-c", "user.email=a@x", "commit", "-qam", "agent's commit")
	git("branch", "agent-branch")
	git("tag", "agent-tag")
	write(t, tree.Dir, "src/b.go", "package b // agent\n")
	git("-c", "user.name=A", "-c", "user.email=a@x", "stash")
	git("config", "core.hooksPath", "/tmp/agent-hooks")
	if got := testgit.Git(t, repo.Root, "for-each-ref"); got != userRefs {
		t.Errorf("the user's refs changed:\n%s\nwere:\n%s", got, userRefs)
	}
	if got, _ := os.ReadFile(filepath.Join(repo.CommonDir, "config")); string(got) != string(userConfig) {
		t.Errorf("the user's config changed:\n%s", got)
	}
	// The next sync wipes it all.
	tree.Touched()
	if err := tree.Sync(head); err != nil {
		t.Fatal(err)
	}
	if refs := testgit.Git(t, tree.Dir, "for-each-ref"); refs != "" {
		t.Errorf("refs left in the tree: %s", refs)
	}
	if h := testgit.Git(t, tree.Dir, "rev-parse", "HEAD"); h != head.String() {
		t.Errorf("HEAD in the tree: %s, want %s", h, head)
	}
	if hooks := testgit.Git(t, tree.Dir, "config", "--local", "--default", "none", "core.hooksPath"); hooks != "none" {
		t.Errorf("core.hooksPath in the tree: %s", hooks)
	}
	if st := testgit.Git(t, tree.Dir, "status", "--porcelain"); st != "" {
		t.Errorf("status in the tree:\n%s", st)
	}
}

func TestALinkedWorktreeOfBeforeBecomesARepository(t *testing.T) {
	repo, tree, head := setup(t, files)
	// chant's trees were once linked worktrees: a .git file pointing at
	// <common>/worktrees/<name>.
	_, name, _ := Location(repo, "phase")
	legacy := filepath.Join(repo.CommonDir, "worktrees", name)
	os.MkdirAll(legacy, 0o755)
	os.WriteFile(filepath.Join(legacy, "gitdir"), []byte(filepath.Join(tree.Dir, ".git")+"\n"), 0o644)
	os.RemoveAll(filepath.Join(tree.Dir, ".git"))
	os.WriteFile(filepath.Join(tree.Dir, ".git"), []byte("gitdir: "+legacy+"\n"), 0o644)
	again, _ := Open(repo, "phase")
	if err := again.Sync(head); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(filepath.Join(tree.Dir, ".git")); err != nil || !fi.IsDir() {
		t.Fatalf(".git: %v %v", fi, err)
	}
	if _, err := os.Stat(legacy); !os.IsNotExist(err) {
		t.Errorf("the linked worktree's git directory is left: %v", err)
	}
	if st := testgit.Git(t, tree.Dir, "status", "--porcelain"); st != "" {
		t.Errorf("status in the tree:\n%s", st)
	}
}

// changeEveryKind makes in the tree d (of files) every kind of change a
// scan tells apart, and some it must not report.
func changeEveryKind(t *testing.T, d string) {
	t.Helper()
	write(t, d, "src/a.go", "package a // changed\n")
	os.Chmod(filepath.Join(d, "src", "b.go"), 0o755) // mode only
	os.Remove(filepath.Join(d, "docs", "x.md"))
	write(t, d, "new/file.txt", "new\n")
	write(t, d, "build/out.bin", "ignored\n")
	write(t, d, "debug.log", "ignored\n")
	write(t, d, "src/gen_x.go", "ignored by src/.gitignore\n")
	// A .gitignore the agent writes hides nothing: the base's rules count.
	write(t, d, "hide/.gitignore", "*\n")
	write(t, d, "hide/secret.txt", "s\n")
	write(t, d, "nested/repo/.git/HEAD", "ref: refs/heads/main\n")
	write(t, d, "nested/repo/f", "f\n")
	os.Remove(filepath.Join(d, "README"))
	os.Symlink("/etc/passwd", filepath.Join(d, "README"))
	os.RemoveAll(filepath.Join(d, "src", "deep"))
	write(t, d, "src/deep", "now a file\n")
	write(t, d, "touched", "")
}

func TestScanFindsEveryKindOfChange(t *testing.T) {
	_, tree, _ := setup(t, files)
	d := tree.Dir
	changeEveryKind(t, d)
	changes, err := tree.Scan()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"M README 120000",
		"D docs/x.md",
		"A hide/.gitignore 100644",
		"A hide/secret.txt 100644",
		"A nested/repo 40000",
		"A new/file.txt 100644",
		"M src/a.go 100644",
		"M src/b.go 100755",
		"A src/deep 100644",
		"D src/deep/c.go",
		"A touched 100644",
	}, "\n")
	if got := describe(changes); got != want {
		t.Fatalf("changes:\n%s\nwant:\n%s", got, want)
	}
	// Sync undoes all of it; ignored files stay.
	head := tree.Base()
	if err := tree.Sync(head); err != nil {
		t.Fatal(err)
	}
	if changes, _ := tree.Scan(); len(changes) != 0 {
		t.Fatalf("after Sync:\n%s", describe(changes))
	}
	if st := testgit.Git(t, d, "status", "--porcelain"); st != "" {
		t.Fatalf("git status after Sync:\n%s", st)
	}
	if _, err := os.Stat(filepath.Join(d, "build", "out.bin")); err != nil {
		t.Errorf("an ignored file was removed: %v", err)
	}
}

func TestWatchedPathsAreReportedEvenIfIgnored(t *testing.T) {
	_, tree, _ := setup(t, map[string]string{"README": "r\n", ".gitignore": ".chant/\n"})
	tree.Watched = []string{".chant"}
	write(t, tree.Dir, ".chant/specs/other.md", "forged\n")
	write(t, tree.Dir, "x.log", "x\n")
	changes, _ := tree.Scan()
	if got := describe(changes); got != "A .chant/specs/other.md 100644\nA x.log 100644" {
		t.Fatalf("changes:\n%s", got)
	}
}

func TestStatDataIsTrustedOnlyWhenSafe(t *testing.T) {
	_, tree, _ := setup(t, files)
	// Same size, rewritten at once: caught whatever the clock's tick.
	write(t, tree.Dir, "src/a.go", "package z\n")
	// Touched, same content: not a change.
	p := filepath.Join(tree.Dir, "src", "b.go")
	data, _ := os.ReadFile(p)
	os.WriteFile(p, data, 0o644)
	changes, _ := tree.Scan()
	if got := describe(changes); got != "M src/a.go 100644" {
		t.Fatalf("changes:\n%s", got)
	}
}

func TestExtrasAreExpected(t *testing.T) {
	_, tree, head := setup(t, files)
	if err := tree.Put(".chant/specs/s.md", []byte("spec, in progress\n"), 0o100644); err != nil {
		t.Fatal(err)
	}
	if err := tree.Put("copied/.env", []byte("KEY=1\n"), 0o100644); err != nil {
		t.Fatal(err)
	}
	if changes, _ := tree.Scan(); len(changes) != 0 {
		t.Fatalf("extras reported: %s", describe(changes))
	}
	write(t, tree.Dir, ".chant/specs/s.md", "spec, ticked\n")
	changes, _ := tree.Scan()
	if len(changes) != 1 || changes[0].Path != ".chant/specs/s.md" || changes[0].Was.Hash != gitrepo.BlobHash([]byte("spec, in progress\n")) {
		t.Fatalf("changes: %+v", changes)
	}
	if err := tree.Sync(head); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(tree.Dir, ".chant", "specs", "s.md")); string(got) != "spec\n" {
		t.Errorf("s.md after Sync: %q", got)
	}
	if _, err := os.Stat(filepath.Join(tree.Dir, "copied")); !os.IsNotExist(err) {
		t.Errorf("a copied file outlived its phase")
	}
}

func TestSyncMovesOnAndSurvivesTheAgentsGit(t *testing.T) {
	repo, tree, _ := setup(t, files)
	// The agent commits in its tree and changes its index.
	write(t, tree.Dir, "src/a.go", "package a // agent\n")
	testgit.Git(t, tree.Dir, "add", "-A")
	testgit.Git(t, tree.Dir, "-c", "user.name=A", "-c", "user.email=a@x", "commit", "-qm", "agent's own commit")
	// Meanwhile the user's branch moves on.
	write(t, repo.Root, "docs/x.md", "x, new\n")
	testgit.Git(t, repo.Root, "commit", "-qam", "next")
	head, _ := repo.ReadHead()
	// A new process: the tree as chant left it on disk.
	again, err := Open(repo, "phase")
	if err != nil {
		t.Fatal(err)
	}
	if err := again.Sync(head.Commit); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(tree.Dir, "docs", "x.md")); string(got) != "x, new\n" {
		t.Errorf("x.md: %q", got)
	}
	if got, _ := os.ReadFile(filepath.Join(tree.Dir, "src", "a.go")); string(got) != "package a\n" {
		t.Errorf("a.go: %q", got)
	}
	if h := testgit.Git(t, tree.Dir, "rev-parse", "HEAD"); h != head.Commit.String() {
		t.Errorf("the tree's HEAD is %s, want %s", h, head.Commit)
	}
	if st := testgit.Git(t, tree.Dir, "status", "--porcelain"); st != "" {
		t.Errorf("status:\n%s", st)
	}
	testgit.Git(t, repo.Root, "fsck", "--strict")
}

func TestATreeDeletedFromUnderChantComesBack(t *testing.T) {
	repo, tree, head := setup(t, files)
	os.RemoveAll(tree.Dir)
	again, _ := Open(repo, "phase")
	if err := again.Sync(head); err != nil {
		t.Fatal(err)
	}
	if changes, err := again.Scan(); err != nil || len(changes) != 0 {
		t.Fatalf("%s %v", describe(changes), err)
	}
}

// TestOmittedDirectoriesStayOut: the spec directories are left out of the
// tree, git there takes them as unchanged (and keeps them out through a
// reset), chant's own file there is compared, and anything else an agent
// puts there, or takes away, is a change; a sync puts it all back.
func TestOmittedDirectoriesStayOut(t *testing.T) {
	many := map[string]string{"README": "readme\n", ".chant/config.md": "---\n---\n", ".chant/archive/2026/old.md": "old\n"}
	for i := range 20 {
		many[fmt.Sprintf(".chant/specs/%02d.md", i)] = fmt.Sprintf("spec %d\n", i)
	}
	repo, tree, _ := setup(t, many, ".chant/specs", ".chant/archive")
	dir := repo.Root
	listing := func() string {
		var out []string
		filepath.WalkDir(tree.Dir, func(p string, d os.DirEntry, err error) error {
			rel, _ := filepath.Rel(tree.Dir, p)
			if rel == ".git" {
				return filepath.SkipDir
			}
			if !d.IsDir() {
				out = append(out, filepath.ToSlash(rel))
			}
			return nil
		})
		return strings.Join(out, " ")
	}
	if got := listing(); got != ".chant/config.md README" {
		t.Fatalf("checked out: %s", got)
	}
	status := func() string { return testgit.Git(t, tree.Dir, "status", "--porcelain") }
	if s := status(); s != "" {
		t.Errorf("git status in the tree: %q", s)
	}
	testgit.Git(t, tree.Dir, "reset", "-q", "--hard")
	if got := listing(); got != ".chant/config.md README" {
		t.Errorf("after git reset --hard in the tree: %s", got)
	}
	// The phase's own spec, put there by chant.
	if err := tree.Put(".chant/specs/03.md", []byte("spec 3, in progress\n"), 0o100644); err != nil {
		t.Fatal(err)
	}
	if c, err := tree.Scan(); err != nil || len(c) != 0 {
		t.Fatalf("after Put: %s (%v)", describe(c), err)
	}
	write(t, tree.Dir, ".chant/specs/03.md", "spec 3, boxes ticked\n")
	write(t, tree.Dir, ".chant/specs/07.md", "made up\n")
	write(t, tree.Dir, ".chant/specs/new/x.md", "new\n")
	write(t, tree.Dir, ".chant/archive/2026/old.md", "rewritten\n")
	c, err := tree.Scan()
	if err != nil {
		t.Fatal(err)
	}
	want := "A .chant/archive/2026/old.md 100644\nM .chant/specs/03.md 100644\nA .chant/specs/07.md 100644\nA .chant/specs/new/x.md 100644"
	if got := describe(c); got != want {
		t.Errorf("changes:\n%s\nwant:\n%s", got, want)
	}
	// The directory gone, chant's file with it; or a file in its place.
	os.RemoveAll(filepath.Join(tree.Dir, ".chant", "specs"))
	if c, _ := tree.Scan(); describe(c) != "A .chant/archive/2026/old.md 100644\nD .chant/specs/03.md" {
		t.Errorf("specs directory removed: %s", describe(c))
	}
	write(t, tree.Dir, ".chant/specs", "a file\n")
	if c, _ := tree.Scan(); describe(c) != "A .chant/archive/2026/old.md 100644\nA .chant/specs 100644\nD .chant/specs/03.md" {
		t.Errorf("specs directory made a file: %s", describe(c))
	}
	// A sync takes it all away again, and the next commit's spec changes
	// are recorded, never written.
	write(t, dir, ".chant/specs/05.md", "spec 5, completed\n")
	testgit.Git(t, dir, "add", "-A")
	testgit.Git(t, dir, "commit", "-qm", "record")
	head, _ := repo.ReadHead()
	if err := tree.Sync(head.Commit); err != nil {
		t.Fatal(err)
	}
	if got := listing(); got != ".chant/config.md README" {
		t.Errorf("after sync: %s", got)
	}
	if c, err := tree.Scan(); err != nil || len(c) != 0 {
		t.Errorf("after sync: %s (%v)", describe(c), err)
	}
	if s := status(); s != "" {
		t.Errorf("git status in the tree after sync: %q", s)
	}
	if got := testgit.Git(t, tree.Dir, "show", "HEAD:.chant/specs/05.md"); got != "spec 5, completed" {
		t.Errorf("the tree's HEAD: %q", got)
	}
}

func TestBytes(t *testing.T) {
	for n, want := range map[Bytes]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KB", 1536: "1.5 KB", 5 << 20: "5.0 MB", 3 << 30: "3.0 GB"} {
		if got := n.String(); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// A tree synced and left untouched is known clean to the next process,
// which syncs it without a scan; one that anything may have changed since
// (Touched, Put) is scanned, even when the
// process that said so was killed before saving anything else.
func TestTheNextProcessScansATreeUnlessItWasLeftClean(t *testing.T) {
	repo, tree, base := setup(t, files)
	reopen := func() *Tree {
		t.Helper()
		again, err := Open(repo, "phase")
		if err != nil {
			t.Fatal(err)
		}
		return again
	}
	if again := reopen(); !again.known {
		t.Fatal("a tree left clean is scanned by the next process")
	}

	// The agent's phase: Touched before it starts, then killed mid-way.
	if err := tree.Touched(); err != nil {
		t.Fatal(err)
	}
	write(t, tree.Dir, "src/a.go", "package a // agent\n")
	write(t, tree.Dir, "left.txt", "the agent's\n")
	again := reopen()
	if again.known {
		t.Fatal("a touched tree is trusted by the next process")
	}
	if err := again.Sync(base); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(tree.Dir, "src", "a.go")); string(got) != "package a\n" {
		t.Errorf("a.go: %q", got)
	}
	if _, err := os.Stat(filepath.Join(tree.Dir, "left.txt")); err == nil {
		t.Error("what the agent left stays")
	}

	// The agent's phase verified (scanned) and left so: the next process
	// knows what differs without a scan, and puts it back.
	if err := again.Touched(); err != nil {
		t.Fatal(err)
	}
	write(t, tree.Dir, "src/a.go", "package a // agent again\n")
	write(t, tree.Dir, "left.txt", "the agent's\n")
	if changes, err := again.Scan(); err != nil || len(changes) != 2 {
		t.Fatalf("scan: %v, %v", describe(changes), err)
	}
	verified := reopen()
	if !verified.known || !verified.dirty["src/a.go"] || !verified.dirty["left.txt"] {
		t.Fatalf("after a scan: known %v, differ %v", verified.known, verified.dirty)
	}
	if err := verified.Sync(base); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(tree.Dir, "src", "a.go")); string(got) != "package a\n" {
		t.Errorf("a.go: %q", got)
	}
	if _, err := os.Stat(filepath.Join(tree.Dir, "left.txt")); err == nil {
		t.Error("what the agent left stays")
	}

	// chant's own file put there, then killed: it goes at the next Sync.
	clean := reopen()
	if !clean.known {
		t.Fatal("not clean after the Sync")
	}
	if err := clean.Put("spec.md", []byte("the spec\n"), 0o100644); err != nil {
		t.Fatal(err)
	}
	again = reopen()
	if err := again.Sync(base); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(tree.Dir, "spec.md")); err == nil {
		t.Error("chant's own file stays")
	}

}

// A sync to the commit a tree is known (and recorded) to hold writes
// nothing: a worker syncs a slot to read the phase's config there, and the
// phase syncs it again. Once something may have changed there, the sync
// restores it.
func TestSyncToTheKnownCommitWritesNothing(t *testing.T) {
	repo, tree, head := setup(t, files, ".chant/specs")
	index := filepath.Join(tree.Dir, ".git", "index")
	before, err := os.Stat(index)
	if err != nil {
		t.Fatal(err)
	}
	if err := tree.Sync(head); err != nil {
		t.Fatal(err)
	}
	// A write from now on gets a later time than the index's.
	waitForClock(tree.Admin())
	unwritten := func() bool {
		after, err := os.Stat(index)
		return err == nil && os.SameFile(before, after) && after.ModTime().Equal(before.ModTime())
	}
	if !unwritten() {
		t.Error("the index was written again")
	}
	// In a new process too, from the tree's record.
	again, err := Open(repo, "phase")
	if err != nil {
		t.Fatal(err)
	}
	again.Omitted = tree.Omitted
	if err := again.Sync(head); err != nil {
		t.Fatal(err)
	}
	if !unwritten() {
		t.Error("the index was written again by a new process")
	}
	// chant's own file put there, then an agent run (the tree marked
	// unknown first) and a change: all restored.
	if err := again.Put("new.txt", []byte("chant's\n"), 0o100644); err != nil {
		t.Fatal(err)
	}
	if err := again.Touched(); err != nil {
		t.Fatal(err)
	}
	write(t, tree.Dir, "src/a.go", "package a // agent\n")
	if err := again.Sync(head); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(tree.Dir, "src", "a.go")); string(got) != "package a\n" {
		t.Errorf("a.go: %q", got)
	}
	if _, err := os.Lstat(filepath.Join(tree.Dir, "new.txt")); err == nil {
		t.Error("chant's extra file is still there")
	}
	// Omitted otherwise: the flags change, so the index is written.
	again.Omitted = nil
	if err := again.Sync(head); err != nil {
		t.Fatal(err)
	}
	if st := testgit.Git(t, tree.Dir, "ls-files", "-v", ".chant/specs"); strings.HasPrefix(st, "S ") {
		t.Errorf("the spec files are still flagged skip-worktree:\n%s", st)
	}
}

// The next process takes the tree's index as chant left it, known by the
// index's own checksum (or, as chant recorded it before, by the file's
// SHA-1), and not once the agent's git has written it.
func TestTheIndexIsTakenOnlyAsChantWroteIt(t *testing.T) {
	repo, tree, _ := setup(t, files)
	taken := func() bool {
		t.Helper()
		again, err := Open(repo, "phase")
		if err != nil {
			t.Fatal(err)
		}
		return again.indexSum != ""
	}
	if !taken() {
		t.Fatal("the index chant wrote is not taken")
	}
	raw, err := os.ReadFile(filepath.Join(tree.Admin(), "index"))
	if err != nil {
		t.Fatal(err)
	}
	state, err := os.ReadFile(tree.statePath)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(state, &st); err != nil {
		t.Fatal(err)
	}
	whole := sha1.Sum(raw)
	st["index_sum"] = hex.EncodeToString(whole[:])
	state, _ = json.Marshal(st)
	if err := os.WriteFile(tree.statePath, state, 0o644); err != nil {
		t.Fatal(err)
	}
	if !taken() {
		t.Fatal("an index recorded by its file's SHA-1 is not taken")
	}
	write(t, tree.Dir, "src/a.go", "package a // agent\n")
	testgit.Git(t, tree.Dir, "add", "src/a.go")
	if taken() {
		t.Fatal("the index the agent's git wrote is taken")
	}
}
