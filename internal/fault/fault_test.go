package fault

import (
	"errors"
	"fmt"
	"testing"
)

func TestOf(t *testing.T) {
	bad := New(Input, "bad")
	failed := New(Failed, "failed")
	for _, c := range []struct {
		err  error
		want Class
	}{
		{errors.New("plain"), Unclassified},
		{bad, Input},
		{fmt.Errorf("spec x: %w", bad), Input},
		{fmt.Errorf("%w: %w", bad, failed), Failed},
		{fmt.Errorf("%w: %w", failed, bad), Failed},
		{errors.Join(errors.New("a"), fmt.Errorf("b: %w", bad)), Input},
		{nil, Unclassified},
	} {
		if got := Of(c.err); got != c.want {
			t.Errorf("Of(%v) = %v, want %v", c.err, got, c.want)
		}
	}
	if !errors.Is(fmt.Errorf("x: %w", bad), bad) {
		t.Error("a sentinel is not found by errors.Is")
	}
}

func TestClassify(t *testing.T) {
	base := errors.New("--wait -1s: not a duration")
	err := Classify(Input, base)
	if Of(err) != Input || err.Error() != base.Error() || !errors.Is(err, base) {
		t.Errorf("Classify: class %v, %q", Of(err), err)
	}
	if Of(fmt.Errorf("run: %w", Classify(Failed, base))) != Failed {
		t.Error("Classify's class is lost when wrapped")
	}
}
