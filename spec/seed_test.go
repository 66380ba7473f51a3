package spec

import (
	"os"
	"path/filepath"
	"testing"
)

// The two seed documents this project was created from must parse.
func TestSeedDocumentsParse(t *testing.T) {
	seeds, _ := filepath.Glob("testdata/seeds/*.txt")
	if len(seeds) == 0 {
		t.Fatal("testdata/seeds is empty")
	}
	want := map[string]struct {
		title    string
		criteria int
		deps     []string
	}{
		"000_ce23b09b9c9125b8": {"Phase 5: Fork Fix - Implement fix for Issue #42", 6, []string{"004-sprawl"}},
		"001_56ea54fcfc8b9b4c": {"Phase 6: Upstream PR - Human gate before opening real PR", 6, []string{"005-fork-fix"}},
	}
	for _, path := range seeds {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Parse(path, src)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		w := want[s.ID[:len(s.ID)-len(filepath.Ext(s.ID))]]
		t.Logf("%s: %q %d criteria deps=%v status=%s", s.ID, s.Title, len(s.Criteria()), s.DependsOn, s.Status)
		if s.Title != w.title || len(s.Criteria()) != w.criteria || len(s.Unchecked()) != 0 || s.Status != StatusCompleted {
			t.Errorf("%s: title %q, %d criteria (%d unchecked), status %s", path, s.Title, len(s.Criteria()), len(s.Unchecked()), s.Status)
		}
		for _, c := range s.Criteria() {
			if src[c.Offset] != '[' {
				t.Errorf("%s: criterion %q offset %d is %q, not '['", path, c.Text, c.Offset, src[c.Offset])
			}
		}
	}
}
