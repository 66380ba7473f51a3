package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chant-run/chant/internal/fault"
	"github.com/chant-run/chant/internal/words"
	"github.com/chant-run/chant/runner/phase"
	"github.com/chant-run/chant/runner/plan"
)

// errDrift means a completed spec's checks no longer hold.
var errDrift = fault.New(fault.Failed, "drift")

type verifyOptions struct {
	*globals
	ids     []string
	all     bool
	head    bool
	verbose bool
	json    bool
}

func newVerifyCmd(g *globals) *cobra.Command {
	opts := &verifyOptions{globals: g}
	c := &cobra.Command{
		Use:   "verify [ID...] [--all] [--head]",
		Short: "Run completed specs' checks again, at their own commits or at HEAD, and report drift",
		Long: `Run a completed spec's checks again and check that its target files exist,
in a worktree of chant's (never yours): by default at the commit of the
spec's own work, which says whether the spec held when it was done; with
--head at HEAD, which says whether it still holds now. A check expected to
fail before a fix (a regression test) holds at its own commit even after the
fix. --all verifies every completed spec, for CI.

Exit 0 when everything holds, 1 on drift. Changes nothing.`,
		ValidArgsFunction: completeIDs(g, -1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.ids = args
			return runVerify(c.Context(), opts)
		},
	}
	c.Flags().BoolVar(&opts.all, "all", false, "verify every completed spec")
	c.Flags().BoolVar(&opts.head, "head", false, "check against HEAD rather than each spec's own commit")
	c.Flags().BoolVar(&opts.verbose, "verbose", false, "show the checks' output")
	c.Flags().BoolVar(&opts.json, "json", false, "one JSON object a spec, a line each: id, commit, holds, checks (run, expect, passed, held, output), missing")
	return c
}

func runVerify(ctx context.Context, opts *verifyOptions) error {
	switch {
	case len(opts.ids) == 0 && !opts.all:
		return usage(errors.New("verify: name the specs to verify, or --all for every completed spec"))
	case len(opts.ids) > 0 && opts.all:
		return usage(errors.New("verify: --all verifies every completed spec; name none with it"))
	}
	target, err := opts.target()
	if err != nil {
		return err
	}
	var log io.Writer = io.Discard
	if opts.verbose {
		log = opts.stdout
	}
	results, err := phase.Verify(ctx, target, phase.VerifyOptions{IDs: opts.ids, Head: opts.head, Log: log})
	if err != nil {
		return err
	}
	if err := plan.MarkStale(target, results); err != nil {
		return err
	}
	out := opts.stdout
	var drifted, stale []string
	enc := json.NewEncoder(out)
	for _, r := range results {
		v := r.Verification
		if !v.OK() {
			drifted = append(drifted, r.Spec.ID)
		}
		if r.Stale != "" {
			stale = append(stale, r.Spec.ID)
		}
		if opts.json {
			if err := enc.Encode(r); err != nil {
				return err
			}
			continue
		}
		sayVerified(out, r)
	}
	if opts.all && !opts.json {
		sayVerifiedAll(out, len(results), drifted, stale)
	}
	if len(drifted) > 0 || len(stale) > 0 {
		return &reported{errDrift}
	}
	return nil
}

// sayVerified says how one spec's verification went.
func sayVerified(out io.Writer, r phase.Verified) {
	v := r.Verification
	where := "at HEAD (" + r.Commit + ")"
	if r.Own {
		where = "at its commit " + r.Commit
	}
	if r.Note != "" {
		where += ": " + r.Note
	}
	for _, c := range v.Checks {
		mark := "ok   "
		if !c.Held {
			mark = "DRIFT"
		}
		fmt.Fprintf(out, "%s %s `%s`: %s\n", mark, r.Spec.ID, c.Check.Run, c.Describe())
		if !c.Held && c.Output != "" {
			fmt.Fprintf(out, "%s\n", c.Output)
		}
	}
	for _, f := range v.Missing {
		fmt.Fprintf(out, "DRIFT %s target file is missing: %s\n", r.Spec.ID, f)
	}
	if r.Stale != "" {
		fmt.Fprintf(out, "STALE %s: %s\n", r.Spec.ID, r.Stale)
	}
	if v.OK() && r.Stale == "" {
		fmt.Fprintf(out, "%s holds %s: %s as expected.\n", r.Spec.ID, where, words.Plural(len(v.Checks), "check"))
	} else if v.OK() {
		fmt.Fprintf(out, "%s holds %s, and is stale.\n", r.Spec.ID, where)
	} else {
		fmt.Fprintf(out, "%s does not hold %s.\n", r.Spec.ID, where)
	}
}

// sayVerifiedAll sums up verify --all.
func sayVerifiedAll(out io.Writer, n int, drifted, stale []string) {
	switch {
	case n == 0:
		fmt.Fprintln(out, "No completed specs to verify.")
	case len(drifted) == 0 && len(stale) == 0:
		fmt.Fprintf(out, "%s verified: all hold.\n", words.Plural(n, "completed spec"))
	}
	if len(drifted) > 0 {
		fmt.Fprintf(out, "%d of %s do not hold: %s.\n", len(drifted), words.Plural(n, "completed spec"), strings.Join(drifted, ", "))
	}
	if len(stale) > 0 {
		fmt.Fprintf(out, "%d of %s are stale (chant run --stale runs them again): %s.\n", len(stale), words.Plural(n, "completed spec"), strings.Join(stale, ", "))
	}
}
