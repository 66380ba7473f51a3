package phase

import (
	"errors"
	"fmt"
	"testing"

	"github.com/chant-run/chant/internal/sandbox"
)

// A stopped phase's reason, in a few words, whatever stopped it.
func TestStoppedWhy(t *testing.T) {
	for cause, want := range map[error]string{
		fmt.Errorf("%w: the Temporal server at 127.0.0.1:7233 did not answer for 2m0s (ask: deadline)", ErrEngineUnreachable): "interrupted: the Temporal server at 127.0.0.1:7233 did not answer for 2m0s",
		&editedError{"its work verified"}:                        "interrupted: its spec was edited while it ran",
		fmt.Errorf("%w: bwrap: refused", sandbox.ErrUnavailable): "interrupted: no sandbox could be made",
		errors.New("interrupted (Ctrl-C)"):                       "interrupted (Ctrl-C)",
	} {
		if got := stoppedWhy(cause); got != want {
			t.Errorf("stoppedWhy(%v) = %q, want %q", cause, got, want)
		}
	}
}
