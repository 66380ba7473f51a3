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
