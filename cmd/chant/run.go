package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/chant-run/chant/fixture"
	"github.com/chant-run/chant/runner"
	"github.com/chant-run/chant/spec"
)

type runOptions struct {
	*globals
	ids          []string
	quiet        bool
	skipCriteria bool
	record       bool
	prompt       string
}

func newRunCmd(g *globals) *cobra.Command {
	opts := &runOptions{globals: g}
	c := &cobra.Command{
		Use:   "run [ID...]",
		Short: "Run every ready spec in dependency order, stopping at human gates",
		Long: `Run every ready spec, one after another in dependency order, until none is
ready. Each spec's agent does its work; chant verifies it (acceptance
criteria checked, target files changed, checks holding) and commits it as
"chant(<id>): <title>". A spec that needs an approval stops the run.

With IDs (partial IDs work when unique), run only those specs.`,
		ValidArgsFunction: completeIDs(g, -1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.ids = args
			return runRun(c.Context(), opts)
		},
	}
	c.Flags().BoolVarP(&opts.quiet, "quiet", "q", false, "do not stream the agent's output (it is still logged)")
	c.Flags().BoolVar(&opts.skipCriteria, "skip-criteria", false, "complete specs whose criteria are not all checked (recorded as verification_status: partial)")
	c.Flags().BoolVar(&opts.record, "record", false, "save what the agent did as a replay recording in .chant/recordings/<id>/")
	c.Flags().StringVar(&opts.prompt, "prompt", "", "use the prompt template .chant/prompts/`NAME`.md for every spec")
	return c
}

func runRun(ctx context.Context, opts *runOptions) error {
	w, err := opts.workspace()
	if err != nil {
		return err
	}

	live := newLiveOutput(opts.stdout)
	defer live.Close()
	out := io.Writer(live)
	var stream io.Writer
	if !opts.quiet {
		stream = out
	}
	target, err := opts.prepare(w, time.Now())
	if err != nil {
		return err
	}
	if target == w {
		fmt.Fprintf(out, "Repository: %s\n", w.Root)
	}
	rep, err := runner.Run(ctx, runner.Options{Workspace: target, IDs: opts.ids, Out: out, Stream: stream,
		Prompt: opts.prompt, SkipCriteria: opts.skipCriteria, Record: opts.record, Bundles: fixture.Recordings,
		Activity: live.Activity})
	if errors.Is(err, runner.ErrPhaseFailed) && rep != nil && rep.Failed != nil {
		f := rep.Failed
		fmt.Fprintf(opts.stderr, "\n%s failed:\n", f.Spec.ID)
		if f.Verification != nil && !f.Verification.OK() {
			for _, p := range f.Verification.Problems() {
				fmt.Fprintf(opts.stderr, "  - %s\n", p)
			}
			for _, c := range f.Verification.Checks {
				if !c.Held && c.Output != "" {
					fmt.Fprintf(opts.stderr, "\nOutput of `%s`:\n%s\n", c.Check.Run, c.Output)
				}
			}
		} else {
			fmt.Fprintf(opts.stderr, "  - %v\n", f.Err)
		}
		fmt.Fprintf(opts.stderr, "\nIts dependents did not run. The log is in %s.\nFix the cause, then retry with: %s run %s\n",
			rep.Workspace.Rel(filepath.Join(rep.Workspace.ChantDir, spec.LogsDir, f.Spec.ID+".log")), opts.invocation(), f.Spec.ID)
		return &reported{err}
	}
	if err != nil {
		return err
	}

	if len(opts.ids) > 0 {
		ids := make([]string, 0, len(rep.Selected))
		for id := range rep.Selected {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			if r := rep.Selected[id]; r.Done {
				fmt.Fprintf(out, "%s is completed.\n", id)
			} else if !r.Gate {
				fmt.Fprintf(out, "%s did not run: %s.\n", id, r.Reason)
			}
		}
	}
	listed := false // every waiting spec listed with why
	switch {
	case len(opts.ids) > 0:
	case len(rep.Ran) == 0 && rep.Completed == rep.Total:
		fmt.Fprintf(out, "Nothing to run: all %d specs are completed.\n", rep.Total)
	case rep.Completed == rep.Total:
		fmt.Fprintf(out, "All %d specs are completed.\n", rep.Total)
	case len(rep.Ran) == 0 && len(rep.Gates) == 0 && len(rep.Rejected) == 0:
		fmt.Fprintf(out, "Nothing is ready to run (%d of %d specs completed):\n", rep.Completed, rep.Total)
		for _, w := range rep.Waiting {
			fmt.Fprintf(out, "  %s: %s\n", w.Spec.ID, w.Reason)
		}
		listed = true
	}
	for _, s := range rep.Rejected {
		fmt.Fprintf(out, "%s was rejected by %s at %s; it stays closed until someone approves it:\n  %s approve %s --by \"<your name>\"\n",
			s.ID, s.Approval.By, s.Approval.At, opts.invocation(), s.ID)
	}
	for _, g := range rep.Gates {
		fmt.Fprintf(out, "%s %s (%s). To approve it:\n  %s approve %s --by \"<your name>\"\n",
			g.Spec.ID, g.Reason, g.Spec.Title, opts.invocation(), g.Spec.ID)
	}
	if !listed && len(opts.ids) == 0 {
		for _, w := range rep.Waiting {
			if w.Spec.Gate() {
				fmt.Fprintf(out, "%s: %s\n", w.Spec.ID, w.Reason)
			}
		}
	}
	return nil
}
