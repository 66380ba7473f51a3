//go:build linux

package isolation

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Whatever a process does in a tree (short of a hard link, which the cage
// refuses), a scan guided by the kernel's notes finds what the full scan
// finds.
func TestNotesFindWhatTheFullScanFinds(t *testing.T) {
	more := map[string]string{"lib/x/y/z.go": "package z\n", "lib/x/w.go": "package x\n", "keep/k.txt": "k\n"}
	for k, v := range files {
		more[k] = v
	}
	cases := map[string]func(t *testing.T, d string){
		"every kind of change": changeEveryKind,
		"deep in an unchanged directory": func(t *testing.T, d string) {
			write(t, d, "lib/x/y/z.go", "package zz\n")
		},
		"written through a mapping after its file was closed": func(t *testing.T, d string) {
			f, err := os.OpenFile(filepath.Join(d, "lib", "x", "y", "z.go"), os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			m, err := unix.Mmap(int(f.Fd()), 0, 4, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			copy(m, "PACK")
			unix.Munmap(m)
		},
		"same size, times put back": func(t *testing.T, d string) {
			p := filepath.Join(d, "lib", "x", "w.go")
			fi, _ := os.Stat(p)
			os.WriteFile(p, []byte("package y\n"), 0o644)
			os.Chtimes(p, fi.ModTime(), fi.ModTime())
		},
		"a directory moved, another made in its place": func(t *testing.T, d string) {
			os.Rename(filepath.Join(d, "lib", "x"), filepath.Join(d, "keep", "moved"))
			write(t, d, "lib/x/new.go", "package n\n")
		},
		"a new directory with a tree under it, moved in": func(t *testing.T, d string) {
			write(t, d, "keep/staging/a/b/c.txt", "c\n")
			os.Rename(filepath.Join(d, "keep", "staging"), filepath.Join(d, "lib", "x", "y", "in"))
		},
		"a directory replaced by a changed copy of it": func(t *testing.T, d string) {
			write(t, d, "keep/copy/y/z.go", "package z // the copy's\n")
			write(t, d, "keep/copy/w.go", "package x\n")
			os.RemoveAll(filepath.Join(d, "lib", "x"))
			os.Rename(filepath.Join(d, "keep", "copy"), filepath.Join(d, "lib", "x"))
		},
		"a directory removed whole": func(t *testing.T, d string) {
			os.RemoveAll(filepath.Join(d, "lib"))
		},
		"a file truncated": func(t *testing.T, d string) {
			os.Truncate(filepath.Join(d, "keep", "k.txt"), 0)
		},
		"chant's own file changed, a watched ignored path written": func(t *testing.T, d string) {
			write(t, d, ".chant/specs/s.md", "spec, forged\n")
			write(t, d, ".chant/logs/l.log", "watched, though ignored\n")
		},
		"nothing changed, something touched": func(t *testing.T, d string) {
			now := time.Now()
			os.Chtimes(filepath.Join(d, "keep", "k.txt"), now, now)
			os.WriteFile(filepath.Join(d, "src", "a.go"), []byte("package a\n"), 0o644)
		},
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			_, tree, _ := setup(t, more)
			tree.Watched = []string{".chant"}
			if err := tree.Put(".chant/specs/s.md", []byte("spec, in progress\n"), 0o100644); err != nil {
				t.Fatal(err)
			}
			tree.Listen()
			if tree.notes == nil {
				t.Fatal("no notes")
			}
			defer tree.stopNotes()
			change(t, tree.Dir)
			tree.Touched()
			pruned, err := tree.Scan()
			if err != nil {
				t.Fatal(err)
			}
			if tree.notes == nil {
				t.Fatal("the notes were dropped")
			}
			tree.stopNotes()
			full, err := tree.Scan()
			if err != nil {
				t.Fatal(err)
			}
			if describe(pruned) != describe(full) {
				t.Fatalf("with the notes:\n%s\nin full:\n%s", describe(pruned), describe(full))
			}
			if name != "nothing changed, something touched" && len(full) == 0 {
				t.Fatal("no change found")
			}
		})
	}
}

// The notes' scan leaves what did not change unread: a file changed by a
// name outside the tree (the hard link a cage refuses) is not seen, where
// the full scan sees it. Lost notes make the scan full.
func TestNotesLeaveWhatDidNotChange(t *testing.T) {
	_, tree, _ := setup(t, files)
	outside := filepath.Join(filepath.Dir(tree.Dir), "second-name")
	if err := os.Link(filepath.Join(tree.Dir, "src", "deep", "c.go"), outside); err != nil {
		t.Skip("no hard link here:", err)
	}
	tree.Listen()
	defer tree.stopNotes()
	if err := os.WriteFile(outside, []byte("package changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tree.Touched()
	if changes, _ := tree.Scan(); len(changes) != 0 {
		t.Fatalf("the notes' scan read an unchanged directory:\n%s", describe(changes))
	}
	tree.notes.mu.Lock()
	tree.notes.take(0, unix.IN_Q_OVERFLOW, "")
	tree.notes.mu.Unlock()
	changes, _ := tree.Scan()
	if got := describe(changes); got != "M src/deep/c.go 100644" {
		t.Fatalf("once the notes were lost, the scan found:\n%s", got)
	}
	if tree.notes != nil {
		t.Error("lost notes were kept")
	}
}

// Settle records what the notes found, so that the next process syncs
// without a scan, and puts it back.
func TestSettleRecordsTheTree(t *testing.T) {
	repo, tree, head := setup(t, files)
	tree.Listen()
	write(t, tree.Dir, "src/a.go", "package a // changed\n")
	write(t, tree.Dir, "new/n.txt", "n\n")
	tree.Touched()
	if err := tree.Settle(); err != nil {
		t.Fatal(err)
	}
	if tree.notes != nil {
		t.Error("the notes go on after Settle")
	}
	next, err := Open(repo, "phase")
	if err != nil {
		t.Fatal(err)
	}
	if !next.known {
		t.Fatal("the next process does not know the settled tree")
	}
	if err := next.Sync(head); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(tree.Dir, "src", "a.go")); string(data) != "package a\n" {
		t.Errorf("src/a.go: %q", data)
	}
	if _, err := os.Stat(filepath.Join(tree.Dir, "new", "n.txt")); err == nil {
		t.Error("new/n.txt stayed")
	}
}
