package store

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/chant-run/chant/spec"
)

// filled is a value of T with every exported field, at every depth, set
// to something other than its zero value, each string its own.
func filled[T any](t testing.TB) T {
	var v T
	n := 0
	var fill func(reflect.Value)
	fill = func(v reflect.Value) {
		n++
		switch v.Kind() {
		case reflect.String:
			v.SetString(fmt.Sprintf("text %d\x00é", n))
		case reflect.Bool:
			v.SetBool(true)
		case reflect.Int, reflect.Int64:
			v.SetInt(int64(-n * 1000003))
		case reflect.Uint32, reflect.Uint64:
			v.SetUint(uint64(n) * 4000000007)
		case reflect.Float64:
			v.SetFloat(float64(n) + 0.25)
		case reflect.Pointer:
			v.Set(reflect.New(v.Type().Elem()))
			fill(v.Elem())
		case reflect.Slice:
			v.Set(reflect.MakeSlice(v.Type(), 2, 2))
			fill(v.Index(0))
			fill(v.Index(1))
		case reflect.Array:
			for i := range v.Len() {
				fill(v.Index(i))
			}
		case reflect.Struct:
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					fill(v.Field(i))
				}
			}
		default:
			t.Fatalf("%s: a kind the test cannot fill", v.Type())
		}
	}
	fill(reflect.ValueOf(&v).Elem())
	return v
}

func encodeEntry(path string, e *cacheEntry) string {
	w := &encoder{}
	writeCacheEntry(w, path, e)
	return string(w.buf)
}

// TestCacheCodecCoversEverything round-trips a snapshot with every field
// set, so that a field added to spec.Fields (or any type the cache holds)
// that the codec loses, or cannot hold, fails here; and an entry.
func TestCacheCodecCoversEverything(t *testing.T) {
	sn := filled[spec.Snapshot](t)
	var back spec.Snapshot
	if err := decodeSnapshot(encodeSnapshot(&sn), &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, sn) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, sn)
	}
	e := cacheEntry{Key: filled[fileKey](t), snap: encodeSnapshot(&sn)}
	got := readCacheEntries(&decoder{data: encodeEntry("a/path.md", &e)}, 1)
	if got == nil || !reflect.DeepEqual(got["a/path.md"], &e) {
		t.Errorf("entry round trip: got %+v, want %+v", got["a/path.md"], &e)
	}
	// Nil and empty are told apart, as a parse gives them.
	var zero, again spec.Snapshot
	zero.Fields.DependsOn = []string{}
	if err := decodeSnapshot(encodeSnapshot(&zero), &again); err != nil || !reflect.DeepEqual(again, zero) {
		t.Errorf("nil and empty: %+v (%v)", again, err)
	}
}

// TestCacheCodecRefusesWhatItCannotHold: a map (or any kind without an
// encoding) is said at once, naming the type.
func TestCacheCodecRefusesWhatItCannotHold(t *testing.T) {
	defer func() {
		if r := fmt.Sprint(recover()); !strings.Contains(r, "map[string]int") {
			t.Errorf("panic %q, want one naming the map", r)
		}
	}()
	codecFor(reflect.TypeFor[struct{ M map[string]int }]())
}

// TestCacheCodecRefusesTornEntries: every prefix of a valid encoding, and
// the encoding with bytes to spare, decodes to nothing.
func TestCacheCodecRefusesTornEntries(t *testing.T) {
	sn := filled[spec.Snapshot](t)
	snap := encodeSnapshot(&sn)
	data := encodeEntry("a/path.md", &cacheEntry{Key: filled[fileKey](t), snap: snap})
	for n := range len(data) {
		if got := readCacheEntries(&decoder{data: data[:n]}, 1); got != nil {
			t.Fatalf("%d of %d bytes decoded: %v", n, len(data), got)
		}
	}
	if got := readCacheEntries(&decoder{data: data + "x"}, 1); got != nil {
		t.Error("an entry with a byte after it decoded")
	}
	for n := range len(snap) {
		var back spec.Snapshot
		if decodeSnapshot(snap[:n], &back) == nil {
			t.Fatalf("%d of %d bytes of a snapshot decoded", n, len(snap))
		}
	}
	var back spec.Snapshot
	if decodeSnapshot(snap+"x", &back) == nil {
		t.Error("a snapshot with a byte after it decoded")
	}
}

// FuzzCacheDecode: whatever the cache file holds, reading it never
// panics, and a snapshot it gives encodes and decodes back to itself.
func FuzzCacheDecode(f *testing.F) {
	sn := filled[spec.Snapshot](f)
	f.Add(encodeSnapshot(&sn), 0)
	f.Add(encodeEntry("a/path.md", &cacheEntry{snap: encodeSnapshot(&sn)}), 1)
	var small spec.Snapshot
	small.Criteria = []spec.Criterion{{Text: "x", Line: 3}}
	f.Add(encodeSnapshot(&small), 0)
	f.Add("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 2)
	f.Fuzz(func(t *testing.T, data string, count int) {
		if count > 0 && count <= len(data) {
			readCacheEntries(&decoder{data: data}, count)
		}
		var got spec.Snapshot
		if decodeSnapshot(data, &got) != nil {
			return
		}
		var back spec.Snapshot
		if err := decodeSnapshot(encodeSnapshot(&got), &back); err != nil || !reflect.DeepEqual(back, got) {
			t.Errorf("decoded %+v, again %+v (%v)", got, back, err)
		}
	})
}

// A type that decodes from a string (builton's records) is given the
// cache's own string, not a copy: what it keeps points into the file's
// text.
func TestCacheCodecHandsStringDecodersTheText(t *testing.T) {
	type holder struct{ R keeper }
	c := codecFor(reflect.TypeFor[holder]())
	w := &encoder{}
	in := holder{keeper{s: "a record's text"}}
	c.enc(w, unsafe.Pointer(&in))
	text := string(w.buf)
	var out holder
	r := &decoder{data: text}
	c.dec(r, unsafe.Pointer(&out))
	if r.err != nil || out.R.s != in.R.s {
		t.Fatalf("decoded %q (%v)", out.R.s, r.err)
	}
	if start := unsafe.StringData(text); uintptr(unsafe.Pointer(unsafe.StringData(out.R.s))) < uintptr(unsafe.Pointer(start)) ||
		uintptr(unsafe.Pointer(unsafe.StringData(out.R.s))) >= uintptr(unsafe.Pointer(start))+uintptr(len(text)) {
		t.Error("the decoder was given a copy of the text")
	}
}

// keeper is a GobEncoder that decodes from a string, and refuses bytes.
type keeper struct{ s string }

func (k keeper) GobEncode() ([]byte, error)   { return []byte(k.s), nil }
func (k *keeper) GobDecode([]byte) error      { return fmt.Errorf("given bytes") }
func (k *keeper) DecodeString(s string) error { k.s = s; return nil }
