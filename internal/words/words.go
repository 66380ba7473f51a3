// Package words holds the small rules of chant's English: counts of
// things, the order numbered names are read in.
package words

import (
	"fmt"
	"strings"
)

// Plural is n and noun, plural unless n is 1: "1 spec", "2 specs".
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// NaturalLess orders names (spec IDs) with digit runs compared as numbers, so "x-2"
// sorts before "x-10".
func NaturalLess(a, b string) bool {
	for a != "" && b != "" {
		ca, cb := a[0], b[0]
		if isDigit(ca) && isDigit(cb) {
			na, ra := digitRun(a)
			nb, rb := digitRun(b)
			ta, tb := strings.TrimLeft(na, "0"), strings.TrimLeft(nb, "0")
			if len(ta) != len(tb) {
				return len(ta) < len(tb)
			}
			if ta != tb {
				return ta < tb
			}
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			a, b = ra, rb
			continue
		}
		if ca != cb {
			return ca < cb
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func digitRun(s string) (run, rest string) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

// UpperFirst is s with its first letter in upper case (ASCII).
func UpperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// AllCompleted says that all n specs are completed.
func AllCompleted(n int) string {
	if n == 1 {
		return "the one spec is completed"
	}
	return fmt.Sprintf("all %d specs are completed", n)
}
