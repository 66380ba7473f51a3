package packidx

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"

	"github.com/chant-run/chant/internal/testgit"
)

// packed makes a repository whose objects git packed (with deltas: one
// file in many versions), with a .rev beside the index or not, and
// returns the index's path.
func packed(t *testing.T, rev bool) string {
	t.Helper()
	dir := testgit.Repo(t, map[string]string{"a.txt": "a\n"})
	var text strings.Builder
	for i := range 40 {
		fmt.Fprintf(&text, "line %d of a file that changes a little each time\n", i)
		os.WriteFile(filepath.Join(dir, "big.txt"), []byte(text.String()), 0o644)
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%02d.txt", i)), []byte(fmt.Sprint(i)), 0o644)
		testgit.Git(t, dir, "add", "-A")
		testgit.Git(t, dir, "commit", "-qm", fmt.Sprint("version ", i))
	}
	testgit.Git(t, dir, "-c", fmt.Sprint("pack.writeReverseIndex=", rev), "repack", "-adfq")
	idx, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "*.idx"))
	revs, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "*.rev"))
	if len(idx) != 1 || (len(revs) == 1) != rev {
		t.Fatalf("packs: %v, reverse indexes: %v", idx, revs)
	}
	return idx[0]
}

// goGit is go-git's reading of the same index.
func goGit(t *testing.T, path string) *idxfile.MemoryIndex {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := idxfile.NewMemoryIndex()
	if err := idxfile.NewDecoder(f).Decode(m); err != nil {
		t.Fatal(err)
	}
	return m
}

func all(t *testing.T, iter func() (idxfile.EntryIter, error)) []idxfile.Entry {
	t.Helper()
	it, err := iter()
	if err != nil {
		t.Fatal(err)
	}
	var out []idxfile.Entry
	for {
		e, err := it.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, *e)
	}
}

// Every lookup agrees with go-git's decoding of the whole index, with a
// reverse index and without.
func TestLookupsAgreeWithGoGit(t *testing.T) {
	for _, rev := range []bool{true, false} {
		t.Run(fmt.Sprint("rev=", rev), func(t *testing.T) {
			path := packed(t, rev)
			x, err := Read(path)
			if err != nil {
				t.Fatal(err)
			}
			if (x.rev != nil) != rev {
				t.Fatalf("the reverse index taken: %v", x.rev != nil)
			}
			m := goGit(t, path)
			check(t, x, m)
		})
	}
}

func check(t *testing.T, x *Index, m *idxfile.MemoryIndex) {
	t.Helper()
	want := all(t, m.Entries)
	n, _ := x.Count()
	if int(n) != len(want) || len(want) == 0 {
		t.Fatalf("%d objects, go-git %d", n, len(want))
	}
	if got := all(t, x.Entries); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Entries differ from go-git's")
	}
	if got, wantByOffset := all(t, x.EntriesByOffset), all(t, m.EntriesByOffset); fmt.Sprint(got) != fmt.Sprint(wantByOffset) {
		t.Errorf("EntriesByOffset differ from go-git's")
	}
	for _, e := range want {
		if o, err := x.FindOffset(e.Hash); err != nil || o != int64(e.Offset) {
			t.Errorf("FindOffset(%s) = %d, %v; want %d", e.Hash, o, err, e.Offset)
		}
		if c, err := x.FindCRC32(e.Hash); err != nil || c != e.CRC32 {
			t.Errorf("FindCRC32(%s) = %x, %v; want %x", e.Hash, c, err, e.CRC32)
		}
		if h, err := x.FindHash(int64(e.Offset)); err != nil || h != e.Hash {
			t.Errorf("FindHash(%d) = %s, %v; want %s", e.Offset, h, err, e.Hash)
		}
		if ok, _ := x.Contains(e.Hash); !ok {
			t.Errorf("Contains(%s) is false", e.Hash)
		}
	}
	var missing plumbing.Hash
	for i := 0; i < 50; i++ {
		rand.Read(missing[:])
		if _, err := x.FindOffset(missing); !errors.Is(err, plumbing.ErrObjectNotFound) {
			t.Errorf("FindOffset of %s, in no pack: %v", missing, err)
		}
	}
	if _, err := x.FindHash(int64(want[0].Offset) + 1); !errors.Is(err, plumbing.ErrObjectNotFound) {
		t.Errorf("FindHash of an offset where no object starts: %v", err)
	}
}

// Offsets past 2 GiB go to the index's table of large offsets.
func TestLargeOffsets(t *testing.T) {
	w := new(idxfile.Writer)
	w.OnHeader(4)
	for i, o := range []uint64{12, 1 << 31, 5 << 32, 700} {
		w.Add(plumbing.Hash{byte(i * 60), byte(i)}, o, uint32(i))
	}
	if err := w.OnFooter(plumbing.Hash{1}); err != nil {
		t.Fatal(err)
	}
	m, err := w.Index()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := idxfile.NewEncoder(&buf).Encode(m); err != nil {
		t.Fatal(err)
	}
	x, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if x.nLarge != 2 {
		t.Errorf("%d large offsets", x.nLarge)
	}
	check(t, x, m)
}

// Read refuses what is no index, and a reverse index of another pack is
// not taken (the order of offsets is made instead).
func TestReadRefusesWhatIsNoIndex(t *testing.T) {
	path := packed(t, true)
	data, _ := os.ReadFile(path)
	for name, bad := range map[string][]byte{
		"empty":       nil,
		"cut":         data[:len(data)/2],
		"version 1":   append(append([]byte{}, data[:7]...), append([]byte{1}, data[8:]...)...),
		"a text file": []byte(strings.Repeat("not an index\n", 200)),
	} {
		if _, err := Parse(bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v", name, err)
		}
	}
	revPath := strings.TrimSuffix(path, ".idx") + ".rev"
	rev, _ := os.ReadFile(revPath)
	rev[len(rev)-trailerAt] ^= 1 // another pack's
	os.WriteFile(revPath, rev, 0o644)
	x, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if x.rev != nil {
		t.Error("a reverse index of another pack is taken")
	}
	check(t, x, goGit(t, path))
}

// No input makes a lookup panic.
func FuzzParse(f *testing.F) {
	w := new(idxfile.Writer)
	w.OnHeader(3)
	for i, o := range []uint64{12, 5 << 32, 700} {
		w.Add(plumbing.Hash{byte(i * 80)}, o, 0)
	}
	w.OnFooter(plumbing.Hash{})
	m, _ := w.Index()
	var buf bytes.Buffer
	idxfile.NewEncoder(&buf).Encode(m)
	f.Add(buf.Bytes(), []byte("RIDX"))
	f.Fuzz(func(t *testing.T, data, rev []byte) {
		x, err := Parse(data)
		if err != nil {
			return
		}
		x.useRev(rev)
		for _, h := range []plumbing.Hash{{}, {0x80}, {0xff, 0xff}} {
			if o, err := x.FindOffset(h); err == nil {
				x.FindHash(o)
			}
			x.FindCRC32(h)
		}
		x.FindHash(12)
		for _, it := range []func() (idxfile.EntryIter, error){x.Entries, x.EntriesByOffset} {
			if it, err := it(); err == nil {
				for {
					if _, err := it.Next(); err != nil {
						break
					}
				}
			}
		}
	})
}
