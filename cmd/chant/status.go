package main

import (
	"bufio"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chant-run/chant/internal/clihelp"
	"github.com/chant-run/chant/internal/heapgoal"
	"github.com/chant-run/chant/internal/term"
	"github.com/spf13/cobra"

	"github.com/chant-run/chant/internal/table"
	"github.com/chant-run/chant/runner"
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
	drift     bool // chant drift
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
	return clihelp.ReadOnly(c)
}

// newDriftCmd is Chant's drift: the stale specs, and why each is.
func newDriftCmd(g *globals) *cobra.Command {
	opts := &statusOptions{globals: g, statuses: []string{"stale"}, drift: true}
	c := &cobra.Command{
		Use:   "drift",
		Short: "List the stale specs and what changed of what each was built on (status --status stale)",
		Args:  exactArgs(0, "no arguments"),
		RunE:  func(c *cobra.Command, args []string) error { return runStatus(opts) },
	}
	c.Flags().BoolVar(&opts.json, "json", false, "print one JSON object")
	return clihelp.ReadOnly(c)
}

func runStatus(opts *statusOptions) error {
	heapgoal.Listing()
	if err := opts.validate(); err != nil {
		return err
	}
	w, err := opts.workspace()
	if err != nil {
		return err
	}
	target, repo, exists, err := runner.FixtureTarget(w)
	if err != nil {
		return err
	}
	set, err := store.List(target)
	if err != nil {
		return err
	}
	a, err := plan.Assess(target, set, time.Now(), plan.AssessOptions{})
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
		summary["ready"] += map[bool]int{true: 1}[st.Kind == plan.KindReady]
	}

	if opts.json {
		return plan.WriteStatusJSON(opts.stdout, repo, summary, states, !target.Config.Sandbox.Off)
	}

	st := term.NewStyle(opts.stdout)
	out := bufio.NewWriter(opts.stdout)
	defer out.Flush()
	if opts.drift && len(states) == 0 {
		fmt.Fprintln(out, "Nothing is stale: every completed spec was built on what the branch holds now.")
		return out.Flush()
	}
	if exists {
		fmt.Fprintf(out, "Repository: %s\n\n", repo)
	} else {
		fmt.Fprintf(out, "Repository: %s (not made yet: '%s run' makes it from the %s fixture)\n\n",
			repo, opts.invocation(), w.Config.Fixture.Name)
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
			row = append(row, table.Cell{Text: plan.ShortCost(s.Spec.Cost)})
		}
		t.Add(row...)
	}
	if err := t.Write(out); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n%s\n", plan.SummaryLine(len(states), summary))
	if withCost > 0 {
		fmt.Fprintf(out, "Agents' usage, as their CLIs reported it: %s\n", plan.TotalWords(total, priced, withCost))
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

// statusCell is the STATUS cell: on a terminal, with a symbol and a
// colour for where the spec stands.
func statusCell(st term.Style, s *plan.State) table.Cell {
	word := s.Word()
	if !st.Color {
		return table.Cell{Text: word}
	}
	symbol, code := s.Kind.Symbol()
	return table.Cell{Text: symbol + " " + word, Paint: func(text string) string { return st.Paint(code, text) }}
}
