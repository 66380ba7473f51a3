package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/chant-run/chant/runner"
	"github.com/chant-run/chant/spec"
)

// errProblems means lint found problems it has printed.
var errProblems = errors.New("lint found problems")

type lintOptions struct {
	*globals
	json   bool
	strict bool
}

func newLintCmd(g *globals) *cobra.Command {
	opts := &lintOptions{globals: g}
	c := &cobra.Command{
		Use:   "lint",
		Short: "Check every spec and the config; one line per problem",
		Long: `Check every spec and .chant/config.md: parse errors, unknown or cancelled
dependencies, cycles, duplicate IDs, invalid values, approvals without who
and when, paths that leave the repository, missing titles (errors); empty
acceptance criteria and unknown config keys (warnings).

Each problem is one line, path:line:col: severity: message. Exit status 0
when there are no errors (with --strict, no warnings either), 1 otherwise.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, args []string) error { return runLint(opts) },
	}
	c.Flags().BoolVar(&opts.json, "json", false, "print the problems as a JSON array")
	c.Flags().BoolVar(&opts.strict, "strict", false, "fail on warnings too")
	return c
}

func runLint(opts *lintOptions) error {
	w, err := opts.workspace()
	if err != nil {
		return err
	}
	set, err := w.Load()
	if err != nil {
		return err
	}
	problems, err := lintProblems(w, set)
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
		fmt.Fprintf(opts.stderr, "%d specs checked: %d errors, %d warnings\n", len(set.Specs), errs, warns)
	}
	if errs > 0 || opts.strict && warns > 0 {
		return &reported{errProblems}
	}
	return nil
}

// lintProblems are every problem lint reports: the config's, the agent's,
// the specs', their paths', the prompt templates'.
func lintProblems(w *spec.Workspace, set *spec.Set) ([]spec.Problem, error) {
	problems := append(append(spec.ConfigProblems(w.Config), runner.AgentProblems(w)...), set.Problems()...)
	problems = append(problems, w.PathProblems(set)...)
	prompts, err := runner.PromptProblems(w)
	if err != nil {
		return nil, err
	}
	return append(problems, prompts...), nil
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
