package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/chant-run/chant/fixture"
	"github.com/chant-run/chant/runner"
	"github.com/chant-run/chant/spec"
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

// statusJSON is the shape of `chant status --json`.
type statusJSON struct {
	Repo    string         `json:"repo"`
	Summary map[string]int `json:"summary"`
	Specs   []specJSON     `json:"specs"`
}

type specJSON struct {
	ID          string       `json:"id"`
	Title       string       `json:"title"`
	Type        string       `json:"type"`
	Status      string       `json:"status"`
	Archived    bool         `json:"archived,omitempty"`
	DependsOn   []string     `json:"depends_on"`
	TargetFiles []string     `json:"target_files"`
	Labels      []string     `json:"labels"`
	Commits     []string     `json:"commits"`
	Approval    approvalJSON `json:"approval"`
	Criteria    criteriaJSON `json:"criteria"`
	Ready       bool         `json:"ready"`
	BlockedBy   []string     `json:"blocked_by"`
	Reason      string       `json:"reason,omitempty"`
	Valid       bool         `json:"valid"`
	Error       string       `json:"error,omitempty"`
}

type approvalJSON struct {
	Required bool   `json:"required"`
	Status   string `json:"status,omitempty"`
	By       string `json:"by,omitempty"`
	At       string `json:"at,omitempty"`
}

type criteriaJSON struct {
	Checked int `json:"checked"`
	Total   int `json:"total"`
}

// row is one listed spec with everything status shows about it.
type row struct {
	s       *spec.Spec
	r       spec.Readiness
	invalid string
}

func (r row) state() string {
	switch {
	case r.invalid != "":
		return "invalid"
	case r.s.Archived:
		return "archived"
	}
	return r.s.Status
}

func runStatus(opts *statusOptions) error {
	w, err := opts.workspace()
	if err != nil {
		return err
	}
	target, repo, exists, err := fixture.Target(w)
	if err != nil {
		return err
	}
	set, err := target.Load()
	if err != nil {
		return err
	}
	invalid := invalidByPath(set)
	readiness, err := runner.Readiness(target, set, time.Now())
	if err != nil {
		return err
	}
	var rows []row
	summary := map[string]int{}
	for _, s := range set.Order() {
		r := row{s: s, r: readiness[s.ID], invalid: invalid[s.Path]}
		if r.s.Archived && !opts.all || !opts.keep(r) {
			continue
		}
		rows = append(rows, r)
		summary[r.state()]++
		if r.r.Ready && r.invalid == "" {
			summary["ready"]++
		}
	}

	if opts.json {
		out := statusJSON{Repo: repo, Summary: summary, Specs: []specJSON{}}
		for _, r := range rows {
			out.Specs = append(out.Specs, r.json())
		}
		enc := json.NewEncoder(opts.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}

	st := newStyle(opts.stdout)
	out := bufio.NewWriter(opts.stdout) // tabwriter writes cell by cell
	defer out.Flush()
	if exists {
		fmt.Fprintf(out, "Repository: %s\n\n", repo)
	} else {
		fmt.Fprintf(out, "Repository: %s (not made yet: '%s run' makes it from the %s fixture)\n\n",
			repo, opts.invocation(), w.Config.Fixture)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, st.header("ID\tTYPE\tSTATUS\tTITLE\tWHY NOT DONE"))
	for _, r := range rows {
		why := r.r.Reason
		switch {
		case r.invalid != "":
			why = "invalid: " + r.invalid
		case r.r.Ready:
			why = "ready to run"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.s.ID, r.s.Type, st.status(r), r.s.Title, why)
	}
	tw.Flush()
	fmt.Fprintf(out, "\n%s\n", summaryLine(len(rows), summary))
	return out.Flush()
}

// keep applies the filters.
func (o *statusOptions) keep(r row) bool {
	if len(o.statuses) > 0 && !slices.Contains(o.statuses, r.state()) && !slices.Contains(o.statuses, r.s.Status) {
		return false
	}
	if len(o.types) > 0 && !slices.Contains(o.types, r.s.Type) {
		return false
	}
	if len(o.labels) > 0 && !overlaps(o.labels, r.s.Labels) {
		return false
	}
	if o.ready && !(r.r.Ready && r.invalid == "") {
		return false
	}
	if len(o.approvals) > 0 && (!r.s.Gate() || !slices.Contains(o.approvals, r.s.Approval.Status)) {
		return false
	}
	return true
}

func (r row) json() specJSON {
	s := r.s
	j := specJSON{
		ID: s.ID, Title: s.Title, Type: s.Type, Status: s.Status, Archived: s.Archived,
		DependsOn: nonNil(s.DependsOn), TargetFiles: nonNil(s.TargetFiles), Labels: nonNil(s.Labels),
		Commits: nonNil(s.Commits), BlockedBy: nonNil(r.r.BlockedBy),
		Criteria: criteriaJSON{Checked: len(s.Criteria()) - len(s.Unchecked()), Total: len(s.Criteria())},
		Ready:    r.r.Ready && r.invalid == "", Reason: r.r.Reason, Valid: r.invalid == "", Error: r.invalid,
	}
	if s.Approval != nil {
		j.Approval = approvalJSON{Required: s.Approval.Required, Status: s.Approval.Status, By: s.Approval.By, At: s.Approval.At}
	}
	return j
}

// invalidByPath maps each file that did not parse to its error.
func invalidByPath(set *spec.Set) map[string]string {
	out := map[string]string{}
	for _, e := range set.Invalid {
		var located *spec.Error
		var list spec.Errors
		if errors.As(e, &list) && len(list) > 0 {
			errors.As(list[0], &located)
		} else {
			errors.As(e, &located)
		}
		if located != nil && out[located.Path] == "" {
			out[located.Path] = e.Error()
		}
	}
	return out
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
		return fmt.Sprintf("%d specs", n)
	}
	return fmt.Sprintf("%d specs: %s", n, strings.Join(parts, ", "))
}

// style colours status on a terminal; plain text otherwise or with NO_COLOR.
type style struct{ color bool }

func newStyle(w io.Writer) style {
	f, ok := w.(*os.File)
	noColor := os.Getenv("NO_COLOR") != "" // no-color.org: set and not empty
	return style{color: ok && !noColor && term.IsTerminal(int(f.Fd()))}
}

func (st style) header(s string) string {
	if !st.color {
		return s
	}
	return "\x1b[1m" + s + "\x1b[0m"
}

func (st style) status(r row) string {
	state := r.state()
	if !st.color {
		return state
	}
	symbol, code := "·", "0"
	switch {
	case state == "completed" || state == "archived":
		symbol, code = "✓", "32"
	case state == "failed" || state == "invalid":
		symbol, code = "✗", "31"
	case state == "in_progress":
		symbol, code = "▶", "33"
	case r.r.Gate:
		symbol, code = "⏸", "35"
	case r.r.Ready:
		symbol, code = "○", "36"
	}
	return fmt.Sprintf("\x1b[%sm%s %s\x1b[0m", code, symbol, state)
}

func nonNil(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}

func overlaps(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}
