package spec

import (
	"errors"
	"strings"

	"github.com/chant-run/chant/spec/doc"
)

// Snapshot is a parsed spec without its text, as a cache keeps it (with
// gob): its Fields whole, so that a field added there is kept with no
// change here, and what parsing found.
type Snapshot struct {
	ID, Title     string
	Fields        Fields
	Criteria      []Criterion
	Layout        [8]int // layout, in field order
	HasFM, Broken bool
	Errs          []SnapshotError // the parse errors
	Own           string          // OwnHash, for a spec with a BuiltOn record
}

// SnapshotError is a parse error of a Snapshot's file.
type SnapshotError struct {
	Line, Col int
	Msg       string
}

// Snapshot is s as a cache keeps it, with err, what parsing it found.
func (s *Spec) Snapshot(err error) Snapshot {
	l := s.layout
	sn := Snapshot{
		ID: s.ID, Title: s.Title, Fields: s.Fields, Criteria: s.Criteria(),
		Layout: [8]int{l.BOM, l.YAMLStart, l.YAMLEnd, l.BodyStart, l.CloseLine, l.YAMLOffset},
		HasFM:  l.HasFM, Broken: s.broken,
	}
	if s.BuiltOn != nil {
		sn.Own = s.OwnHash()
	}
	var list Errors
	var one *Error
	switch {
	case err == nil:
	case errors.As(err, &list):
		for _, x := range list {
			if errors.As(x, &one) {
				sn.Errs = append(sn.Errs, SnapshotError{one.Line, one.Col, one.Msg})
			}
		}
	case errors.As(err, &one):
		sn.Errs = append(sn.Errs, SnapshotError{one.Line, one.Col, one.Msg})
	}
	return sn
}

// Restore makes the spec of the file at path (shown as name) again in s
// (zero), its text to be read when needed, and its parse errors.
func (sn *Snapshot) Restore(path, name string, s *Spec) (*Spec, error) {
	s.ID, s.Path, s.abs, s.Title, s.Fields, s.broken, s.own = sn.ID, name, path, sn.Title, sn.Fields, sn.Broken, sn.Own
	s.layout = doc.Layout{BOM: sn.Layout[0], YAMLStart: sn.Layout[1], YAMLEnd: sn.Layout[2], BodyStart: sn.Layout[3],
		CloseLine: sn.Layout[4], YAMLOffset: sn.Layout[5], HasFM: sn.HasFM}
	s.criteria = sn.Criteria
	s.criteriaOnce.Do(func() {})
	var errs Errors
	for _, x := range sn.Errs {
		errs = append(errs, &Error{Path: name, Line: x.Line, Col: x.Col, Msg: x.Msg})
	}
	switch len(errs) {
	case 0:
		return s, nil
	case 1:
		return s, errs[0]
	}
	return s, errs
}

// Listed leaves s as a listing holds it: its criteria parsed from the text
// at hand, its strings in one allocation (compact), and its text dropped,
// read again from path when needed (so that a listing holds as little as
// a cache gives).
func (s *Spec) Listed(path string) {
	s.Criteria()
	if s.BuiltOn != nil {
		s.OwnHash() // while its text is at hand
	}
	compact(s)
	s.src, s.abs = nil, path
}

// compact moves the strings of s into one allocation: a listing of
// 100,000 specs otherwise holds millions of small strings scattered among
// what parsing left, which keeps the heap twice the size of what it holds.
func compact(s *Spec) {
	size := 0
	each := func(f func(*string)) {
		for _, p := range []*string{&s.ID, &s.Path, &s.Type, &s.Status, &s.Prompt, &s.Model, &s.CompletedAt,
			&s.VerificationStatus, &s.LastVerified, &s.Title} {
			f(p)
		}
		for _, l := range []*[]string{&s.DependsOn, &s.Labels, &s.TargetFiles, &s.Context, &s.InformedBy, &s.Commits,
			&s.Members, &s.VerificationFailures} {
			for i := range *l {
				f(&(*l)[i])
			}
		}
		if a := s.Approval; a != nil {
			for _, p := range []*string{&a.Status, &a.By, &a.At, &a.Hash, &a.Commit} {
				f(p)
			}
		}
		for i := range s.Checks {
			for _, p := range []*string{&s.Checks[i].Run, &s.Checks[i].Expect, &s.Checks[i].Timeout} {
				f(p)
			}
		}
		for i := range s.criteria {
			f(&s.criteria[i].Text)
		}
	}
	each(func(p *string) { size += len(*p) })
	var b strings.Builder
	b.Grow(size)
	each(func(p *string) { b.WriteString(*p) })
	all, off := b.String(), 0
	each(func(p *string) {
		n := len(*p)
		*p, off = all[off:off+n], off+n
	})
}
