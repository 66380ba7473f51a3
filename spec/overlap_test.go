package spec

import (
	"fmt"
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

func TestConfigParallel(t *testing.T) {
	for src, want := range map[string]string{
		"---\ndefaults:\n  parallel: 4\n---\n":  "",
		"---\ndefaults:\n  parallel: 0\n---\n":  "",
		"---\ndefaults:\n  parallel: 65\n---\n": "config.md:3:13: defaults.parallel: 65 is not a number of specs to run at once (1 to 64)",
		"---\ndefaults:\n  parallel: -1\n---\n": "config.md:3:13: defaults.parallel: -1 is not a number of specs to run at once (1 to 64)",
		// Where phases run.
		"---\nengine: temporal\ntemporal:\n  address: h:7233\n  heartbeat: 10s\n---\n": "",
		"---\nengine: local\n---\n":               "",
		"---\nengine: kubernetes\n---\n":          "config.md:2:9: engine: \"kubernetes\" is not an engine (local or temporal)",
		"---\ntemporal:\n  heartbeat: 1ms\n---\n": "config.md:3:14: temporal.heartbeat: \"1ms\" is not a duration of a second or more (such as 30s)",
	} {
		c, err := ParseConfig("config.md", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, p := range ConfigProblems(c) {
			if p.Code == CodeConfig {
				got = fmt.Sprintf("%s:%d:%d: %s", p.Path, p.Line, p.Col, p.Message)
			}
		}
		if got != want {
			t.Errorf("%q: got %q, want %q", src, got, want)
		}
	}
	if _, err := ParseConfig("config.md", []byte("---\ndefaults:\n  parallel: many\n---\n")); err == nil {
		t.Error("parallel: many parsed")
	}
}
