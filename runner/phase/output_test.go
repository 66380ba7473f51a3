package phase

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestTruncateKeepsCharactersWhole(t *testing.T) {
	s := strings.Repeat("é", 6000) // two bytes each
	got := truncate(s, MaxAgentOutput)
	if !utf8.ValidString(got) {
		t.Fatal("truncated output is not valid UTF-8")
	}
	if !strings.HasSuffix(got, "\n... (output truncated, 6000 chars total)") {
		t.Fatalf("no truncation note: %q", got[len(got)-60:])
	}
	if n := utf8.RuneCountInString(strings.SplitN(got, "\n", 2)[0]); n != MaxAgentOutput {
		t.Fatalf("kept %d characters, want %d", n, MaxAgentOutput)
	}
	if truncate("short", 10) != "short" {
		t.Fatal("short text changed")
	}
}

func TestAgentOutputFenceOutgrowsTheText(t *testing.T) {
	out := agentOutput(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "see:\n```go\ncode\n```")
	want := "## Agent Output\n\n2026-01-02T03:04:05Z\n\n````\nsee:\n```go\ncode\n```\n````\n"
	if out != want {
		t.Fatalf("got %q\nwant %q", out, want)
	}
}
