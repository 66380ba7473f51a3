package phase

import (
	"regexp"
	"strings"
	"testing"
)

// validKey says what the regexp it replaces says.
func TestValidKeyIsThePattern(t *testing.T) {
	pattern := regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,200}$`)
	keys := []string{"", "a", "_", ".", "-", "a.b-c_d", "a/b", "a b", "ä", "A9", "9-", ".a", "-a", "a\n",
		strings.Repeat("a", 200), strings.Repeat("a", 201), strings.Repeat("a", 202), "a" + strings.Repeat(".", 200)}
	for _, k := range keys {
		if got, want := validKey(k), pattern.MatchString(k); got != want {
			t.Errorf("validKey(%q) = %v, the pattern says %v", k, got, want)
		}
	}
}

func FuzzValidKey(f *testing.F) {
	pattern := regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,200}$`)
	f.Add("a.b-c")
	f.Fuzz(func(t *testing.T, k string) {
		if got, want := validKey(k), pattern.MatchString(k); got != want {
			t.Errorf("validKey(%q) = %v, the pattern says %v", k, got, want)
		}
	})
}
