package runner

import (
	"path"
	"testing"
)

func TestPathsOverlap(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"a.go", "a.go", true},
		{"a.go", "b.go", false},
		{"./src/a.go", "src//a.go", true},
		{"src", "src/a.go", true},       // a directory and a file in it
		{"src/", "src/deep/a.go", true}, // at any depth
		{"src", "srcx/a.go", false},     // a prefix of the name is not a directory
		{"src/a.go", "src/a.go.orig", false},
		{"src/*.go", "src/a.go", true},
		{"src/*.go", "src/a.txt", false},
		{"src/*.go", "lib/a.go", false},
		{"src/*.go", "src/sub/a.go", false}, // * stays within one segment
		{"src/*", "src/sub/a.go", true},     // src/sub itself may be the target
		{"src/**", "src/sub/deep/a.go", true},
		{"**/a.go", "x/y/b.go", true}, // conservative past **
		{"src/a?.go", "src/ab.go", true},
		{"src/[ab].go", "src/c.go", false},
		{"src/*.go", "src/*_test.go", true},
		{"src/*.go", "src/*.txt", false}, // literal endings differ
		{"src/a*", "src/b*", false},      // literal beginnings differ
		{"src/a*", "src/ab*", true},
		{"src/[", "src/x", true}, // a bad pattern: assume the worst
		{"", "a.go", true},       // the whole repository
	}
	for _, c := range cases {
		if got := PathsOverlap(c.a, c.b); got != c.want {
			t.Errorf("PathsOverlap(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
		if got := PathsOverlap(c.b, c.a); got != c.want {
			t.Errorf("PathsOverlap(%q, %q) = %v, want %v (not symmetric)", c.b, c.a, got, c.want)
		}
	}
	if !TargetsOverlap([]string{"a", "b/c"}, []string{"x", "b"}) || TargetsOverlap([]string{"a"}, []string{"b"}) || TargetsOverlap(nil, []string{"b"}) {
		t.Error("TargetsOverlap")
	}
}

// FuzzPathsOverlap: never a panic; symmetric; a path overlaps itself; and
// never "disjoint" for a concrete file both patterns match.
func FuzzPathsOverlap(f *testing.F) {
	f.Add("src/*.go", "src/a.go", "src/a.go")
	f.Add("a/**", "a/b/c", "a/b/c")
	f.Add("x[", "y", "z")
	f.Fuzz(func(t *testing.T, a, b, file string) {
		if PathsOverlap(a, b) != PathsOverlap(b, a) {
			t.Fatalf("not symmetric: %q %q", a, b)
		}
		if !PathsOverlap(a, a) {
			t.Fatalf("%q does not overlap itself", a)
		}
		if matches(a, file) && matches(b, file) && !PathsOverlap(a, b) {
			t.Fatalf("%q and %q both match %q, yet were found disjoint", a, b, file)
		}
	})
}

// matches reports whether pattern (segment by segment, as target paths
// are matched) matches file exactly.
func matches(pattern, file string) bool {
	ps, fs := segments(pattern), segments(file)
	if len(ps) != len(fs) {
		return false
	}
	for i := range ps {
		if ps[i] == "**" {
			return false
		}
		if ok, err := path.Match(ps[i], fs[i]); err != nil || !ok {
			return false
		}
	}
	return true
}
