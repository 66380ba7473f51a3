package gitindex

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	gogit "github.com/go-git/go-git/v5/plumbing/format/index"
)

func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// repo makes a repository with nested directories, an executable, a
// symbolic link and a long path, committed (so the index has a cache tree).
func repo(t testing.TB) string {
	dir := t.TempDir()
	files := map[string]string{
		"README":    "hi\n",
		"a.txt":     "a\n",
		"a/b.txt":   "b\n",
		"a/c/d.txt": "d\n",
		"a-b/x":     "x\n",
		"z/" + strings.Repeat("long", 50) + "/" + strings.Repeat("path", 50) + ".txt": "long\n",
	}
	for p, c := range files {
		full := filepath.Join(dir, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "run.sh"), []byte("#!/bin/sh\n"), 0o755)
	os.Symlink("a.txt", filepath.Join(dir, "link"))
	git(t, dir, "init", "-q", "-b", "main")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-qm", "init")
	return dir
}

func TestRoundTripIsByteIdentical(t *testing.T) {
	for _, v := range []string{"2", "3", "4"} {
		t.Run("v"+v, func(t *testing.T) {
			dir := repo(t)
			git(t, dir, "update-index", "--index-version", v)
			if v == "3" {
				git(t, dir, "update-index", "--skip-worktree", "a.txt")
			}
			git(t, dir, "status", "--porcelain") // refresh: real stat data
			git(t, dir, "write-tree")            // a full cache tree
			path := filepath.Join(dir, ".git", "index")
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			ix, err := Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			if ix.tree == nil {
				t.Fatal("no cache tree read")
			}
			if got := ix.Encode(); !bytes.Equal(got, data) {
				t.Fatalf("re-encoded index differs from git's (%d vs %d bytes)", len(got), len(data))
			}
			// go-git reads the same entries.
			var want gogit.Index
			if err := gogit.NewDecoder(bytes.NewReader(data)).Decode(&want); err != nil {
				t.Fatal(err)
			}
			if len(want.Entries) != len(ix.Entries) {
				t.Fatalf("%d entries, go-git reads %d", len(ix.Entries), len(want.Entries))
			}
			for i, w := range want.Entries {
				e := ix.Entries[i]
				if e.Path != w.Name || e.Hash != w.Hash || e.Mode != uint32(w.Mode) || e.Size != w.Size ||
					int64(e.MTime.Sec) != w.ModifiedAt.Unix() || e.Ino != w.Inode || (e.ExtFlags&0x4000 != 0) != w.SkipWorktree {
					t.Errorf("entry %d: %+v, go-git reads %+v", i, e, w)
				}
			}
		})
	}
}

// A patched index is what git itself would have written: git reads it, and
// the tree it makes is the tree of the same change made with git.
func TestPatchAgreesWithGit(t *testing.T) {
	for _, v := range []string{"2", "4"} {
		t.Run("v"+v, func(t *testing.T) {
			dir := repo(t)
			git(t, dir, "update-index", "--index-version", v)
			git(t, dir, "write-tree")
			twin := t.TempDir()
			git(t, twin, "clone", "-q", dir, ".")
			git(t, twin, "update-index", "--index-version", v)

			newBlob := git(t, dir, "hash-object", "-w", "--stdin", "--path=a/c/new.txt")
			path := filepath.Join(dir, ".git", "index")
			ix, err := ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			ix.Set(Entry{Path: "a/c/new.txt", Mode: ModeFile, Hash: plumbing.NewHash(newBlob)})
			ix.Set(Entry{Path: "a/b.txt", Mode: ModeExecutable, Hash: plumbing.NewHash(newBlob)})
			ix.Remove("a-b/x")
			ix.Remove("not/there")
			if err := os.WriteFile(path, ix.Encode(), 0o644); err != nil {
				t.Fatal(err)
			}

			git(t, twin, "hash-object", "-w", "--stdin", "--path=x")
			git(t, twin, "update-index", "--add", "--cacheinfo", "100644,"+newBlob+",a/c/new.txt")
			git(t, twin, "update-index", "--cacheinfo", "100755,"+newBlob+",a/b.txt")
			git(t, twin, "update-index", "--force-remove", "a-b/x")
			if got, want := git(t, dir, "ls-files", "-s"), git(t, twin, "ls-files", "-s"); got != want {
				t.Fatalf("ls-files:\n%s\nwant:\n%s", got, want)
			}
			if got, want := git(t, dir, "write-tree"), git(t, twin, "write-tree"); got != want {
				t.Fatalf("write-tree %s, want %s", got, want)
			}
			git(t, dir, "fsck", "--strict", "--no-dangling")
		})
	}
}

func TestSetReplacesConflictStages(t *testing.T) {
	h := plumbing.NewHash("1111111111111111111111111111111111111111")
	ix := &Index{Version: 2, Entries: []Entry{
		{Path: "a", Mode: ModeFile, Hash: h},
		{Path: "b", Mode: ModeFile, Hash: h, Flags: 1 << 12},
		{Path: "b", Mode: ModeFile, Hash: h, Flags: 2 << 12},
		{Path: "b", Mode: ModeFile, Hash: h, Flags: 3 << 12},
		{Path: "c", Mode: ModeFile, Hash: h},
	}}
	if _, ok := ix.Get("b"); ok {
		t.Fatal("a conflicted path has a stage-0 entry")
	}
	ix.Set(Entry{Path: "b", Mode: ModeFile, Hash: h, Flags: 2 << 12})
	var paths []string
	for _, e := range ix.Entries {
		paths = append(paths, e.Path)
	}
	if strings.Join(paths, ",") != "a,b,c" {
		t.Fatalf("entries %v", paths)
	}
	if e, ok := ix.Get("b"); !ok || e.Stage() != 0 {
		t.Fatalf("b: %+v %v", e, ok)
	}
}

func TestSplitIndexIsRefused(t *testing.T) {
	dir := repo(t)
	git(t, dir, "update-index", "--split-index")
	_, err := ReadFile(filepath.Join(dir, ".git", "index"))
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("ReadFile = %v, want ErrUnsupported", err)
	}
}

func TestCorruptionIsAnError(t *testing.T) {
	dir := repo(t)
	data, _ := os.ReadFile(filepath.Join(dir, ".git", "index"))
	bad := append([]byte(nil), data...)
	bad[20] ^= 1
	if _, err := Decode(bad); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a flipped bit: %v", err)
	}
	for _, n := range []int{0, 10, 40, len(data) / 2} {
		if _, err := Decode(data[:n]); err == nil {
			t.Errorf("%d bytes decoded", n)
		}
	}
}

// Paths longer than the flags' 12-bit length field are stored with the
// field saturated, as git does, and read back whole.
func TestPathLongerThanTheLengthField(t *testing.T) {
	long := strings.Repeat("d/", 2500) + "f"
	for _, v := range []uint32{2, 4} {
		ix := &Index{Version: v}
		ix.Set(Entry{Path: "a", Mode: ModeFile})
		ix.Set(Entry{Path: long, Mode: ModeFile})
		data := ix.Encode()
		got, err := Decode(data)
		if err != nil || got.Len() != 2 || got.Entries[1].Path != long {
			t.Fatalf("v%d: %v", v, err)
		}
		var want gogit.Index
		if err := gogit.NewDecoder(bytes.NewReader(data)).Decode(&want); err != nil || want.Entries[1].Name != long {
			t.Fatalf("v%d: go-git cannot read it: %v", v, err)
		}
	}
}

func TestOffsetVarint(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 255, 16383, 16384, 1 << 20, 1<<40 + 7} {
		b := appendOffsetVarint(nil, v)
		got, n := readOffsetVarint(b)
		if got != v || n != len(b) {
			t.Errorf("%d: encoded %x, read %d (%d bytes)", v, b, got, n)
		}
	}
}

// FuzzDecode: no input makes Decode panic, and what decodes re-encodes to
// something that decodes to the same entries.
func FuzzDecode(f *testing.F) {
	dir := repo(f)
	for _, v := range []string{"2", "3", "4"} {
		git(f, dir, "update-index", "--index-version", v)
		data, _ := os.ReadFile(filepath.Join(dir, ".git", "index"))
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ix, err := Decode(data)
		if err != nil {
			return
		}
		again, err := Decode(ix.Encode())
		if err != nil {
			t.Fatalf("re-encoded index does not decode: %v", err)
		}
		if len(again.Entries) != len(ix.Entries) {
			t.Fatalf("%d entries became %d", len(ix.Entries), len(again.Entries))
		}
	})
}

// synthetic is an index of n files in one directory, as a workspace of n
// specs has, encoded.
func synthetic(n int) []byte {
	ix := New()
	for i := range n {
		ix.Entries = append(ix.Entries, Entry{Path: fmt.Sprintf(".chant/specs/s%06d.md", i), Mode: ModeFile, Hash: plumbing.Hash{byte(i)}, Stat: Stat{Size: 200}})
	}
	return ix.Encode()
}

// For profiling a phase's reading and writing of a large index (scripts/bench
// measures whole runs).
func BenchmarkDecodeEncode(b *testing.B) {
	data := synthetic(10_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		ix, err := Decode(data)
		if err != nil {
			b.Fatal(err)
		}
		ix.Encode()
	}
}
