package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/chant-run/chant/internal/term"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/store"
)

type addOptions struct {
	*globals
	draft   spec.Draft
	checks  []string // --check, in order
	expects []string // --expect, one per --check in order
	edit    bool
}

func newAddCmd(g *globals) *cobra.Command {
	opts := &addOptions{globals: g}
	c := &cobra.Command{
		Use:   "add TITLE",
		Short: "Write a new spec",
		Long: `Write a new spec in .chant/specs/: its title, the files it may change,
what it depends on, and the acceptance criteria its agent must tick. The ID
is Chant's kind (2026-01-22-001-x7m: the date, a sequence, a random suffix)
unless --id gives one.`,
		Args: exactArgs(1, `one TITLE (quote it: chant add "Fix the login form")`),
		RunE: func(c *cobra.Command, args []string) error {
			opts.draft.Title = args[0]
			return runAdd(opts)
		},
	}
	f := c.Flags()
	f.StringArrayVar(&opts.draft.Targets, "target", nil, "a file the spec may change (`FILE`, repeatable)")
	f.StringArrayVar(&opts.draft.DependsOn, "depends-on", nil, "a spec that must be completed first (`ID`, partial IDs work; repeatable)")
	f.StringArrayVar(&opts.draft.Criteria, "criterion", nil, "an acceptance criterion (`TEXT`, repeatable)")
	f.StringArrayVar(&opts.checks, "check", nil, "a command chant runs after the agent, which must pass (`CMD`, repeatable; sh -c in the repository's root)")
	f.StringArrayVar(&opts.expects, "expect", nil, "how the --check of the same place must end: `pass` or fail (one per --check, in order)")
	f.StringArrayVar(&opts.draft.Labels, "label", nil, "a label (`L`, repeatable)")
	f.StringVar(&opts.draft.Type, "type", "", "the spec's `TYPE`: code (default), task, driver, group, documentation, research")
	f.BoolVar(&opts.draft.Gate, "gate", false, "a human gate: it runs only once someone approves it")
	f.StringVar(&opts.draft.ID, "id", "", "the spec's `ID` (default: a new Chant-style ID)")
	f.BoolVar(&opts.edit, "edit", false, "open the new spec in $VISUAL or $EDITOR")
	return c
}

func runAdd(opts *addOptions) error {
	w, err := opts.workspace()
	if err != nil {
		return err
	}
	set, err := store.List(w)
	if err != nil {
		return err
	}
	d := opts.draft
	if len(opts.expects) > len(opts.checks) || len(opts.expects) > 0 && len(opts.expects) < len(opts.checks) {
		return usage(fmt.Errorf("--expect: give one per --check, in order (%d --check, %d --expect)", len(opts.checks), len(opts.expects)))
	}
	for i, run := range opts.checks {
		c := spec.Check{Run: run, Expect: spec.ExpectPass}
		if i < len(opts.expects) {
			c.Expect = opts.expects[i]
		}
		d.Checks = append(d.Checks, c)
	}
	for i, dep := range d.DependsOn {
		s, err := set.Resolve(dep)
		if err != nil {
			return usage(fmt.Errorf("--depends-on: %w", err))
		}
		d.DependsOn[i] = s.ID
	}
	if d.ID == "" {
		d.ID = spec.NewID(set, time.Now())
	}
	if err := d.Check(set); err != nil {
		return usage(err)
	}
	path, err := w.Create(d, store.List)
	if err != nil {
		return usage(err)
	}
	fmt.Fprintf(opts.stdout, "Added %s: %s\n", d.ID, w.Rel(path))
	switch {
	case opts.edit:
	case len(d.Criteria)+len(d.Targets)+len(d.Checks) == 0:
		fmt.Fprintf(opts.stderr, "It has nothing to verify yet (no --criterion, --target or --check): it does not run until its file has one.\n")
	case len(d.Criteria) == 0:
		fmt.Fprintf(opts.stderr, "It has no acceptance criteria yet: add them to the file (or use --criterion), for the agent to tick.\n")
	}
	if !opts.edit {
		return nil
	}
	if err := term.Edit(path, opts.stdin, opts.rawStdout, opts.rawStderr); err != nil {
		return fmt.Errorf("%w (the spec is written: %s)", err, w.Rel(path))
	}
	// What the editor left must still be a spec.
	if _, err := spec.ReadFile(path); err != nil {
		return err
	}
	return nil
}
