package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/chant-run/chant/gate"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/term"
	"github.com/chant-run/chant/runner/agent"
	"github.com/chant-run/chant/runner/plan"
)

type reviewOptions struct {
	*globals
	id     string
	json   bool
	format string
}

func newReviewCmd(g *globals) *cobra.Command {
	opts := &reviewOptions{globals: g}
	c := &cobra.Command{
		Use:   "review ID [--json | --format markdown]",
		Short: "What approving a gate means: the work under review, its checks, its cost, what an approval binds",
		Long: `Show, for a gate (or any spec), what a person approving it should see: each
spec it depends on with what its agent said and its checks as recorded, and
its last landed work as a diff; what the agents reported they cost; what an
approval binds, part by part, and the review's hash. chant approve ID
--review-hash HASH approves only if nothing of it changed since. On a
terminal the review goes through $PAGER (else less). --format markdown
writes it for a pull request; --json as one object.`,
		Args: exactArgs(1, "one spec ID"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.id = args[0]
			if opts.format != "text" && opts.format != "markdown" {
				return usage(fmt.Errorf("--format %q: text or markdown", opts.format))
			}
			return runReview(opts)
		},
		ValidArgsFunction: completeIDs(g, 1),
	}
	c.Flags().BoolVar(&opts.json, "json", false, "the review as one JSON object")
	c.Flags().StringVar(&opts.format, "format", "text", "`text` (for a terminal) or markdown (for a pull request)")
	return c
}

func runReview(opts *reviewOptions) error {
	w, set, s, err := opts.listed(opts.id)
	if err != nil {
		return err
	}
	repo, err := gitrepo.Open(w.Root)
	if err != nil {
		return err
	}
	r, err := gate.NewReview(w, set, s, repo, agent.Files)
	if err != nil {
		return err
	}
	switch {
	case opts.json:
		return json.NewEncoder(opts.stdout).Encode(reviewToJSON(r))
	case opts.format == "markdown":
		r.WriteMarkdown(opts.stdout)
		return nil
	}
	return term.Page(opts.stdout, func(out io.Writer) { r.WriteText(out, term.NewStyle(opts.stdout).DiffLine) })
}

type reviewJSON struct {
	ID         string            `json:"id"`
	ReviewHash string            `json:"review_hash"`
	Binds      map[string]string `json:"binds"` // part → its hash now
	Cost       *plan.CostJSON    `json:"cost,omitempty"`
	Since      *gate.Since       `json:"since,omitempty"`
	Work       []depReviewJSON   `json:"work"`
}

type depReviewJSON struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Status string `json:"status"`
	Commit string `json:"commit,omitempty"`
	Base   string `json:"base,omitempty"`
	Stat   string `json:"stat,omitempty"`
	Patch  string `json:"patch,omitempty"`
	Record string `json:"record,omitempty"`
}

func reviewToJSON(r *gate.Review) reviewJSON {
	j := reviewJSON{ID: r.Spec.ID, ReviewHash: r.Hash, Binds: map[string]string{}, Work: []depReviewJSON{}, Since: r.Since}
	for _, p := range r.Parts() {
		j.Binds[p[0]] = p[2]
	}
	if r.Cost.Reported() {
		j.Cost = plan.CostOf(r.Cost)
	}
	for _, d := range r.Deps {
		dj := depReviewJSON{ID: d.Spec.ID, Title: d.Spec.Title, Status: d.Spec.Status, Stat: d.Stat, Patch: d.Patch, Record: d.Record}
		if !d.Commit.IsZero() {
			dj.Commit, dj.Base = d.Commit.String(), d.Base.String()
		}
		j.Work = append(j.Work, dj)
	}
	return j
}
