// Package builton is the record of what a spec's phase was built on and
// made, as a spec's frontmatter holds it (built_on, outputs): files by
// path with git's blob hashes. Package provenance makes and compares them.
// The record is restored for every completed spec by every command, so a
// spec keeps it as its encoding (Built), decoded when first read, and
// decoded it is sorted lists rather than maps.
package builton

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"sync/atomic"
	"unsafe"

	"gopkg.in/yaml.v3"
)

// ShortHash is how long a record's hashes are.
const ShortHash = 12

// None is the hash recorded for a file that was not there.
const None = "none"

// Record is what a phase was built on: hashes of its spec's own text, its
// prompt template ("<name> <blob>") and its agent, the commit a gate's
// approval was given at (the approval the phase spent), the files it was
// given or follows, and each spec it waits on with that spec's target
// files as the phase saw them.
type Record struct {
	Spec       string `yaml:"spec"`
	Prompt     string `yaml:"prompt"`
	Agent      string `yaml:"agent"`
	Approval   string `yaml:"approval,omitempty"`
	Context    Blobs  `yaml:"context,omitempty"`
	InformedBy Blobs  `yaml:"informed_by,omitempty"`
	Tracks     Blobs  `yaml:"tracks,omitempty"`
	Origin     Blobs  `yaml:"origin,omitempty"`
	Deps       Deps   `yaml:"deps,omitempty"`
}

// Blob is a file and its blob hash (or None).
type Blob struct{ Path, Hash string }

// Blobs are files sorted by path, each once.
type Blobs []Blob

// FromMap is m as Blobs.
func FromMap(m map[string]string) Blobs {
	out := make(Blobs, 0, len(m))
	for p, h := range m {
		out = append(out, Blob{p, h})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Get is the hash recorded for path.
func (b Blobs) Get(path string) (string, bool) {
	i := sort.Search(len(b), func(i int) bool { return b[i].Path >= path })
	if i < len(b) && b[i].Path == path {
		return b[i].Hash, true
	}
	return "", false
}

// Equal reports whether two records of files are the same.
func (b Blobs) Equal(o Blobs) bool {
	if len(b) != len(o) {
		return false
	}
	for i := range b {
		if b[i] != o[i] {
			return false
		}
	}
	return true
}

// UnmarshalYAML reads a mapping of paths to hashes.
func (b *Blobs) UnmarshalYAML(n *yaml.Node) error {
	var m map[string]string
	if err := n.Decode(&m); err != nil {
		return err
	}
	*b = FromMap(m)
	return nil
}

// Dep is a spec waited on, and its target files as a phase saw them.
type Dep struct {
	ID    string
	Files Blobs
}

// Deps are sorted by ID.
type Deps []Dep

// UnmarshalYAML reads a mapping of IDs to mappings of paths to hashes.
func (d *Deps) UnmarshalYAML(n *yaml.Node) error {
	var m map[string]Blobs
	if err := n.Decode(&m); err != nil {
		return err
	}
	*d = make(Deps, 0, len(m))
	for id, files := range m {
		*d = append(*d, Dep{id, files})
	}
	sort.Slice(*d, func(i, j int) bool { return (*d)[i].ID < (*d)[j].ID })
	return nil
}

// GobEncode writes the record as one run of length-prefixed strings: the
// listing cache decodes it with one allocation, where maps or structs
// would cost one for each.
func (r Record) GobEncode() ([]byte, error) {
	var out []byte
	str := func(s string) { out = binary.AppendUvarint(out, uint64(len(s))); out = append(out, s...) }
	num := func(n int) { out = binary.AppendUvarint(out, uint64(n)) }
	blobs := func(b Blobs) {
		num(len(b))
		for _, f := range b {
			str(f.Path)
			str(f.Hash)
		}
	}
	for _, s := range []string{r.Spec, r.Prompt, r.Agent, r.Approval} {
		str(s)
	}
	for _, b := range []Blobs{r.Context, r.InformedBy, r.Tracks, r.Origin} {
		blobs(b)
	}
	num(len(r.Deps))
	for _, d := range r.Deps {
		str(d.ID)
		blobs(d.Files)
	}
	return out, nil
}

var errCorrupt = errors.New("builton: a corrupt record")

// Built is a Record as a spec keeps it: its encoding (GobEncode's), decoded
// when first read. A listing restores the record of every completed spec
// from its cache, and most commands read none of them (status's verdicts
// are keyed by the encodings): decoding each there was a tenth of a status
// of 10,000 completed specs.
type Built struct {
	enc string
	rec atomic.Pointer[Record]
}

// Keep is r as a spec keeps it; r is not changed after.
func Keep(r *Record) *Built {
	enc, _ := r.GobEncode()
	b := &Built{enc: string(enc)}
	b.rec.Store(r)
	return b
}

// Record is the record, decoded on the first call (never nil). Callers
// do not change it.
func (b *Built) Record() *Record {
	if r := b.rec.Load(); r != nil {
		return r
	}
	r := new(Record)
	r.DecodeString(b.enc) // checked when b was read: it cannot fail
	b.rec.CompareAndSwap(nil, r)
	return b.rec.Load()
}

// Encoding is the record's encoding: two records are equal if and only if
// their encodings are.
func (b *Built) Encoding() string { return b.enc }

// GobEncode writes the record's encoding.
func (b *Built) GobEncode() ([]byte, error) { return []byte(b.enc), nil }

// GobDecode reads what GobEncode wrote.
func (b *Built) GobDecode(data []byte) error { return b.DecodeString(string(data)) }

// DecodeString keeps s, a record's encoding, once checked: a corrupt one
// fails where a cache is read, not where the record is.
func (b *Built) DecodeString(s string) error {
	d := decoder{data: unsafe.Slice(unsafe.StringData(s), len(s)), all: s}
	if err := d.record(nil); err != nil {
		return err
	}
	b.enc = s
	b.rec.Store(nil)
	return nil
}

// UnmarshalYAML reads a record from a spec's frontmatter.
func (b *Built) UnmarshalYAML(n *yaml.Node) error {
	var r Record
	if err := n.Decode(&r); err != nil {
		return err
	}
	enc, _ := r.GobEncode()
	b.enc = string(enc)
	b.rec.Store(&r)
	return nil
}

// GobDecode reads what GobEncode wrote, into one string and one slice of
// files that every list of the record shares.
func (r *Record) GobDecode(data []byte) error { return r.DecodeString(string(data)) }

// DecodeString reads what GobEncode wrote, from s, whose strings the
// record's are slices of: a listing cache (spec/store) decodes 10,000
// records so, with no copy of each.
func (r *Record) DecodeString(s string) error {
	data := unsafe.Slice(unsafe.StringData(s), len(s)) // read, never written
	// A path and a hash take some 32 bytes; append grows the shared slice
	// if that is short, each list keeping its own.
	d := decoder{data: data, all: s, files: make(Blobs, 0, len(data)/32+1)}
	*r = Record{}
	if err := d.record(r); err != nil {
		*r = Record{}
		return err
	}
	return nil
}

// decoder reads a Record's encoding; its strings are slices of all.
type decoder struct {
	data  []byte
	all   string
	off   int
	bad   bool
	files Blobs // every file of the record, each list a slice of it (nil: only check)
}

// record reads a whole record into r, or only checks it when r is nil.
func (d *decoder) record(r *Record) error {
	if r == nil {
		r = new(Record) // its strings are slices, its lists nil: nothing to copy
	}
	r.Spec, r.Prompt, r.Agent, r.Approval = d.str(), d.str(), d.str(), d.str()
	r.Context, r.InformedBy, r.Tracks, r.Origin = d.blobs(), d.blobs(), d.blobs(), d.blobs()
	if n := d.num(); n > 0 && !d.bad {
		if d.files != nil {
			r.Deps = make(Deps, 0, min(n, len(d.data)))
		}
		for i := 0; i < n && !d.bad; i++ {
			dep := Dep{d.str(), d.blobs()}
			if d.files != nil {
				r.Deps = append(r.Deps, dep)
			}
		}
	}
	if d.bad || d.off != len(d.data) {
		return fmt.Errorf("%w (%d bytes)", errCorrupt, len(d.data))
	}
	return nil
}

func (d *decoder) num() int {
	n, k := binary.Uvarint(d.data[min(d.off, len(d.data)):])
	if k <= 0 || n > uint64(len(d.data)) {
		d.bad = true
		return 0
	}
	d.off += k
	return int(n)
}

func (d *decoder) str() string {
	n := d.num()
	if d.bad || d.off+n > len(d.data) {
		d.bad = true
		return ""
	}
	d.off += n
	return d.all[d.off-n : d.off]
}

func (d *decoder) blobs() Blobs {
	n := d.num()
	if n == 0 || d.bad {
		return nil
	}
	if d.files == nil {
		for i := 0; i < n && !d.bad; i++ {
			d.str()
			d.str()
		}
		return nil
	}
	start := len(d.files)
	for i := 0; i < n && !d.bad; i++ {
		d.files = append(d.files, Blob{d.str(), d.str()})
	}
	return d.files[start:len(d.files):len(d.files)]
}

// GobEncode writes files as a Record does.
func (b Blobs) GobEncode() ([]byte, error) { return Record{Context: b}.GobEncode() }

// GobDecode reads what GobEncode wrote.
func (b *Blobs) GobDecode(data []byte) error { return b.DecodeString(string(data)) }

// DecodeString is GobDecode from s, as Record's.
func (b *Blobs) DecodeString(s string) error {
	var r Record
	err := r.DecodeString(s)
	*b = r.Context
	return err
}
