package builton

import (
	"reflect"
	"sync"
	"testing"
)

func sample() *Record {
	return &Record{
		Spec: "6e85a664fbca", Prompt: "standard e142439b4333", Agent: "62ae2f13e861", Approval: "0af54f2",
		Context:    Blobs{{"a.md", "049f5837e378"}, {"b.md", None}},
		InformedBy: Blobs{{"notes.md", "049f5837e378"}},
		Deps:       Deps{{"001", Blobs{{"out/1.txt", "6ca37fc376c0"}}}, {"002", nil}},
	}
}

// A kept record comes back from its encoding as it was, however often and
// by however many goroutines at once it is first read.
func TestBuiltKeepsTheRecord(t *testing.T) {
	r := sample()
	kept := Keep(r)
	if kept.Record() != r {
		t.Fatal("Keep decodes what it was given")
	}
	var b Built
	if err := b.DecodeString(kept.Encoding()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	got := make([]*Record, 8)
	for i := range got {
		wg.Go(func() { got[i] = b.Record() })
	}
	wg.Wait()
	for _, g := range got {
		if g != got[0] {
			t.Fatal("the record was decoded twice")
		}
	}
	if !reflect.DeepEqual(got[0], r) {
		t.Fatalf("decoded\n%+v\nof\n%+v", got[0], r)
	}
	if Keep(got[0]).Encoding() != kept.Encoding() {
		t.Error("the decoded record encodes differently")
	}
}

// A corrupt encoding fails when it is read, not when the record is: every
// cut of a valid one, and one with bytes after it.
func TestBuiltRefusesACorruptEncoding(t *testing.T) {
	enc := Keep(sample()).Encoding()
	for n := range len(enc) {
		var b Built
		if b.DecodeString(enc[:n]) == nil {
			t.Errorf("the first %d bytes of %d were read as a record", n, len(enc))
		}
	}
	var b Built
	if b.DecodeString(enc+"x") == nil {
		t.Error("a byte after the record was read as part of it")
	}
}

// Checking an encoding (Built) and decoding it (Record) agree on every
// input, and what is checked decodes; nothing panics.
func FuzzBuiltDecode(f *testing.F) {
	f.Add(Keep(sample()).Encoding())
	f.Add(Keep(&Record{}).Encoding())
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		var b Built
		var r Record
		checked, decoded := b.DecodeString(s), r.DecodeString(s)
		if (checked == nil) != (decoded == nil) {
			t.Fatalf("checked: %v, decoded: %v", checked, decoded)
		}
		if checked == nil && !reflect.DeepEqual(b.Record(), &r) {
			t.Fatalf("decoded lazily\n%+v\nand at once\n%+v", b.Record(), &r)
		}
	})
}
