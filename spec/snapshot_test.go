package spec

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"reflect"
	"testing"
)

// fill sets every field of v, recursively, to a value that is not zero.
func fill(v reflect.Value, i int) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("v%d", i))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(i + 1))
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

// A cache keeps every field of a spec (its Snapshot, through gob): one
// added to Fields needs no change to the caches, and this fails should a
// snapshot drop one.
func TestSnapshotKeepsEveryField(t *testing.T) {
	var f Fields
	fill(reflect.ValueOf(&f).Elem(), 1)
	s := &Spec{ID: "a", Title: "A", Fields: f}
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
	if !reflect.DeepEqual(got.Fields, f) {
		t.Fatalf("the cache kept\n%+v\nof\n%+v", got.Fields, f)
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
