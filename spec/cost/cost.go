// Package cost is what a spec's agents reported of their usage (a spec's
// cost record) and what they may use (budget), as a spec's frontmatter and
// config.md hold them.
package cost

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Cost is what a spec's agents reported of their usage, over its phases,
// as their CLIs' structured output says.
type Cost struct {
	// USD sums the phases whose CLI reported a price; Priced says that
	// one did (usd is written): chant never guesses a price from tokens.
	USD          float64 `yaml:"usd"`
	Priced       bool    `yaml:"-"`
	InputTokens  int64   `yaml:"input_tokens"`
	OutputTokens int64   `yaml:"output_tokens"`
	Model        string  `yaml:"model"` // of the last phase
}

// Budget is what an agent may cost, as its CLI reports it.
type Budget struct {
	USD float64 `yaml:"usd"`
}

// UnmarshalYAML reads a cost, and whether it has a price.
func (c *Cost) UnmarshalYAML(n *yaml.Node) error {
	type plain Cost
	if err := n.Decode((*plain)(c)); err != nil {
		return err
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		c.Priced = c.Priced || n.Content[i].Value == "usd"
	}
	return nil
}

// Plus is c with o added: its tokens, its price where it has one (c is
// priced once either is), its model where it names one.
func (c Cost) Plus(o Cost) Cost {
	c.InputTokens += o.InputTokens
	c.OutputTokens += o.OutputTokens
	if o.Priced {
		c.USD, c.Priced = c.USD+o.USD, true
	}
	if o.Model != "" {
		c.Model = o.Model
	}
	return c
}

// Reported says whether there is anything to say of c.
func (c Cost) Reported() bool { return c.InputTokens > 0 || c.OutputTokens > 0 || c.Priced }

// String says what was used: "$0.0123 (30 tokens in, 7 out; sonnet)", or
// the tokens and that no price was reported (chant never guesses one).
func (c Cost) String() string {
	tokens := fmt.Sprintf("%d tokens in, %d out", c.InputTokens, c.OutputTokens)
	if c.Model != "" {
		tokens += "; " + c.Model
	}
	if !c.Priced {
		return tokens + " (no price reported)"
	}
	return fmt.Sprintf("$%.4f (%s)", c.USD, tokens)
}
