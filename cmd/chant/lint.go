package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/chant-run/chant/internal/clihelp"
	"github.com/chant-run/chant/internal/fault"
	"github.com/chant-run/chant/internal/heapgoal"
	"github.com/chant-run/chant/internal/words"
	"github.com/chant-run/chant/runner/plan"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/store"
)

// errProblems means lint found problems it has printed.
var errProblems = fault.New(fault.Failed, "lint found problems")

type lintOptions struct {
	*globals
	json   bool
	strict bool
	all    bool
}

func newLintCmd(g *globals) *cobra.Command {
	opts := &lintOptions{globals: g}
	c := &cobra.Command{
		Use:   "lint",
		Short: "Check every spec and the config; one line per problem",
		Long: `Check every spec and .chant/config.md: parse errors, unknown or cancelled
dependencies, cycles, duplicate IDs, invalid values, approvals without who
and when, paths that leave the repository, missing titles, an unknown agent,
prompt templates that are missing or use unknown placeholders (errors);
empty acceptance criteria and unknown config keys (warnings). A spec with an
error is invalid: it does not run, nor what depends on it. Archived specs
never run: their problems are reported only with --all.

Each problem is one line, path:line:col: severity: message. Exit status 0
when there are no errors (with --strict, no warnings either), 1 otherwise.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, args []string) error { return runLint(opts) },
	}
	c.Flags().BoolVar(&opts.json, "json", false, "print the problems as a JSON array")
	c.Flags().BoolVar(&opts.strict, "strict", false, "fail on warnings too")
	c.Flags().BoolVar(&opts.all, "all", false, "report archived specs' problems too, as warnings (such as dependencies that no longer exist)")
	return clihelp.ReadOnly(c)
}

func runLint(opts *lintOptions) error {
	heapgoal.Listing()
	w, err := opts.workspace()
	if err != nil {
		return err
	}
	set, err := store.List(w)
	if err != nil {
		return err
	}
	problems, err := lintProblems(w, set, opts.all)
	if err != nil {
		return err
	}
	errs, warns := countProblems(problems)
	if opts.json {
		if problems == nil {
			problems = []spec.Problem{}
		}
		enc := json.NewEncoder(opts.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(problems); err != nil {
			return err
		}
	} else {
		for _, p := range problems {
			fmt.Fprintln(opts.stdout, p)
		}
		fmt.Fprintf(opts.stderr, "%s checked: %s, %s\n", words.Plural(len(set.Specs), "spec"), words.Plural(errs, "error"), words.Plural(warns, "warning"))
	}
	if errs > 0 || opts.strict && warns > 0 {
		return &reported{errProblems}
	}
	return nil
}

// lintProblems are every problem lint reports (with all, archived specs'
// too, as warnings): the same that make specs invalid and stop a run.
func lintProblems(w *spec.Workspace, set *spec.Set, all bool) ([]spec.Problem, error) {
	a, err := plan.Assess(w, set, time.Now(), plan.AssessOptions{All: all})
	if err != nil {
		return nil, err
	}
	return a.Problems, nil
}

// countProblems counts errors and warnings.
func countProblems(problems []spec.Problem) (errs, warns int) {
	for _, p := range problems {
		if p.Severity == spec.SeverityError {
			errs++
		} else {
			warns++
		}
	}
	return errs, warns
}
