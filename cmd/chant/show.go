package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chant-run/chant/internal/clihelp"
	"github.com/chant-run/chant/internal/heapgoal"
	"github.com/chant-run/chant/internal/table"
	"github.com/chant-run/chant/runner/agent"
	"github.com/chant-run/chant/runner/plan"
	"github.com/chant-run/chant/spec/doc"
)

type showOptions struct {
	*globals
	id       string
	jsonMode bool
}

// showJSON is the shape of `chant show --json`: status --json's entry of
// the spec, and what show adds.
type showJSON struct {
	plan.SpecJSON
	Path               string          `json:"path"`
	Checks             []checkJSON     `json:"checks"`
	AcceptanceCriteria []criterionJSON `json:"acceptance_criteria"`
	Body               string          `json:"body"`
}

type checkJSON struct {
	Run    string `json:"run"`
	Expect string `json:"expect"`
}

type criterionJSON struct {
	Text    string `json:"text"`
	Checked bool   `json:"checked"`
}

func newShowCmd(g *globals) *cobra.Command {
	opts := &showOptions{globals: g}
	c := &cobra.Command{
		Use:               "show ID",
		Short:             "Show one spec with its state (read-only)",
		Args:              exactArgs(1, "one spec ID"),
		ValidArgsFunction: completeIDs(g, 1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.id = args[0]
			return runShow(opts)
		},
	}
	c.Flags().BoolVar(&opts.jsonMode, "json", false, "print the spec and its state as JSON")
	return clihelp.ReadOnly(c)
}

// showAsJSON prints what show says of st, as JSON.
func (opts *showOptions) showAsJSON(st *plan.State) error {
	s := st.Spec
	j := showJSON{SpecJSON: st.JSON(), Path: s.Path, Checks: []checkJSON{}, AcceptanceCriteria: []criterionJSON{},
		Body: strings.TrimSpace(string(s.Body()))}
	for _, c := range s.Checks {
		j.Checks = append(j.Checks, checkJSON{Run: c.Run, Expect: c.Expect})
	}
	for _, c := range s.Criteria() {
		j.AcceptanceCriteria = append(j.AcceptanceCriteria, criterionJSON{Text: c.Text, Checked: c.Checked})
	}
	enc := json.NewEncoder(opts.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(j)
}

func runShow(opts *showOptions) error {
	heapgoal.Listing()
	target, set, s, err := opts.listed(opts.id)
	if err != nil {
		return err
	}
	a, err := plan.Assess(target, set, time.Now(), plan.AssessOptions{})
	if err != nil {
		return err
	}
	st := a.States[s.ID]
	if opts.jsonMode {
		return opts.showAsJSON(st)
	}
	out := opts.stdout
	fmt.Fprintf(out, "%s\n%s\n\n", s.Title, strings.Repeat("=", max(len([]rune(s.Title)), 3)))
	var fields table.Fields
	row := fields.Add
	row("ID", s.ID)
	row("File", doc.DisplayPath(s.Path))
	row("Type", s.Type)
	status := st.Word()
	if st.Kind == plan.KindInvalid {
		status += " (its file says " + s.Status + ")"
	}
	if w := st.Why(); w != "" && st.Kind != plan.KindInvalid && st.Kind != plan.KindFailed && st.Kind != plan.KindStale {
		status += " (" + w + ")"
	}
	row("Status", status)
	for _, p := range st.Errors() {
		row("Invalid", plan.ProblemLine(p))
	}
	for _, f := range st.Failure {
		row("Failed", f)
	}
	for _, line := range a.StaleLines(st) {
		row("Stale", line)
	}
	if s.Accepted != nil {
		row("Accepted", s.Accepted.String())
	}
	row("Depends on", strings.Join(s.DependsOn, ", "))
	row("Target files", strings.Join(s.TargetFiles, ", "))
	row("Informed by", strings.Join(s.InformedBy, ", "))
	row("Commits", strings.Join(s.Commits, ", "))
	if s.Cost != nil {
		row("Cost", s.Cost.String())
	}
	if st.Done() {
		row("Completed at", s.CompletedAt)
	}
	if s.Gate() {
		ap := s.Approval.Status
		if s.Approval.By != "" {
			ap += " by " + s.Approval.By + " at " + s.Approval.At
		}
		if g := st.Gate; g != nil && g.Reason != "" {
			ap += ": " + g.Reason
		}
		if g := st.Gate; g != nil && g.Void != "" {
			ap += " (" + g.Void + ")"
		}
		row("Approval", "required, "+ap)
	}
	for _, c := range s.Checks {
		row("Check", fmt.Sprintf("%s (expect %s)", c.Run, c.Expect))
	}
	row("Sandbox", agent.SandboxOff(target))
	if n := len(s.Criteria()); n > 0 {
		// The criteria themselves are in the body, below.
		row("Criteria", fmt.Sprintf("%d of %d checked", n-len(s.Unchecked()), n))
	}
	if err := fields.Write(out); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n%s\n", strings.TrimSpace(string(s.Body())))
	return nil
}
