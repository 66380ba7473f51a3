package safefs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

func setup(t *testing.T) (Root, string) {
	t.Helper()
	base := t.TempDir()
	root := filepath.Join(base, "root")
	outside := filepath.Join(base, "outside")
	for _, d := range []string{root, outside, filepath.Join(root, "real")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(outside, "secret"), []byte("secret\n"), 0o600)
	os.Symlink(outside, filepath.Join(root, "out"))                        // a directory link leaving the root
	os.Symlink("real", filepath.Join(root, "in"))                          // a directory link staying inside
	os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "f")) // a file link leaving the root
	return Root{Dir: root}, outside
}

func TestNothingGoesThroughASymlink(t *testing.T) {
	r, outside := setup(t)
	for _, rel := range []string{"out/x", "in/x", "out/deep/x"} {
		if err := r.WriteFile(rel, []byte("x"), Regular, false); !errors.Is(err, ErrSymlink) {
			t.Errorf("WriteFile(%s) = %v, want ErrSymlink", rel, err)
		}
		if _, err := r.OpenAppend(rel); !errors.Is(err, ErrSymlink) {
			t.Errorf("OpenAppend(%s) = %v, want ErrSymlink", rel, err)
		}
		if _, _, err := r.ReadFile(rel, 0); !errors.Is(err, ErrSymlink) {
			t.Errorf("ReadFile(%s) = %v, want ErrSymlink", rel, err)
		}
	}
	if _, err := r.OpenAppend("f"); !errors.Is(err, ErrSymlink) {
		t.Errorf("OpenAppend of a link = %v, want ErrSymlink", err)
	}
	// Reading a link gives the link, never what it points at.
	data, mode, err := r.ReadFile("f", 0)
	if err != nil || mode != Symlink || string(data) != filepath.Join(outside, "secret") {
		t.Errorf("ReadFile(f) = %q, %o, %v", data, mode, err)
	}
	// Writing over a link replaces the link, not its target.
	if err := r.WriteFile("f", []byte("mine\n"), Regular, true); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(outside, "secret")); string(got) != "secret\n" {
		t.Errorf("the link's target was written: %q", got)
	}
	if err := r.RemoveAll("out"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(outside, "secret")); err != nil {
		t.Errorf("RemoveAll followed a link: %v", err)
	}
	for _, bad := range []string{"", "/etc/passwd", "../x", "a/../../x", "a//b"} {
		if err := r.WriteFile(bad, nil, Regular, false); !errors.Is(err, ErrBadPath) {
			t.Errorf("WriteFile(%q) = %v, want ErrBadPath", bad, err)
		}
	}
}

func TestWriteNeverWritesThroughAHardLink(t *testing.T) {
	r, outside := setup(t)
	if err := os.Link(filepath.Join(outside, "secret"), filepath.Join(r.Dir, "linked")); err != nil {
		t.Skip("no hard links here:", err)
	}
	if err := r.WriteFile("linked", []byte("new\n"), Executable, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(outside, "secret")); string(got) != "secret\n" {
		t.Errorf("written through a hard link: %q", got)
	}
	data, mode, err := r.ReadFile("linked", 0)
	if err != nil || string(data) != "new\n" || mode != Executable {
		t.Errorf("ReadFile = %q %o %v", data, mode, err)
	}
}

func TestSpecialFilesNeverBlock(t *testing.T) {
	r, _ := setup(t)
	fifo := filepath.Join(r.Dir, "real", "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip(err)
	}
	done := make(chan error, 3)
	go func() { _, err := ReadRegular(fifo, 0); done <- err }()
	go func() { _, _, err := r.ReadFile("real/fifo", 0); done <- err }()
	go func() { _, err := r.OpenAppend("real/fifo"); done <- err }()
	for i := 0; i < 3; i++ {
		select {
		case err := <-done:
			if !errors.Is(err, ErrNotRegular) {
				t.Errorf("reading a FIFO: %v, want ErrNotRegular", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("reading a FIFO blocked")
		}
	}
}

func TestRemoveTakesEmptyParentsAlong(t *testing.T) {
	r, _ := setup(t)
	if err := r.WriteFile("a/b/c.txt", []byte("c"), Regular, false); err != nil {
		t.Fatal(err)
	}
	if err := r.Remove("a/b/c.txt"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(r.Dir, "a")); !os.IsNotExist(err) {
		t.Errorf("empty parents left: %v", err)
	}
	if err := r.Remove("never/was"); err != nil {
		t.Errorf("removing a missing file: %v", err)
	}
}

func TestRemoveStaleTempsRemovesOnlyTemps(t *testing.T) {
	dir := t.TempDir()
	stale := []string{".a.md" + TempMarker + "123", ".a.md.chant-0f0f", "." + TempMarker + "x"}
	kept := []string{"a.md", ".hidden", "b.md" + TempMarker + "1", "c.chant-1", ".chant-"}
	for _, name := range append(append([]string{}, stale...), kept...) {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := RemoveStaleTemps(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range stale {
		if _, err := os.Lstat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Errorf("%s: stale, still there (%v)", name, err)
		}
	}
	for _, name := range kept {
		if _, err := os.Lstat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s: not a temporary file, removed (%v)", name, err)
		}
	}
	if err := RemoveStaleTemps(filepath.Join(dir, "missing")); err != nil {
		t.Errorf("a missing directory: %v", err)
	}
	if err := RemoveStaleTemps(filepath.Join(dir, "a.md")); err != nil {
		t.Errorf("a file: %v", err)
	}
}

// FileNames lists what os.ReadDir does, less directories and other
// suffixes, on a directory large enough to take several reads; Files
// gives their paths, in order, as filepath.Join makes them.
func TestFileNames(t *testing.T) {
	dir := t.TempDir()
	var want []string
	for i := 0; i < 3000; i++ {
		name := fmt.Sprintf("spec-%04d-with-a-longer-name.md", i)
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		want = append(want, name)
	}
	for _, other := range []string{"notes.txt", ".x.md.tmp-1", "md"} {
		if err := os.WriteFile(filepath.Join(dir, other), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "dir.md"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("nowhere", filepath.Join(dir, "link.md")); err != nil {
		t.Fatal(err)
	}
	want = append(want, "link.md") // not a directory: the reader refuses it
	got, err := FileNames(dir, ".md")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("FileNames: %d names, want %d", len(got), len(want))
	}
	paths, err := Files(dir+"/", ".md")
	if err != nil || len(paths) != len(want) {
		t.Fatalf("Files: %d paths, %v", len(paths), err)
	}
	for i, name := range want {
		if paths[i] != filepath.Join(dir, name) {
			t.Fatalf("Files [%d] = %q, want %q", i, paths[i], filepath.Join(dir, name))
		}
	}
	if got, err := FileNames(filepath.Join(dir, "none"), ".md"); got != nil || err != nil {
		t.Errorf("FileNames of no directory: %v, %v", got, err)
	}
	if _, err := FileNames(filepath.Join(dir, "notes.txt"), ".md"); err == nil {
		t.Error("FileNames of a file: no error")
	}
}

// RemoveStaleTemps does not read again a directory this process listed
// with no hidden name; one listed with a temporary file in it, it sweeps.
func TestRemoveStaleTempsAfterAListing(t *testing.T) {
	clean, dirty := t.TempDir(), t.TempDir()
	stale := "." + "a.md" + TempMarker + "1"
	for _, dir := range []string{clean, dirty} {
		if err := os.WriteFile(filepath.Join(dir, "a.md"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dirty, stale), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{clean, dirty} {
		if _, err := FileNames(dir, ".md"); err != nil {
			t.Fatal(err)
		}
	}
	// Left after the listing: a later sweep's.
	if err := os.WriteFile(filepath.Join(clean, stale), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{clean, dirty} {
		if err := RemoveStaleTemps(dir); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dirty, stale)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a listing saw %s, and the sweep left it: %v", stale, err)
	}
	if _, err := os.Stat(filepath.Join(clean, stale)); err != nil {
		t.Errorf("the sweep read a directory listed clean: %v", err)
	}
}

// ReadOwn reads what ReadRegular reads, but not through a symbolic link.
func TestReadOwnRefusesALink(t *testing.T) {
	dir := t.TempDir()
	file, link := filepath.Join(dir, "file"), filepath.Join(dir, "link")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("file", link); err != nil {
		t.Fatal(err)
	}
	if data, err := ReadOwn(file, 0); string(data) != "x" || err != nil {
		t.Errorf("ReadOwn(file) = %q, %v", data, err)
	}
	if data, err := ReadRegular(link, 0); string(data) != "x" || err != nil {
		t.Errorf("ReadRegular(link) = %q, %v", data, err)
	}
	if _, err := ReadOwn(link, 0); !errors.Is(err, syscall.ELOOP) {
		t.Errorf("ReadOwn(link): %v, want ELOOP", err)
	}
}
