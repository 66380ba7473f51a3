package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/chant-run/chant/runner/plan"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/doc"
)

// The words every command uses for where a spec stands (plan.State).

// statusWord is a spec's status as listed: the file's status, or invalid,
// or archived.
func statusWord(st *plan.State) string {
	switch st.Kind {
	case plan.KindInvalid:
		return "invalid"
	case plan.KindArchived:
		return "archived"
	}
	return st.Spec.Status
}

// statusWords are the values statusWord takes, for --status.
var statusWords = []string{spec.StatusPending, spec.StatusInProgress, spec.StatusPaused, spec.StatusCompleted, spec.StatusFailed,
	spec.StatusNeedsAttention, spec.StatusBlocked, spec.StatusCancelled, "invalid", "archived"}

// why says why a spec is not done, in a line; "" when it is done.
func why(st *plan.State) string {
	switch st.Kind {
	case plan.KindCompleted, plan.KindArchived:
		return ""
	case plan.KindReady:
		return "ready to run"
	case plan.KindInvalid:
		errs := st.Errors()
		msg := "invalid: " + problemLine(errs[0])
		if len(errs) > 1 {
			msg += fmt.Sprintf(" (and %d more)", len(errs)-1)
		}
		return msg
	case plan.KindCancelled:
		return "cancelled: it never runs"
	case plan.KindRunning:
		if st.Worker != "" {
			return "running now on worker " + st.Worker
		}
		return "running now"
	case plan.KindInterrupted:
		return "interrupted: the next run takes it over"
	case plan.KindFailed:
		msg := "failed"
		if len(st.Failure) > 0 {
			msg += ": " + strings.Join(st.Failure, "; ")
		}
		return msg
	case plan.KindHeld:
		return strings.ReplaceAll(st.Spec.Status, "_", " ") + " (as its file says)"
	case plan.KindBlocked:
		return "blocked: " + blockers(st)
	case plan.KindWaiting:
		return "waits on " + deps(st.Waits)
	case plan.KindRejected:
		return rejection(st.Gate)
	case plan.KindExpired:
		return "approval expired at " + st.Gate.Deadline.UTC().Format(time.RFC3339) + ", unanswered (approval.expires_after)"
	case plan.KindAwaiting:
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

// problemLine is a problem in a line, with its place.
func problemLine(p spec.Problem) string {
	return fmt.Sprintf("%s:%d:%d: %s", doc.DisplayPath(p.Path), max(p.Line, 1), max(p.Col, 1), p.Message)
}

func rejection(g *plan.GateState) string {
	msg := "rejected"
	if g.By != "" {
		msg += " by " + g.By
	}
	if g.Reason != "" {
		msg += ": " + g.Reason
	}
	return msg
}

func deps(list []plan.Dep) string {
	parts := make([]string, len(list))
	for i, d := range list {
		kind := string(d.Kind)
		if d.Kind == plan.KindHeld {
			kind = strings.ReplaceAll(d.Status, "_", " ")
		}
		parts[i] = fmt.Sprintf("%s (%s)", d.ID, kind)
	}
	return strings.Join(parts, ", ")
}

// shownCycle is the longest dependency cycle a blocked spec's reason
// spells out.
const shownCycle = 6

func blockers(st *plan.State) string {
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
		case plan.KindBlocked:
			parts[i] = d.ID + " is blocked"
		default:
			parts[i] = fmt.Sprintf("%s is %s", d.ID, d.Kind)
		}
	}
	return strings.Join(parts, ", ")
}

// plural is "1 spec", "2 specs".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
