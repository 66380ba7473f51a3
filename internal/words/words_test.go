package words

import "testing"

func TestPlural(t *testing.T) {
	for n, want := range map[int]string{0: "0 specs", 1: "1 spec", 2: "2 specs"} {
		if got := Plural(n, "spec"); got != want {
			t.Errorf("Plural(%d) = %q, want %q", n, got, want)
		}
	}
}
