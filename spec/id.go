package spec

import (
	"fmt"
	"strings"
)

// Resolve finds the spec for a full or partial ID: an exact match, else the
// unique ID ending with it, else the unique ID containing it.
func (set *Set) Resolve(partial string) (*Spec, error) {
	if s := set.byID[partial]; s != nil {
		return s, nil
	}
	if partial == "" {
		return nil, fmt.Errorf("%w %q", ErrNotFound, partial)
	}
	for _, match := range []func(id string) bool{
		func(id string) bool { return strings.HasSuffix(id, partial) },
		func(id string) bool { return strings.Contains(id, partial) },
	} {
		var found []*Spec
		for _, s := range set.Specs {
			if match(s.ID) {
				found = append(found, s)
			}
		}
		switch len(found) {
		case 0:
			continue
		case 1:
			return found[0], nil
		}
		ids := make([]string, len(found))
		for i, s := range found {
			ids[i] = s.ID
		}
		return nil, fmt.Errorf("%w: %q matches %s", ErrAmbiguous, partial, strings.Join(ids, ", "))
	}
	return nil, fmt.Errorf("%w %q", ErrNotFound, partial)
}

// NaturalLess orders IDs with digit runs compared as numbers, so "x-2"
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
