package words

import (
	"fmt"
	"sort"
	"testing"
)

func TestPlural(t *testing.T) {
	for n, want := range map[int]string{0: "0 specs", 1: "1 spec", 2: "2 specs"} {
		if got := Plural(n, "spec"); got != want {
			t.Errorf("Plural(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestNaturalLess(t *testing.T) {
	ids := []string{"x-10", "x-2", "x-1", "a", "x-02", "b.1", "b.10", "b.2", "b"}
	sort.Slice(ids, func(i, j int) bool { return NaturalLess(ids[i], ids[j]) })
	if got := fmt.Sprint(ids); got != "[a b b.1 b.2 b.10 x-1 x-2 x-02 x-10]" {
		t.Errorf("sorted = %s", got)
	}
}
