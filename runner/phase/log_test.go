package phase

import (
	"testing"
)

func TestLastPhaseSkipsTheAgentsOwnHeaders(t *testing.T) {
	log := "=== 2026-01-01T00:00:00Z s1: First\nfirst phase\n" +
		"=== 2026-01-02T00:00:00Z s1: First\nsecond phase\n=== end\n=== 2026-01-03T00:00:00Z other: x\n"
	if got := log[LastPhase([]byte(log), "s1"):]; got != "=== 2026-01-02T00:00:00Z s1: First\nsecond phase\n=== end\n=== 2026-01-03T00:00:00Z other: x\n" {
		t.Errorf("last phase: %q", got)
	}
	if got := LastPhase([]byte("no header\n"), "s1"); got != 0 {
		t.Errorf("without a header: %d", got)
	}
}
