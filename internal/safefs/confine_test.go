package safefs

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// A Confinement answers as Escapes does for every path, whether it looks a
// file up by itself or, past listAfter lookups in its directory, from the
// directory read once.
func TestConfinementAgreesWithEscapes(t *testing.T) {
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "x"), []byte("x"), 0o644)
	d := filepath.Join(root, "d")
	os.MkdirAll(d, 0o755)
	var paths []string
	for i := range 3 * listAfter {
		p := filepath.Join(d, fmt.Sprintf("f%02d.txt", i))
		os.WriteFile(p, []byte("f"), 0o644)
		paths = append(paths, p)
	}
	links := map[string]string{
		"out.txt":  filepath.Join(outside, "x"), // a file outside
		"in.txt":   filepath.Join(d, "f00.txt"), // one inside
		"dangling": filepath.Join(outside, "none"),
		"outdir":   outside,
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(d, name)); err != nil {
			t.Fatal(err)
		}
	}
	// The links are looked up last, once the directory has been read, and
	// again first, by a fresh Confinement.
	probes := append(append([]string{}, paths...),
		filepath.Join(d, "out.txt"), filepath.Join(d, "in.txt"), filepath.Join(d, "dangling"),
		filepath.Join(d, "outdir", "x"), filepath.Join(d, "missing.txt"), filepath.Join(root, "top.txt"))
	for _, order := range [][]string{probes, append(probes[len(paths):len(paths):len(paths)], probes...)} {
		c := NewConfinement(root)
		for _, p := range order {
			if got, want := c.Escapes(p), Escapes(root, p); got != want {
				t.Errorf("Escapes(%s) = %v, want %v", p, got, want)
			}
		}
	}
	c := NewConfinement(root)
	for _, p := range probes {
		c.Escapes(p)
	}
	if f := c.dirs[d]; f == nil || f.links == nil || !f.links["out.txt"] || f.links["f00.txt"] {
		t.Errorf("the directory of %d lookups was not read once: %+v", len(paths), f)
	}
	if !c.Escapes(filepath.Join(d, "out.txt")) {
		t.Error("a link leading outside was not found")
	}
}
