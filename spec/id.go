package spec

import (
	"fmt"
	"iter"
	"strings"
)

// Resolve finds the spec for a full or partial ID: an exact match, else the
// unique ID ending with it, else the unique ID containing it.
func (set *Set) Resolve(partial string) (*Spec, error) {
	if s := set.byID[partial]; s != nil {
		return s, nil
	}
	id, err := ResolveID(func(yield func(string) bool) {
		for _, s := range set.Specs {
			if !yield(s.ID) {
				return
			}
		}
	}, partial)
	if err != nil {
		return nil, err
	}
	return set.byID[id], nil
}

// ResolveID is Resolve over ids (in natural order): a listing's file
// names, before the specs are read.
func ResolveID(ids iter.Seq[string], partial string) (string, error) {
	if partial == "" {
		return "", fmt.Errorf("%w %q", ErrNotFound, partial)
	}
	for id := range ids {
		if id == partial {
			return id, nil
		}
	}
	for _, match := range []func(id string) bool{
		func(id string) bool { return strings.HasSuffix(id, partial) },
		func(id string) bool { return strings.Contains(id, partial) },
	} {
		var found []string
		for id := range ids {
			if match(id) {
				found = append(found, id)
			}
		}
		switch len(found) {
		case 0:
			continue
		case 1:
			return found[0], nil
		}
		return "", fmt.Errorf("%w: %q matches %s", ErrAmbiguous, partial, strings.Join(found, ", "))
	}
	return "", fmt.Errorf("%w %q", ErrNotFound, partial)
}
