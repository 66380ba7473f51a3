package runner

import (
	"path"
	"strings"
)

// TargetsOverlap reports whether two specs' target files may touch the
// same file: the same path, a path under the other's directory, or
// patterns (*, ?, [...], **) that can match a common file. Specs whose
// targets overlap must never run at the same time, and their results must
// land in order: only specs whose targets are disjoint can land without a
// merge. The answer errs on the side of overlap: two patterns that might
// match a common file are taken to.
func TargetsOverlap(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if PathsOverlap(x, y) {
				return true
			}
		}
	}
	return false
}

// PathsOverlap reports whether two target paths (relative to the
// workspace, '/'-separated, possibly patterns) may name a common file, or
// one a directory holding the other.
func PathsOverlap(a, b string) bool {
	as, bs := segments(a), segments(b)
	for i := 0; i < len(as) && i < len(bs); i++ {
		if as[i] == "**" || bs[i] == "**" {
			return true // any depth: conservatively, anything below
		}
		if !segmentsMeet(as[i], bs[i]) {
			return false
		}
	}
	// Every segment both have can match: the same file, or one is a
	// directory holding the other.
	return true
}

// segments splits a cleaned path; "" and "." have none.
func segments(p string) []string {
	p = path.Clean("/" + strings.TrimSpace(p))[1:]
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func hasMeta(s string) bool { return strings.ContainsAny(s, `*?[\`) }

// segmentsMeet reports whether some name matches both path segments.
func segmentsMeet(a, b string) bool {
	switch ma, mb := hasMeta(a), hasMeta(b); {
	case !ma && !mb:
		return a == b
	case ma && !mb:
		ok, err := path.Match(a, b)
		return ok || err != nil // a bad pattern: assume the worst
	case !ma && mb:
		ok, err := path.Match(b, a)
		return ok || err != nil
	}
	// Two patterns: they cannot meet if their literal beginnings, or their
	// literal endings, differ; otherwise assume they can.
	pa, pb := literalPrefix(a), literalPrefix(b)
	if !strings.HasPrefix(pa, pb) && !strings.HasPrefix(pb, pa) {
		return false
	}
	sa, sb := literalSuffix(a), literalSuffix(b)
	return strings.HasSuffix(sa, sb) || strings.HasSuffix(sb, sa)
}

func literalPrefix(p string) string {
	if i := strings.IndexAny(p, `*?[\`); i >= 0 {
		return p[:i]
	}
	return p
}

func literalSuffix(p string) string {
	if i := strings.LastIndexAny(p, `*?]\`); i >= 0 {
		return p[i+1:]
	}
	return p
}
