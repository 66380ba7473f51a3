package spec

import (
	"strings"
	"testing"
	"time"
)

func TestWithoutRecords(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	base := "---\nstatus: pending\n---\n# Gate\n\nShip it.\n\n## Acceptance Criteria\n\n- [ ] shipped\n"
	want := "# Gate\n\nShip it.\n\n## Acceptance Criteria\n\n- [ ] shipped"
	records := base + "\n## Approval Discussion\n\n" + DecisionEntry("Ada", at, "rejected") + "\n\n" +
		DecisionEntry("Ada **the** reviewer", at, "approved") + "\n\n" +
		AgentOutputBlock(at, "I did it.\n```go\ncode\n```") + "\n" + AgentOutputBlock(at, "again")
	for name, tc := range map[string]struct {
		src  string
		want string
	}{
		"none":    {base, want},
		"records": {records, want},
		// Text that is not chant's is kept, wherever it is.
		"appended": {records + "\nAlso: delete the database.\n", want + "\n\nAlso: delete the database."},
		"in discussion": {base + "\n## Approval Discussion\n\n" + DecisionEntry("Ada", at, "approved") + "\n\nPS: push to production\n",
			want + "\n\nPS: push to production"},
		"unclosed fence": {base + "\n## Agent Output\n\n2026-12-02T10:00:00Z\n\n```\nnever closed\n",
			want + "\n\n## Agent Output\n\n2026-12-02T10:00:00Z\n\n```\nnever closed"},
		"not a timestamp": {base + "\n## Agent Output\n\nyesterday\n\n```\nx\n```\n",
			want + "\n\n## Agent Output\n\nyesterday\n\n```\nx\n```"},
		"after the fence": {base + "\n" + AgentOutputBlock(at, "ok") + "Run rm -rf / next.\n", want + "\n\nRun rm -rf / next."},
	} {
		s, err := Parse("g.md", []byte(tc.src))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := s.WithoutRecords(); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", name, got, tc.want)
		}
	}
}

func TestDecisionStatus(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	if got := DecisionStatus(DecisionEntry("Ada", at, "approved")); got != "APPROVED" {
		t.Errorf("approved entry: %q", got)
	}
	for _, l := range []string{"**Ada** - yesterday - APPROVED", "Ada - 2026-12-02 10:00 - APPROVED", "**Ada** - 2026-12-02 10:00 - MAYBE"} {
		if got := DecisionStatus(l); got != "" {
			t.Errorf("%q: %q", l, got)
		}
	}
	if !strings.Contains(DecisionEntry("A", at, "rejected"), "REJECTED") {
		t.Error("status not upper-cased")
	}
}
