package store

import (
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
	"unsafe"
)

// The listing cache's encoding. gob decoded a cache of 10,000 specs in
// 20 ms, allocating every string, on the path of every command; this one
// reads the file into one string and decodes the specs' strings as slices
// of it. Like gob it is made from the types themselves, field by field,
// so that a field added to spec.Fields is kept with no change here; a type
// that keeps its own encoding for gob (GobEncoder) keeps it here.
//
// A value's encoding: a string is its length (uvarint) and bytes; a bool
// one byte; integers varints (signed ones zigzag); a float its 8 bytes; a
// pointer 0 (nil) or 1 and its value; a slice 0 (nil) or its length + 1
// and its elements; an array its elements; a struct its exported fields
// in order; a GobEncoder's value its GobEncode bytes as a string, empty
// for the zero value (a spec without outputs decodes with no call).
// Decoding checks every length against what is left: a torn or
// foreign file fails, never panics (FuzzCacheDecode).

// codec writes and reads one type's values, at their address.
type codec struct {
	enc func(w *encoder, p unsafe.Pointer)
	dec func(r *decoder, p unsafe.Pointer)
}

var (
	codecsMu sync.Mutex
	codecs   = map[reflect.Type]*codec{}

	gobEncoder = reflect.TypeFor[gob.GobEncoder]()
	gobDecoder = reflect.TypeFor[gob.GobDecoder]()
)

// codecFor returns t's codec, made once. It panics on a kind the cache
// cannot hold (a map, an interface, ...): TestCacheCodecCoversEverything
// meets that first.
func codecFor(t reflect.Type) *codec {
	codecsMu.Lock()
	defer codecsMu.Unlock()
	return makeCodec(t)
}

func makeCodec(t reflect.Type) *codec {
	if c, ok := codecs[t]; ok {
		return c // possibly still being made: a recursive type
	}
	c := &codec{}
	codecs[t] = c
	scalar, isScalar := scalars[t.Kind()]
	switch {
	case reflect.PointerTo(t).Implements(gobEncoder) && reflect.PointerTo(t).Implements(gobDecoder):
		*c = gobCodec(t)
	case isScalar:
		*c = scalar
	case t.Kind() == reflect.Pointer:
		*c = pointerCodec(t)
	case t.Kind() == reflect.Slice:
		*c = sliceCodec(t)
	case t.Kind() == reflect.Array:
		*c = arrayCodec(t)
	case t.Kind() == reflect.Struct:
		*c = structCodec(t)
	default:
		panic(fmt.Sprintf("store: the listing cache cannot hold a %s (%s): teach its codec", t.Kind(), t))
	}
	return c
}

// scalars are the codecs of the kinds the cache's types use.
var scalars = map[reflect.Kind]codec{
	reflect.String: {
		func(w *encoder, p unsafe.Pointer) { w.str(*(*string)(p)) },
		func(r *decoder, p unsafe.Pointer) { *(*string)(p) = r.str() }},
	reflect.Bool: {
		func(w *encoder, p unsafe.Pointer) { w.uvarint(b2u(*(*bool)(p))) },
		func(r *decoder, p unsafe.Pointer) { *(*bool)(p) = r.uvarint() != 0 }},
	reflect.Int: {
		func(w *encoder, p unsafe.Pointer) { w.varint(int64(*(*int)(p))) },
		func(r *decoder, p unsafe.Pointer) { *(*int)(p) = int(r.varint()) }},
	reflect.Int64: {
		func(w *encoder, p unsafe.Pointer) { w.varint(*(*int64)(p)) },
		func(r *decoder, p unsafe.Pointer) { *(*int64)(p) = r.varint() }},
	reflect.Uint32: {
		func(w *encoder, p unsafe.Pointer) { w.uvarint(uint64(*(*uint32)(p))) },
		func(r *decoder, p unsafe.Pointer) { *(*uint32)(p) = uint32(r.uvarint()) }},
	reflect.Uint64: {
		func(w *encoder, p unsafe.Pointer) { w.uvarint(*(*uint64)(p)) },
		func(r *decoder, p unsafe.Pointer) { *(*uint64)(p) = r.uvarint() }},
	reflect.Float64: {
		func(w *encoder, p unsafe.Pointer) {
			w.buf = binary.LittleEndian.AppendUint64(w.buf, math.Float64bits(*(*float64)(p)))
		},
		func(r *decoder, p unsafe.Pointer) { *(*float64)(p) = math.Float64frombits(r.uint64()) }},
}

// stringDecoder is a GobDecoder that decodes from a string it may keep
// slices of (builton's records).
type stringDecoder interface{ DecodeString(string) error }

// gobCodec keeps the encoding a type keeps for gob.
func gobCodec(t reflect.Type) codec {
	return codec{
		func(w *encoder, p unsafe.Pointer) {
			v := reflect.NewAt(t, p)
			if v.Elem().IsZero() {
				w.str("") // and the zero value decodes without a call
				return
			}
			b, err := v.Interface().(gob.GobEncoder).GobEncode()
			if err != nil {
				w.err = err
			}
			w.str(unsafe.String(unsafe.SliceData(b), len(b)))
		},
		func(r *decoder, p unsafe.Pointer) {
			s := r.str()
			if r.err != nil || s == "" {
				return
			}
			var err error
			switch v := reflect.NewAt(t, p).Interface().(type) {
			case stringDecoder: // the cache's strings are never changed: no copy
				err = v.DecodeString(s)
			case gob.GobDecoder:
				err = v.GobDecode([]byte(s))
			}
			if err != nil {
				r.err = err
			}
		}}
}

func pointerCodec(t reflect.Type) codec {
	elem := makeCodec(t.Elem())
	return codec{
		func(w *encoder, p unsafe.Pointer) {
			v := *(*unsafe.Pointer)(p)
			if v == nil {
				w.uvarint(0)
				return
			}
			w.uvarint(1)
			elem.enc(w, v)
		},
		func(r *decoder, p unsafe.Pointer) {
			if r.uvarint() == 0 || r.err != nil {
				return
			}
			v := reflect.New(t.Elem()).UnsafePointer()
			elem.dec(r, v)
			*(*unsafe.Pointer)(p) = v
		}}
}

func sliceCodec(t reflect.Type) codec {
	elem, size := makeCodec(t.Elem()), t.Elem().Size()
	return codec{
		func(w *encoder, p unsafe.Pointer) {
			v := reflect.NewAt(t, p).Elem()
			if v.IsNil() {
				w.uvarint(0)
				return
			}
			n := v.Len()
			w.uvarint(uint64(n) + 1)
			base := v.UnsafePointer()
			for i := range n {
				elem.enc(w, unsafe.Add(base, uintptr(i)*size))
			}
		},
		func(r *decoder, p unsafe.Pointer) {
			n := r.uvarint()
			if n == 0 || r.err != nil {
				return
			}
			n--
			// Every element takes a byte at least: a length beyond what
			// is left is corrupt, not an allocation to attempt.
			if n > uint64(len(r.data)-r.off) {
				r.fail()
				return
			}
			v := reflect.MakeSlice(t, int(n), int(n))
			base := v.UnsafePointer()
			for i := range int(n) {
				elem.dec(r, unsafe.Add(base, uintptr(i)*size))
			}
			reflect.NewAt(t, p).Elem().Set(v)
		}}
}

func arrayCodec(t reflect.Type) codec {
	elem, size, n := makeCodec(t.Elem()), t.Elem().Size(), t.Len()
	return codec{
		func(w *encoder, p unsafe.Pointer) {
			for i := range n {
				elem.enc(w, unsafe.Add(p, uintptr(i)*size))
			}
		},
		func(r *decoder, p unsafe.Pointer) {
			for i := range n {
				elem.dec(r, unsafe.Add(p, uintptr(i)*size))
			}
		}}
}

// structCodec codes the exported fields, in order (gob's choice too).
func structCodec(t reflect.Type) codec {
	type field struct {
		off uintptr
		c   *codec
	}
	var fields []field
	for i := range t.NumField() {
		if f := t.Field(i); f.IsExported() {
			fields = append(fields, field{f.Offset, makeCodec(f.Type)})
		}
	}
	return codec{
		func(w *encoder, p unsafe.Pointer) {
			for _, f := range fields {
				f.c.enc(w, unsafe.Add(p, f.off))
			}
		},
		func(r *decoder, p unsafe.Pointer) {
			for _, f := range fields {
				if r.err != nil {
					return
				}
				f.c.dec(r, unsafe.Add(p, f.off))
			}
		}}
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// encoder appends encodings to buf.
type encoder struct {
	buf []byte
	err error // of a GobEncoder
}

func (w *encoder) uvarint(n uint64) { w.buf = binary.AppendUvarint(w.buf, n) }
func (w *encoder) varint(n int64)   { w.buf = binary.AppendVarint(w.buf, n) }
func (w *encoder) str(s string) {
	w.uvarint(uint64(len(s)))
	w.buf = append(w.buf, s...)
}

// decoder reads encodings from data; the strings it gives are slices of it.
type decoder struct {
	data string
	off  int
	err  error
}

var errCorruptCache = errors.New("store: a corrupt listing cache")

func (r *decoder) fail() {
	if r.err == nil {
		r.err = errCorruptCache
	}
	r.off = len(r.data)
}

func (r *decoder) uvarint() uint64 {
	var n uint64
	for shift := uint(0); r.off < len(r.data) && shift < 64; shift += 7 {
		b := r.data[r.off]
		r.off++
		n |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return n
		}
	}
	r.fail()
	return 0
}

func (r *decoder) varint() int64 {
	u := r.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

func (r *decoder) uint64() uint64 {
	if len(r.data)-r.off < 8 {
		r.fail()
		return 0
	}
	r.off += 8
	return binary.LittleEndian.Uint64([]byte(r.data[r.off-8 : r.off]))
}

func (r *decoder) str() string {
	n := r.uvarint()
	if n > uint64(len(r.data)-r.off) {
		r.fail()
		return ""
	}
	r.off += int(n)
	return r.data[r.off-int(n) : r.off]
}
