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

func encodeEntry(path string, e *cacheEntry) []byte {
	enc := &encoder{}
	enc.str(path)
	codecFor(reflect.TypeFor[cacheEntry]()).enc(enc, unsafe.Pointer(e))
	return enc.buf
}

// TestCacheCodecCoversEverything round-trips an entry with every field of
// a spec's snapshot set, so that a field added to spec.Fields (or any type
// the cache holds) that the codec loses, or cannot hold, fails here.
func TestCacheCodecCoversEverything(t *testing.T) {
	e := filled[cacheEntry](t)
	data := encodeEntry("a/path.md", &e)
	got := readCacheEntries(&decoder{data: string(data)}, 1)
	if got == nil {
		t.Fatal("the encoding of one entry did not decode")
	}
	if !reflect.DeepEqual(got["a/path.md"], &e) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got["a/path.md"], &e)
	}
	// Nil and empty are told apart, as a parse gives them.
	var zero cacheEntry
	zero.Spec.Fields.DependsOn = []string{}
	got = readCacheEntries(&decoder{data: string(encodeEntry("p", &zero))}, 1)
	if got == nil || got["p"].Spec.Fields.DependsOn == nil || got["p"].Spec.Fields.Labels != nil || got["p"].Spec.Fields.Approval != nil {
		t.Errorf("nil and empty: %+v", got["p"])
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
	e := filled[cacheEntry](t)
	data := string(encodeEntry("a/path.md", &e))
	for n := range len(data) {
		if got := readCacheEntries(&decoder{data: data[:n]}, 1); got != nil {
			t.Fatalf("%d of %d bytes decoded: %v", n, len(data), got)
		}
	}
	if got := readCacheEntries(&decoder{data: data + "x"}, 1); got != nil {
		t.Error("an entry with a byte after it decoded")
	}
}

// FuzzCacheDecode: whatever the cache file holds, reading it never
// panics, and what it gives encodes and decodes back to itself.
func FuzzCacheDecode(f *testing.F) {
	e := filled[cacheEntry](f)
	f.Add(encodeEntry("a/path.md", &e), 1)
	var s spec.Snapshot
	s.Criteria = []spec.Criterion{{Text: "x", Line: 3}}
	f.Add(encodeEntry("b.md", &cacheEntry{Spec: s}), 1)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 2)
	f.Fuzz(func(t *testing.T, data []byte, count int) {
		if count < 0 || count > len(data) {
			return
		}
		got := readCacheEntries(&decoder{data: string(data)}, count)
		if got == nil || count != 1 {
			return
		}
		for path, e := range got {
			again := encodeEntry(path, e)
			back := readCacheEntries(&decoder{data: string(again)}, 1)
			if !reflect.DeepEqual(back[path], e) {
				t.Errorf("decoded %+v, again %+v", e, back[path])
			}
		}
	})
}
