package spec

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"reflect"
	"testing"

	"github.com/chant-run/chant/spec/builton"
	"github.com/chant-run/chant/spec/cost"
)

// fill sets every field of v, recursively, to a value that is not zero.
func fill(v reflect.Value, i int) {
	if v.Type() == reflect.TypeFor[*builton.Built]() { // kept as its encoding
		var r builton.Record
		fill(reflect.ValueOf(&r).Elem(), i)
		v.Set(reflect.ValueOf(builton.Keep(&r)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("v%d", i))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(i + 1))
	case reflect.Float64:
		v.SetFloat(float64(i) + 0.5)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), i)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0), i)
	case reflect.Struct:
		for j := range v.NumField() {
			fill(v.Field(j), i*100+j)
		}
	}
}

// cached is s as a listing cache gives it back: its snapshot through an
// encoding of its exported fields (gob here; the cache's own codec, which
// keeps the same fields, is tested in package store, which imports this).
func cached(t *testing.T, s *Spec) *Spec {
	t.Helper()
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(s.Snapshot(nil)); err != nil {
		t.Fatal(err)
	}
	var sn Snapshot
	if err := gob.NewDecoder(&buf).Decode(&sn); err != nil {
		t.Fatal(err)
	}
	got, err := sn.Restore("/x/a.md", "a.md", &Spec{})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// A cache keeps every field of a spec (its Snapshot, through gob): one
// added to Fields needs no change to the caches, and this fails should a
// snapshot drop one.
func TestSnapshotKeepsEveryField(t *testing.T) {
	var f Fields
	fill(reflect.ValueOf(&f).Elem(), 1)
	s := &Spec{ID: "a", Title: "A", Fields: f}
	got := cached(t, s)
	if !reflect.DeepEqual(got.BuiltOn.Record(), f.BuiltOn.Record()) || got.BuiltOn.Encoding() != f.BuiltOn.Encoding() {
		t.Fatalf("the cache kept the record\n%+v\nof\n%+v", got.BuiltOn.Record(), f.BuiltOn.Record())
	}
	gotf, want := got.Fields, f
	gotf.BuiltOn, want.BuiltOn = nil, nil // compared above: a record decoded twice is equal, not the same
	if !reflect.DeepEqual(gotf, want) {
		t.Fatalf("the cache kept\n%+v\nof\n%+v", gotf, want)
	}
	// And every field is read from its key.
	for key := range fieldIndex() {
		if (&Spec{}).field(key) == nil {
			t.Errorf("no field for key %q", key)
		}
	}
	if len(fieldIndex()) != reflect.TypeOf(Fields{}).NumField() {
		t.Errorf("%d keys for %d fields: a field without its own yaml key", len(fieldIndex()), reflect.TypeOf(Fields{}).NumField())
	}
}

// A cost of $0 is a price reported, which a cost without usd is not; both
// survive the cache.
func TestCostPriced(t *testing.T) {
	for src, priced := range map[string]bool{
		"---\ncost: {usd: 0, input_tokens: 5, output_tokens: 1}\n---\n# A\n": true,
		"---\ncost: {input_tokens: 5, output_tokens: 1}\n---\n# A\n":         false,
	} {
		s, err := Parse("a.md", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []*cost.Cost{s.Cost, cached(t, s).Cost} {
			if c == nil || c.Priced != priced || c.InputTokens != 5 || c.USD != 0 {
				t.Errorf("%q: cost %+v, want priced %v", src, c, priced)
			}
		}
	}
}
