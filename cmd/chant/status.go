package main

import (
	"bufio"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chant-run/chant/internal/term"
	"github.com/spf13/cobra"

	"github.com/chant-run/chant/fixture"
	"github.com/chant-run/chant/internal/table"
	"github.com/chant-run/chant/internal/words"
	"github.com/chant-run/chant/runner/agent"
	"github.com/chant-run/chant/runner/plan"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/store"
)

type statusOptions struct {
	*globals
	json      bool
	all       bool
	statuses  []string
	types     []string
	labels    []string
	ready     bool
	approvals []string
}

func newStatusCmd(g *globals) *cobra.Command {
	opts := &statusOptions{globals: g}
	c := &cobra.Command{
		Use:   "status",
		Short: "List the specs and where each stands (read-only)",
		Long: `List the specs in dependency order: ID, type, status, title and, for
anything not done, why (waits on a dependency, awaits approval, rejected,
invalid). Archived specs are listed only with --all. Filters combine; each
may be repeated or comma-separated. Never changes anything.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, args []string) error { return runStatus(opts) },
	}
	c.Flags().BoolVar(&opts.json, "json", false, "print one JSON object")
	c.Flags().BoolVar(&opts.all, "all", false, "include archived specs")
	c.Flags().StringSliceVar(&opts.statuses, "status", nil, "only specs with this `STATUS` (or archived, invalid)")
	c.Flags().StringSliceVar(&opts.types, "type", nil, "only specs of this `TYPE`")
	c.Flags().StringSliceVar(&opts.labels, "label", nil, "only specs with this `LABEL`")
	c.Flags().BoolVar(&opts.ready, "ready", false, "only specs ready to run")
	c.Flags().StringSliceVar(&opts.approvals, "approval", nil, "only gates whose approval is `STATE` (pending, approved, rejected)")
	return c
}

func runStatus(opts *statusOptions) error {
	listingMemory()
	if err := opts.validate(); err != nil {
		return err
	}
	w, err := opts.workspace()
	if err != nil {
		return err
	}
	target, repo, exists, err := fixture.Target(w)
	if err != nil {
		return err
	}
	set, err := store.List(target)
	if err != nil {
		return err
	}
	a, err := plan.Assess(target, set, time.Now(), plan.AssessOptions{Bundles: fixture.Recordings})
	if err != nil {
		return err
	}
	var states []*plan.State
	summary := map[string]int{}
	for _, s := range set.Order() {
		st := a.States[s.ID]
		if s.Archived && !opts.all || !opts.keep(st) {
			continue
		}
		states = append(states, st)
		summary[st.Word()]++
		if st.Kind == plan.KindReady {
			summary["ready"]++
		}
	}

	if opts.json {
		return plan.WriteStatusJSON(opts.stdout, repo, summary, states, !target.Config.Sandbox.Off)
	}

	st := term.NewStyle(opts.stdout)
	out := bufio.NewWriter(opts.stdout)
	defer out.Flush()
	if exists {
		fmt.Fprintf(out, "Repository: %s\n\n", repo)
	} else {
		fmt.Fprintf(out, "Repository: %s (not made yet: '%s run' makes it from the %s fixture)\n\n",
			repo, opts.invocation(), w.Config.Fixture)
	}
	var t table.Table
	total, priced, withCost := plan.TotalCost(states)
	head := []table.Cell{{Text: "ID"}, {Text: "TYPE"}, {Text: "STATUS"}, {Text: "TITLE"}, {Text: "WHY NOT DONE"}}
	if withCost > 0 {
		head = append(head, table.Cell{Text: "COST"}) // what its agents reported
	}
	for i := range head {
		head[i].Paint = st.Bold
	}
	t.Add(head...)
	for _, s := range states {
		row := []table.Cell{{Text: s.Spec.ID}, {Text: s.Spec.Type}, statusCell(st, s), {Text: s.Spec.Title}, {Text: s.Why()}}
		if withCost > 0 {
			row = append(row, table.Cell{Text: shortCost(s.Spec.Cost)})
		}
		t.Add(row...)
	}
	if err := t.Write(out); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n%s\n", summaryLine(len(states), summary))
	if withCost > 0 {
		fmt.Fprintf(out, "Agents' usage, as their CLIs reported it: %s\n", totalWords(total, priced, withCost))
	}
	if off := agent.SandboxOff(target); off != "" {
		fmt.Fprintf(out, "Sandbox: %s.\n", off)
	}
	return out.Flush()
}

// validate checks the filters' values.
func (o *statusOptions) validate() error {
	for _, v := range o.statuses {
		if !slices.Contains(plan.Words, v) {
			return usage(fmt.Errorf("--status %q: not a status (one of %s)", v, strings.Join(plan.Words, ", ")))
		}
	}
	for _, v := range o.types {
		if !slices.Contains(spec.Types(), v) {
			return usage(fmt.Errorf("--type %q: not a spec type (one of %s)", v, strings.Join(spec.Types(), ", ")))
		}
	}
	approvals := []string{spec.ApprovalPending, spec.ApprovalApproved, spec.ApprovalRejected}
	for _, v := range o.approvals {
		if !slices.Contains(approvals, v) {
			return usage(fmt.Errorf("--approval %q: not an approval state (one of %s)", v, strings.Join(approvals, ", ")))
		}
	}
	return nil
}

// keep applies the filters.
func (o *statusOptions) keep(st *plan.State) bool {
	s := st.Spec
	if len(o.statuses) > 0 && !slices.Contains(o.statuses, st.Word()) {
		return false
	}
	if len(o.types) > 0 && !slices.Contains(o.types, s.Type) {
		return false
	}
	if len(o.labels) > 0 && !slices.ContainsFunc(o.labels, func(l string) bool { return slices.Contains(s.Labels, l) }) {
		return false
	}
	if o.ready && st.Kind != plan.KindReady {
		return false
	}
	if len(o.approvals) > 0 && (!s.Gate() || !slices.Contains(o.approvals, s.Approval.Status)) {
		return false
	}
	return true
}

// shortCost is a spec's cost in a column: its price, else its tokens.
func shortCost(c *spec.Cost) string {
	switch {
	case c == nil:
		return ""
	case c.Priced:
		return fmt.Sprintf("$%.4f", c.USD)
	}
	return fmt.Sprintf("%d tokens", c.InputTokens+c.OutputTokens)
}

// totalWords says what the agents of all specs reported they used.
func totalWords(total spec.Cost, priced, all int) string {
	tokens := fmt.Sprintf("%d tokens in, %d out, over %s", total.InputTokens, total.OutputTokens, words.Plural(all, "spec"))
	switch {
	case priced == 0:
		return tokens + "; no price reported"
	case priced < all:
		return fmt.Sprintf("$%.4f for %d of them (the others' CLIs reported no price); %s", total.USD, priced, tokens)
	}
	return fmt.Sprintf("$%.4f; %s", total.USD, tokens)
}

func summaryLine(n int, counts map[string]int) string {
	var parts []string
	for _, st := range []string{"completed", "archived", "in_progress", "pending", "failed", "paused",
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

// statusCell is the STATUS cell: on a terminal, with a symbol and a
// colour for where the spec stands.
func statusCell(st term.Style, s *plan.State) table.Cell {
	word := s.Word()
	if !st.Color {
		return table.Cell{Text: word}
	}
	symbol, code := "·", "0"
	switch s.Kind {
	case plan.KindCompleted, plan.KindArchived:
		symbol, code = "✓", "32"
	case plan.KindFailed, plan.KindInvalid:
		symbol, code = "✗", "31"
	case plan.KindRunning, plan.KindInterrupted:
		symbol, code = "▶", "33"
	case plan.KindAwaiting, plan.KindRejected, plan.KindExpired:
		symbol, code = "⏸", "35"
	case plan.KindReady:
		symbol, code = "○", "36"
	}
	return table.Cell{Text: symbol + " " + word, Paint: func(text string) string { return st.Paint(code, text) }}
}
