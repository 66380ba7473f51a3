package cost

import "testing"

// Costs add up: tokens always, a price where one was reported, the last
// model named.
func TestCostPlus(t *testing.T) {
	c := Cost{InputTokens: 10, OutputTokens: 2, Model: "a"}.Plus(Cost{InputTokens: 5, OutputTokens: 1})
	if c.String() != "15 tokens in, 3 out; a (no price reported)" || !c.Reported() {
		t.Errorf("unpriced: %q", c)
	}
	c = c.Plus(Cost{USD: 0.25, Priced: true, InputTokens: 1, Model: "b"})
	if c.String() != "$0.2500 (16 tokens in, 3 out; b)" {
		t.Errorf("priced: %q", c)
	}
	if (Cost{}).Reported() {
		t.Error("a zero cost reports something")
	}
}
