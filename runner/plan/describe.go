package plan

import (
	"fmt"
	"github.com/chant-run/chant/spec/cost"
	"strings"
	"time"

	"github.com/chant-run/chant/internal/words"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/doc"
)

// The words every command uses for where a spec stands.

// Word is a spec's status as listed: the file's status, or invalid, or
// archived.
func (st *State) Word() string {
	switch st.Kind {
	case KindInvalid:
		return "invalid"
	case KindArchived:
		return "archived"
	case KindStale:
		return "stale"
	}
	return st.Spec.Status
}

// Words are the values Word takes, for --status.
var Words = []string{spec.StatusPending, spec.StatusInProgress, spec.StatusPaused, spec.StatusCompleted, spec.StatusFailed,
	spec.StatusNeedsAttention, spec.StatusBlocked, spec.StatusCancelled, "invalid", "archived", "stale"}

// Why says why a spec is not done, in a line; "" when it is done.
func (st *State) Why() string {
	switch st.Kind {
	case KindCompleted, KindArchived:
		return ""
	case KindStale:
		msg := "stale: " + st.StaleReason()
		switch {
		case st.Gate != nil && st.Gate.Void != "":
			msg += "; " + st.Gate.Void
		case len(st.Through) > 0:
			msg += " (runs again once they have)"
		default:
			msg += "; chant run --stale runs it again, chant accept keeps it"
		}
		return msg
	case KindReady:
		if st.Stopped != "" {
			return st.Stopped + "; ready to run again"
		}
		return "ready to run"
	case KindInvalid:
		errs := st.Errors()
		msg := "invalid: " + ProblemLine(errs[0])
		if len(errs) > 1 {
			msg += fmt.Sprintf(" (and %d more)", len(errs)-1)
		}
		return msg
	case KindCancelled:
		return "cancelled: it never runs"
	case KindRunning:
		if st.Worker != "" {
			return "running now on worker " + st.Worker
		}
		return "running now"
	case KindInterrupted:
		return "interrupted: the next run takes it over"
	case KindFailed:
		msg := "failed"
		if len(st.Failure) > 0 {
			msg += ": " + strings.Join(st.Failure, "; ")
		}
		return msg
	case KindHeld:
		return strings.ReplaceAll(st.Spec.Status, "_", " ") + " (as its file says)"
	case KindBlocked:
		return "blocked: " + blockers(st)
	case KindWaiting:
		return "waits on " + deps(st.Waits)
	case KindRejected:
		return rejection(st.Gate)
	case KindExpired:
		return "approval expired at " + st.Gate.Deadline.UTC().Format(time.RFC3339) + ", unanswered (approval.expires_after)"
	case KindAwaiting:
		if st.Gate.Void != "" {
			return st.Gate.Void
		}
		msg := "awaits approval"
		if !st.Gate.Deadline.IsZero() {
			msg += " (expires " + st.Gate.Deadline.UTC().Format(time.RFC3339) + ")"
		}
		return msg
	}
	return string(st.Kind)
}

// ProblemLine is a problem in a line, with its place.
func ProblemLine(p spec.Problem) string {
	return fmt.Sprintf("%s:%d:%d: %s", doc.DisplayPath(p.Path), max(p.Line, 1), max(p.Col, 1), p.Message)
}

func rejection(g *GateState) string {
	msg := "rejected"
	if g.By != "" {
		msg += " by " + g.By
	}
	if g.Reason != "" {
		msg += ": " + g.Reason
	}
	return msg
}

func deps(list []Dep) string {
	parts := make([]string, len(list))
	for i, d := range list {
		kind := string(d.Kind)
		if d.Kind == KindHeld {
			kind = strings.ReplaceAll(d.Status, "_", " ")
		}
		parts[i] = fmt.Sprintf("%s (%s)", d.ID, kind)
	}
	return strings.Join(parts, ", ")
}

// shownCycle is the longest dependency cycle a blocked spec's reason
// spells out.
const shownCycle = 6

func blockers(st *State) string {
	if st.Workspace {
		return "the workspace has errors (see chant lint)"
	}
	if n := len(st.Cycle) - 1; n > 0 {
		if n <= shownCycle {
			return "in a dependency cycle " + strings.Join(st.Cycle, " → ")
		}
		// Every spec of the cycle says this: a path of thousands each
		// would make status quadratic in the cycle. Lint has it once.
		return fmt.Sprintf("in a dependency cycle of %d specs through %s (chant lint shows it)", n, st.Cycle[0])
	}
	parts := make([]string, len(st.Blockers))
	for i, d := range st.Blockers {
		switch d.Kind {
		case "":
			parts[i] = d.ID + " does not exist"
		case KindBlocked:
			parts[i] = d.ID + " is blocked"
		default:
			parts[i] = fmt.Sprintf("%s is %s", d.ID, d.Kind)
		}
	}
	return strings.Join(parts, ", ")
}

// TotalCost sums what the agents of specs reported they used; priced
// counts the specs whose cost has a price, of all those with a cost.
func TotalCost(states []*State) (total cost.Cost, priced, all int) {
	for _, st := range states {
		c := st.Spec.Cost
		if c == nil {
			continue
		}
		all++
		if c.Priced {
			priced++
		}
		total = total.Plus(*c)
	}
	return total, priced, all
}

// ShortCost is a spec's cost in a column: its price, else its tokens.
func ShortCost(c *cost.Cost) string {
	switch {
	case c == nil:
		return ""
	case c.Priced:
		return fmt.Sprintf("$%.4f", c.USD)
	}
	return fmt.Sprintf("%d tokens", c.InputTokens+c.OutputTokens)
}

// TotalWords says what the agents of all specs reported they used.
func TotalWords(total cost.Cost, priced, all int) string {
	tokens := fmt.Sprintf("%d tokens in, %d out, over %s", total.InputTokens, total.OutputTokens, words.Plural(all, "spec"))
	switch {
	case priced == 0:
		return tokens + "; no price reported"
	case priced < all:
		return fmt.Sprintf("$%.4f for %d of them (the others' CLIs reported no price); %s", total.USD, priced, tokens)
	}
	return fmt.Sprintf("$%.4f; %s", total.USD, tokens)
}

// SummaryLine counts specs by the word for where each stands.
func SummaryLine(n int, counts map[string]int) string {
	var parts []string
	for _, st := range []string{"completed", "stale", "archived", "in_progress", "pending", "failed", "paused",
		"needs_attention", "blocked", "cancelled", "invalid"} {
		if counts[st] > 0 {
			part := fmt.Sprintf("%d %s", counts[st], strings.ReplaceAll(st, "_", " "))
			if st == "pending" && counts["ready"] > 0 {
				part += fmt.Sprintf(" (%d ready)", counts["ready"])
			}
			parts = append(parts, part)
		}
	}
	if len(parts) == 0 {
		return words.Plural(n, "spec")
	}
	return fmt.Sprintf("%s: %s", words.Plural(n, "spec"), strings.Join(parts, ", "))
}

// Symbol is the symbol and the terminal colour (an SGR code) of a kind.
func (k Kind) Symbol() (symbol, code string) {
	switch k {
	case KindCompleted, KindArchived:
		return "✓", "32"
	case KindFailed, KindInvalid:
		return "✗", "31"
	case KindStale:
		return "↻", "33"
	case KindRunning, KindInterrupted:
		return "▶", "33"
	case KindAwaiting, KindRejected, KindExpired:
		return "⏸", "35"
	case KindReady:
		return "○", "36"
	}
	return "·", "0"
}

// EditedProblems are the lint problems of s were its file to hold text,
// checked against the other specs of set (chant edit).
func EditedProblems(set *spec.Set, s *spec.Spec, text []byte) ([]spec.Problem, error) {
	edited, err := spec.Parse(s.Path, text)
	if err != nil {
		return nil, err
	}
	specs := []*spec.Spec{edited}
	for _, o := range set.Specs {
		if o.ID != s.ID {
			specs = append(specs, o)
		}
	}
	var out []spec.Problem
	for _, p := range spec.NewSet(specs...).Problems() {
		if p.Path == s.Path {
			out = append(out, p)
		}
	}
	return out, nil
}
