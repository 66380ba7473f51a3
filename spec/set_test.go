package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// ParseFiles gives each file's result at its own place, whether the files
// are few enough to take in turn or many enough for workers, a file that
// cannot be parsed among them.
func TestParseFilesKeepsTheOrder(t *testing.T) {
	for _, n := range []int{1, 5, filesPerWorker + 1, 300} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			dir := t.TempDir()
			paths := make([]string, n)
			for i := range n {
				paths[i] = filepath.Join(dir, fmt.Sprintf("s%04d.md", i))
				text := fmt.Sprintf("# Spec %d\n\n## Acceptance Criteria\n\n- [ ] done\n", i)
				if i == n/2 {
					text = "---\nstatus: [\n---\n# Broken\n"
				}
				if err := os.WriteFile(paths[i], []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			out, err := ParseFiles(paths, map[string]bool{paths[0]: true}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range out {
				want := fmt.Sprintf("s%04d", i)
				if p.Spec == nil || p.Spec.ID != want || p.Spec.Archived != (i == 0) {
					t.Fatalf("result %d: %+v, want %s", i, p.Spec, want)
				}
				if broken := i == n/2; (p.Err != nil) != broken || !broken && p.Spec.Title != fmt.Sprintf("Spec %d", i) {
					t.Errorf("result %d: title %q, error %v", i, p.Spec.Title, p.Err)
				}
			}
		})
	}
}
