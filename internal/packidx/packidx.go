// Package packidx reads a git pack's index (.idx, version 2) and reverse
// index (.rev) where they lie, as git does: finding an object is a binary
// search in the file's bytes. go-git's idxfile decodes every entry of
// every pack at a repository's first object read, and builds a map of
// every offset at the first delta against an earlier object: work that
// grows with the repository, paid by every command that reads an object.
//
// An Index is go-git's idxfile.Index, so that go-git's packfile reads the
// objects.
package packidx

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"

	"github.com/chant-run/chant/internal/safefs"
)

// ErrCorrupt is an index whose bytes do not add up.
var ErrCorrupt = errors.New("corrupt pack index")

const (
	hashLen   = len(plumbing.Hash{})
	fanoutAt  = 8                // after the magic number and the version
	namesAt   = fanoutAt + 4*256 // after the fanout table
	trailerAt = 2 * hashLen      // from the end: the pack's checksum, the index's
	revHeader = 12               // "RIDX", version, hash function
)

// Index is a pack's index as its file holds it.
type Index struct {
	data                 []byte
	n                    int
	crcs, offsets, large int // where each table starts in data
	nLarge               int

	rev      []byte          // the .rev file's positions, or nil
	byOffset func() []uint32 // positions in offset order, made when first needed without a .rev
}

var _ idxfile.Index = (*Index)(nil)

// Read reads the index at path (a pack's .idx) and the reverse index
// beside it, when there is one that belongs to the same pack (git writes
// them since 2.41); without, the order of offsets is made when first
// needed, as git does.
func Read(path string) (*Index, error) {
	data, err := safefs.ReadRegular(path, 0)
	if err != nil {
		return nil, err
	}
	x, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if rev, err := safefs.ReadRegular(strings.TrimSuffix(path, ".idx")+".rev", 0); err == nil {
		x.useRev(rev)
	}
	return x, nil
}

// Parse takes data, an index file's bytes, as the index (which keeps
// data: the caller does not change it after).
func Parse(data []byte) (*Index, error) {
	if len(data) < namesAt+trailerAt || !bytes.Equal(data[:4], []byte{0xff, 't', 'O', 'c'}) {
		return nil, fmt.Errorf("%w: no index header", ErrCorrupt)
	}
	if v := binary.BigEndian.Uint32(data[4:]); v != 2 {
		return nil, fmt.Errorf("%w: version %d (only 2 is read)", ErrCorrupt, v)
	}
	prev := uint32(0)
	for i := range 256 {
		v := binary.BigEndian.Uint32(data[fanoutAt+4*i:])
		if v < prev {
			return nil, fmt.Errorf("%w: its fanout table decreases", ErrCorrupt)
		}
		prev = v
	}
	n := int(prev)
	if n > (len(data)-namesAt-trailerAt)/(hashLen+8) {
		return nil, fmt.Errorf("%w: %d objects in %d bytes", ErrCorrupt, n, len(data))
	}
	x := &Index{data: data, n: n}
	x.crcs = namesAt + hashLen*n
	x.offsets = x.crcs + 4*n
	x.large = x.offsets + 4*n
	rest := len(data) - trailerAt - x.large
	if rest%8 != 0 {
		return nil, fmt.Errorf("%w: %d bytes of large offsets", ErrCorrupt, rest)
	}
	x.nLarge = rest / 8
	x.byOffset = sync.OnceValue(x.sortByOffset)
	return x, nil
}

// useRev takes a .rev file's bytes when they are of this pack's index.
func (x *Index) useRev(rev []byte) {
	if len(rev) != revHeader+4*x.n+trailerAt || !bytes.Equal(rev[:4], []byte("RIDX")) ||
		binary.BigEndian.Uint32(rev[4:]) != 1 || binary.BigEndian.Uint32(rev[8:]) != 1 ||
		!bytes.Equal(rev[len(rev)-trailerAt:len(rev)-hashLen], x.packChecksum()) {
		return
	}
	x.rev = rev[revHeader : revHeader+4*x.n]
}

func (x *Index) packChecksum() []byte {
	return x.data[len(x.data)-trailerAt : len(x.data)-hashLen]
}

func (x *Index) fanout(b int) int { return int(binary.BigEndian.Uint32(x.data[fanoutAt+4*b:])) }

func (x *Index) name(i int) []byte { return x.data[namesAt+hashLen*i : namesAt+hashLen*(i+1)] }

// find is the position of h, if the index holds it.
func (x *Index) find(h plumbing.Hash) (int, bool) {
	lo, hi := 0, x.fanout(int(h[0]))
	if h[0] > 0 {
		lo = x.fanout(int(h[0]) - 1)
	}
	i := lo + sort.Search(hi-lo, func(i int) bool { return bytes.Compare(x.name(lo+i), h[:]) >= 0 })
	return i, i < hi && bytes.Equal(x.name(i), h[:])
}

// offset is where the object at position i starts in the pack.
func (x *Index) offset(i int) (int64, error) {
	o := binary.BigEndian.Uint32(x.data[x.offsets+4*i:])
	if o&0x80000000 == 0 {
		return int64(o), nil
	}
	k := int(o & 0x7fffffff)
	if k >= x.nLarge {
		return 0, fmt.Errorf("%w: large offset %d of %d", ErrCorrupt, k, x.nLarge)
	}
	v := binary.BigEndian.Uint64(x.data[x.large+8*k:])
	if v > 1<<62 {
		return 0, fmt.Errorf("%w: offset %d", ErrCorrupt, v)
	}
	return int64(v), nil
}

// Contains reports whether the pack holds h.
func (x *Index) Contains(h plumbing.Hash) (bool, error) {
	_, ok := x.find(h)
	return ok, nil
}

// FindOffset is where h starts in the pack.
func (x *Index) FindOffset(h plumbing.Hash) (int64, error) {
	i, ok := x.find(h)
	if !ok {
		return 0, plumbing.ErrObjectNotFound
	}
	return x.offset(i)
}

// FindCRC32 is the CRC-32 of h's bytes in the pack.
func (x *Index) FindCRC32(h plumbing.Hash) (uint32, error) {
	i, ok := x.find(h)
	if !ok {
		return 0, plumbing.ErrObjectNotFound
	}
	return binary.BigEndian.Uint32(x.data[x.crcs+4*i:]), nil
}

// position is the position of the object that comes k-th in the pack.
func (x *Index) position(k int) int {
	if x.rev != nil {
		return int(binary.BigEndian.Uint32(x.rev[4*k:]))
	}
	return int(x.byOffset()[k])
}

// sortByOffset is the positions in the order of their offsets, for an
// index without a .rev.
func (x *Index) sortByOffset() []uint32 {
	pos := make([]uint32, x.n)
	for i := range pos {
		pos[i] = uint32(i)
	}
	slices.SortFunc(pos, func(a, b uint32) int {
		oa, _ := x.offset(int(a))
		ob, _ := x.offset(int(b))
		return cmp.Compare(oa, ob)
	})
	return pos
}

// FindHash is the object that starts at offset o of the pack.
func (x *Index) FindHash(o int64) (plumbing.Hash, error) {
	var err error
	k := sort.Search(x.n, func(k int) bool {
		i := x.position(k)
		if i >= x.n {
			err = fmt.Errorf("%w: reverse index position %d of %d", ErrCorrupt, i, x.n)
			return true
		}
		at, oerr := x.offset(i)
		if oerr != nil {
			err = oerr
		}
		return at >= o
	})
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if k < x.n {
		if at, _ := x.offset(x.position(k)); at == o {
			return plumbing.Hash(x.name(x.position(k))), nil
		}
	}
	return plumbing.ZeroHash, plumbing.ErrObjectNotFound
}

// Count is the number of objects in the pack.
func (x *Index) Count() (int64, error) { return int64(x.n), nil }

// Entries yields every object in the order of their hashes.
func (x *Index) Entries() (idxfile.EntryIter, error) {
	return &entries{x: x, at: func(k int) int { return k }}, nil
}

// EntriesByOffset yields every object in the order of the pack.
func (x *Index) EntriesByOffset() (idxfile.EntryIter, error) {
	for k := range x.n {
		if x.position(k) >= x.n {
			return nil, fmt.Errorf("%w: reverse index position %d of %d", ErrCorrupt, x.position(k), x.n)
		}
	}
	return &entries{x: x, at: x.position}, nil
}

type entries struct {
	x  *Index
	at func(k int) int
	k  int
}

func (e *entries) Next() (*idxfile.Entry, error) {
	if e.k >= e.x.n {
		return nil, io.EOF
	}
	i := e.at(e.k)
	e.k++
	o, err := e.x.offset(i)
	if err != nil {
		return nil, err
	}
	return &idxfile.Entry{Hash: plumbing.Hash(e.x.name(i)), CRC32: binary.BigEndian.Uint32(e.x.data[e.x.crcs+4*i:]), Offset: uint64(o)}, nil
}

func (e *entries) Close() error { e.k = e.x.n; return nil }
